-- Close question `qi` (compare and set): reveal, and reset the streak of every
-- player in the roster who did not answer a graded question. That is everyone who
-- ever joined and was not forgotten in the lobby, those who left or were kicked
-- after the start included (their streak is zeroed too; nothing reads it again).
-- KEYS: 1 game, 2 deadlines zset, 3 answers:i, 4 streaks, 5 players
-- ARGV: 1 qi, 2 deadline member, 3 graded (1/0), 4 the game id a host command checked
--       ('' from the deadline and all-answered paths): another game that has taken
--       the PIN since is game_not_found, its deadline untouched
local g = redis.call('HMGET', KEYS[1], 'status', 'qi', 'id')
if not g[1] or (ARGV[4] ~= '' and g[3] ~= ARGV[4]) then return {'game_not_found'} end
redis.call('ZREM', KEYS[2], ARGV[2])
if g[1] ~= 'question' or tonumber(g[2]) ~= tonumber(ARGV[1]) then return {'wrong_state'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'status', 'reveal', 'ended_at', now)
if ARGV[3] == '1' then
  for _, pid in ipairs(redis.call('HKEYS', KEYS[5])) do
    if redis.call('HEXISTS', KEYS[3], pid) == 0 then redis.call('HSET', KEYS[4], pid, 0) end
  end
  follow_game(KEYS[4])
end
return {'ok', now}
