-- Finish the game from any state but finished (compare and set), and record it as
-- finished-but-unparked in the same step: a process dying before it parks the results
-- leaves the mark behind for the sweeper (docs/results.md).
-- KEYS: 1 game, 2 deadlines zset, 3 unparked zset
-- ARGV: 1 the PIN (the prefix of its deadline member and of its unparked mark),
--       2 the game id the caller checked: a game that has taken the PIN since is not
--       finished (game_not_found)
local g = redis.call('HMGET', KEYS[1], 'status', 'qi', 'deadline_at', 'id')
if not g[1] or g[4] ~= ARGV[2] then return {'game_not_found'} end
if g[1] == 'finished' then return {'wrong_state'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if g[1] == 'question' then redis.call('ZREM', KEYS[2], ARGV[1] .. ':' .. g[2]) end
redis.call('HSET', KEYS[1], 'status', 'finished', 'finished_at', now, 'previous_status', g[1])
redis.call('ZADD', KEYS[3], now, ARGV[1] .. ':' .. g[4])
return {'ok', now}
