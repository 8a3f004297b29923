-- Write one field of the game hash, but only while game ARGV[3] owns it: a write after
-- the game expired would create a hash without a TTL that blocks its PIN forever, and
-- one after another game took the PIN would reach that game.
-- KEYS: 1 game
-- ARGV: 1 field, 2 value, 3 the game id the caller checked
-- Returns {1, the old value or ''}, or {0} when the game is not (or no longer) there.
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[3] then return {0} end
local old = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {1, old or ''}
