-- Settle a reservation of limit_reserve.lua: give it back, or keep it as a failure.
-- Reaching `limit` failures within the window blocks the subject for block_s.
-- KEYS: as limit_reserve.lua (1 failures, 2 block flag, 3 pending)
-- ARGV: 1 ticket, 2 counted as a failure (0/1), 3 limit, 4 window (s), 5 block (s)
-- Returns 1 when this failure blocked the subject, else 0.
redis.call('ZREM', KEYS[3], ARGV[1])
if ARGV[2] ~= '1' then return 0 end
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
if count >= tonumber(ARGV[3]) then
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[5])
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
