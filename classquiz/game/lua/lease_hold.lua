-- Take a lease, or keep it for another lifetime if this owner already holds it.
-- (Loaded without the game prelude: a lease is not a game key.)
-- KEYS: 1 the lease
-- ARGV: 1 owner token, 2 lifetime in ms
-- Returns 1 when the caller holds the lease now, 0 when someone else does.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
