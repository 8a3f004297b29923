-- Reserve a PIN and create the game on it, in one step, if the owner may start
-- another live game.
-- Quota: the owner's games are a sorted set of `pin:game_id` members. The caller
-- read it just before and passes each member's game hash; a member is live while
-- that hash still belongs to the game and is not finished; dead members are
-- dropped here. Members added since the caller looked were created a moment ago
-- and count as live, so a burst of concurrent creations stops exactly at the cap.
-- PIN: free when neither its reservation nor a game hash exists; whatever else is
-- left under it (keys of an older game, e.g. one written before every key carried
-- a TTL) is deleted first, so the new game inherits no roster, online mark or answer.
-- KEYS: 1 PIN reservation, 2 game, 3 quiz, 4 owner's games, 5..4+m the game hash of
--       each member the caller saw, then every other key a game on this PIN may have
-- ARGV: 1 game id, 2 lifetime in ms, 3 quiz JSON, 4 live games allowed per owner,
--       5 this game's member, 6 m, 7..6+m the members the caller saw,
--       then field, value pairs of the game hash
-- Returns {"ok"}, {"pin_taken"} or {"too_many_live_games", live games}.
local m = tonumber(ARGV[6])
local seen = {}
for i = 1, m do seen[ARGV[6 + i]] = 4 + i end
local live, dead = 0, {}
for _, member in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
  local key = seen[member]
  if key == nil then
    live = live + 1
  else
    local g = redis.call('HMGET', KEYS[key], 'id', 'status')
    if g[1] == string.match(member, ':(.*)$') and g[2] ~= 'finished' then
      live = live + 1
    else
      dead[#dead + 1] = member
    end
  end
end
local function drop_dead()
  if #dead > 0 then redis.call('ZREM', KEYS[4], unpack(dead)) end
end
if live >= tonumber(ARGV[4]) then
  drop_dead()
  return {'too_many_live_games', live}
end
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then
  drop_dead()
  return {'pin_taken'}
end
-- The first write of a creation must be one that a full Redis refuses (SET): Redis
-- judges its memory cap at a script's first write only, so the game is refused whole.
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
drop_dead()
redis.call('DEL', unpack(KEYS, 5 + m))
redis.call('HSET', KEYS[2], unpack(ARGV, 7 + m))
redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
local t = redis.call('TIME')
redis.call('ZADD', KEYS[4], tonumber(t[1]), ARGV[5])
redis.call('PEXPIRE', KEYS[4], ARGV[2])
return {'ok'}
