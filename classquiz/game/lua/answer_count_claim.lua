-- Reserve the game's next `answer_count` send slot (services/answer_counts.py).
-- KEYS: 1 the question's pending mark, 2 the game's last reserved slot
-- ARGV: 1 interval (ms), 2 how long marks outlive their slot (ms)
-- Returns {1, wait} when this caller got a slot `wait` ms from now, {0, wait} when a
-- send of this question is already due in `wait` ms.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = tonumber(redis.call('GET', KEYS[1]) or '-1')
if due >= 0 then
  return {0, math.max(0, due - now)}
end
local last = tonumber(redis.call('GET', KEYS[2]) or '-1')
due = now
if last >= 0 and last + tonumber(ARGV[1]) > now then
  due = last + tonumber(ARGV[1])
end
local ttl = due - now + tonumber(ARGV[2])
redis.call('SET', KEYS[1], due, 'PX', ttl)
redis.call('SET', KEYS[2], due, 'PX', ttl)
return {1, due - now}
