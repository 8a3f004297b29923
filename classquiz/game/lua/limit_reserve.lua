-- Reserve one attempt for a subject before the work is done (services/ratelimit.py).
-- A subject may have at most `limit` attempts that failed or are still being judged,
-- so a concurrent burst is cut at exactly `limit`: the rest wait for a slot or are
-- refused once blocked.
-- KEYS: 1 failures (a counter that expires with the window), 2 block flag,
--       3 pending (a sorted set of tickets scored by reservation time)
-- ARGV: 1 limit, 2 ticket, 3 how long a reservation is held (ms)
-- Returns {0, 0} granted, {1, block pttl} blocked, {2, 0} busy (all slots in flight).
local blocked = redis.call('PTTL', KEYS[2])
if blocked > 0 then return {1, blocked} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local hold = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - hold)
local failures = tonumber(redis.call('GET', KEYS[1]) or '0')
if failures + redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[1]) then return {2, 0} end
redis.call('ZADD', KEYS[3], now, ARGV[2])
redis.call('PEXPIRE', KEYS[3], hold)
return {0, 0}
