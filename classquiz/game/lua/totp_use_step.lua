-- Accept a TOTP time step once: a code of a step at or before the last accepted one
-- is a replay.
-- KEYS: 1 the account's last accepted step
-- ARGV: 1 step, 2 how long to remember it (s)
-- Returns 1 if accepted, 0 if replayed.
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) <= last then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
