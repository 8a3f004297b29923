-- Clear a question's pending `answer_count` mark just before the sender reads the
-- counts, and move the game's last slot to now when that is later than reserved.
-- KEYS: 1 the question's pending mark, 2 the game's last reserved slot
-- ARGV: 1 how long the slot outlives now (ms)
-- Returns now (ms, Redis' clock).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('DEL', KEYS[1])
local last = tonumber(redis.call('GET', KEYS[2]) or '-1')
if now > last then
  redis.call('SET', KEYS[2], now, 'PX', tonumber(ARGV[1]))
end
return now
