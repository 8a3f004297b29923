-- Record answers to one question of one game atomically: the whole hot path in one
-- round trip. Answers that reach a process while the previous call for the same
-- question is with Redis come together in the next call (game/answer_batch.py), so
-- in a class's answer burst one call carries many; alone, an answer is a batch of one.
-- Each answer is judged exactly as if it came alone, in the order given: a player
-- twice in one batch gets `already_answered` the second time.
-- KEYS: 1 game, 2 answers:i, 3 scores, 4 streaks, 5 dist:i, 6 correct, 7 gone, 8 online,
--       9 players (a player forgotten in the lobby is in neither gone nor players)
-- ARGV: 1 game id (the game the players were admitted to), 2 question_index,
--       3 points multiplier, 4 time_limit_ms, 5 streak bonus on (1/0), 6 grace_ms,
--       7 the answers, one JSON array: per answer [player_id, correct (1, 0, -1 = poll),
--       answer JSON (a string), [distribution buckets]]. One argument for the whole
--       batch, encoded by orjson at once: redis-py packs every argument one by one in
--       Python.
-- Returns {results, all_online_answered (0/1)}; each result is
-- {"ok", received_at_ms, points, answered} or {error_code}.
local function judge_all(code, count)
  local results = {}
  for i = 1, count do results[i] = {code} end
  return {results, 0}
end

local answers = cjson.decode(ARGV[7])
local count = #answers

local g = redis.call('HMGET', KEYS[1], 'status', 'qi', 'opens_at', 'deadline_at', 'id')
if not g[1] or g[5] ~= ARGV[1] then return judge_all('game_not_found', count) end
if g[1] ~= 'question' then return judge_all('wrong_state', count) end
if tonumber(g[2]) ~= tonumber(ARGV[2]) then return judge_all('wrong_question', count) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local opens = tonumber(g[3])
local deadline = tonumber(g[4])
if now > deadline + tonumber(ARGV[6]) then return judge_all('too_late', count) end

local mult = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local streak_bonus = ARGV[5] == '1'
local elapsed = now - opens
if elapsed < 0 then elapsed = 0 end
if elapsed > limit then elapsed = limit end

local function record(player, correct, answer_json, buckets)
  if redis.call('HEXISTS', KEYS[7], player) == 1 then return {'forbidden'} end
  if redis.call('HEXISTS', KEYS[9], player) == 0 then return {'forbidden'} end
  if redis.call('HEXISTS', KEYS[2], player) == 1 then return {'already_answered'} end
  local streak_before = tonumber(redis.call('HGET', KEYS[4], player) or '0')
  local points = 0
  if correct == 1 then
    -- round half up of mult * (1000 - 500 * elapsed / limit), in integers
    local numerator = mult * (1000 * limit - 500 * elapsed)
    points = math.floor((2 * numerator + limit) / (2 * limit))
    local streak = redis.call('HINCRBY', KEYS[4], player, 1)
    if streak_bonus and mult > 0 then
      local steps = streak - 1
      if steps > 5 then steps = 5 end
      points = points + 100 * steps
    end
    redis.call('HINCRBY', KEYS[6], player, 1)
  elseif correct == 0 then
    redis.call('HSET', KEYS[4], player, 0)
  end
  local entry = '{"a":' .. answer_json .. ',"c":' .. correct .. ',"p":' .. points ..
    ',"e":' .. elapsed .. ',"t":' .. now .. ',"s":' .. streak_before .. '}'
  redis.call('HSET', KEYS[2], player, entry)
  if points > 0 then redis.call('ZINCRBY', KEYS[3], points, player) end
  for _, bucket in ipairs(buckets) do redis.call('HINCRBY', KEYS[5], bucket, 1) end
  return {'ok', now, points, redis.call('HLEN', KEYS[2])}
end

local results = {}
local recorded = false
for i = 1, count do
  local a = answers[i]
  local result = record(a[1], a[2], a[3], a[4])
  if result[1] == 'ok' then recorded = true end
  results[i] = result
end
if not recorded then return {results, 0} end
follow_game(KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])

local all = 0
local answered = redis.call('HLEN', KEYS[2])
if answered >= redis.call('HLEN', KEYS[8]) then
  all = 1
  for _, pid in ipairs(redis.call('HKEYS', KEYS[8])) do
    if redis.call('HEXISTS', KEYS[2], pid) == 0 then all = 0; break end
  end
end
return {results, all}
