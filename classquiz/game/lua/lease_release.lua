-- Give a lease up, but only if the caller still holds it (it may have expired and
-- passed to another owner, whose lease must stay).
-- KEYS: 1 the lease
-- ARGV: 1 owner token
-- Returns 1 when released, 0 otherwise.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
