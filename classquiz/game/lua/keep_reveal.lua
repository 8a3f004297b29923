-- Keep the last `question_ended` payload of game ARGV[2] for as long as its game hash
-- lives (the same PTTL), unless another game has taken the PIN since.
-- KEYS: 1 game, 2 revealed
-- ARGV: 1 the payload (JSON), 2 game id
-- Returns 1 when kept, 0 when the game is gone or belongs to another game now.
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[2] then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl)
return 1
