-- Record one answer atomically: the whole hot path in one round trip.
-- KEYS: 1 game, 2 answers:i, 3 scores, 4 streaks, 5 dist:i, 6 correct, 7 gone, 8 online,
--       9 players (a player forgotten in the lobby is in neither gone nor players)
-- ARGV: 1 player_id, 2 question_index, 3 correct (1, 0, -1 = poll), 4 points multiplier,
--       5 time_limit_ms, 6 streak bonus on (1/0), 7 grace_ms, 8 answer JSON,
--       9 game id (the game the player was admitted to), 10.. distribution buckets
-- Returns {"ok", received_at_ms, points, answered, all_online_answered(0/1)} or {error_code}.
local g = redis.call('HMGET', KEYS[1], 'status', 'qi', 'opens_at', 'deadline_at', 'id')
if not g[1] or g[5] ~= ARGV[9] then return {'game_not_found'} end
if g[1] ~= 'question' then return {'wrong_state'} end
if tonumber(g[2]) ~= tonumber(ARGV[2]) then return {'wrong_question'} end
if redis.call('HEXISTS', KEYS[7], ARGV[1]) == 1 then return {'forbidden'} end
if redis.call('HEXISTS', KEYS[9], ARGV[1]) == 0 then return {'forbidden'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local opens = tonumber(g[3])
local deadline = tonumber(g[4])
if now > deadline + tonumber(ARGV[7]) then return {'too_late'} end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return {'already_answered'} end
local limit = tonumber(ARGV[5])
local elapsed = now - opens
if elapsed < 0 then elapsed = 0 end
if elapsed > limit then elapsed = limit end
local streak_before = tonumber(redis.call('HGET', KEYS[4], ARGV[1]) or '0')
local correct = tonumber(ARGV[3])
local mult = tonumber(ARGV[4])
local points = 0
if correct == 1 then
  -- round half up of mult * (1000 - 500 * elapsed / limit), in integers
  local numerator = mult * (1000 * limit - 500 * elapsed)
  points = math.floor((2 * numerator + limit) / (2 * limit))
  local streak = redis.call('HINCRBY', KEYS[4], ARGV[1], 1)
  if ARGV[6] == '1' and mult > 0 then
    local steps = streak - 1
    if steps > 5 then steps = 5 end
    points = points + 100 * steps
  end
  redis.call('HINCRBY', KEYS[6], ARGV[1], 1)
elseif correct == 0 then
  redis.call('HSET', KEYS[4], ARGV[1], 0)
end
local record = '{"a":' .. ARGV[8] .. ',"c":' .. correct .. ',"p":' .. points .. ',"e":' .. elapsed .. ',"t":' .. now .. ',"s":' .. streak_before .. '}'
redis.call('HSET', KEYS[2], ARGV[1], record)
if points > 0 then redis.call('ZINCRBY', KEYS[3], points, ARGV[1]) end
for i = 10, #ARGV do redis.call('HINCRBY', KEYS[5], ARGV[i], 1) end
follow_game(KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
local answered = redis.call('HLEN', KEYS[2])
local all = 0
local online = redis.call('HLEN', KEYS[8])
if answered >= online then
  all = 1
  local ids = redis.call('HKEYS', KEYS[8])
  for _, pid in ipairs(ids) do
    if redis.call('HEXISTS', KEYS[2], pid) == 0 then all = 0; break end
  end
end
return {'ok', now, points, answered, all}
