-- Open question `new_qi` if the game is still where the caller saw it (compare and set).
-- KEYS: 1 game, 2 deadlines zset
-- ARGV: 1 expected status, 2 expected qi, 3 new qi, 4 time_limit_ms, 5 grace_ms, 6 deadline member,
--       7 lock (1 to lock the room now), 8 the game id the caller checked (another game that
--       has taken the PIN since is game_not_found)
local g = redis.call('HMGET', KEYS[1], 'status', 'qi', 'id')
if not g[1] or g[3] ~= ARGV[8] then return {'game_not_found'} end
if g[1] ~= ARGV[1] or tonumber(g[2]) ~= tonumber(ARGV[2]) then return {'wrong_state'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local deadline = now + tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'status', 'question', 'qi', ARGV[3], 'opens_at', now, 'deadline_at', deadline)
if ARGV[1] == 'lobby' then redis.call('HSET', KEYS[1], 'started_at', now) end
if ARGV[7] == '1' then redis.call('HSET', KEYS[1], 'locked', '1') end
redis.call('ZADD', KEYS[2], deadline + tonumber(ARGV[5]), ARGV[6])
return {'ok', now, deadline}
