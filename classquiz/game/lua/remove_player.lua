-- A player leaves or is kicked (optionally banned): the nickname is freed (or
-- banned) and the player leaves the leaderboard.
-- In the lobby the player never played, so it is forgotten: roster, score and
-- streak go, a join/leave loop cannot grow the roster past max_players, and no
-- never-played name reaches the results. Only a ban leaves a mark in `gone`, so
-- the token is still refused with `banned`. Once the game has started the player
-- stays in the roster, marked in `gone`, and its answers stay for the results.
-- KEYS: 1 game, 2 nicks, 3 gone, 4 online, 5 banned_nicks, 6 players, 7 scores, 8 streaks
-- ARGV: 1 player_id, 2 normalised nickname, 3 reason (left/kicked/banned)
-- Returns {"ok", active players, the socket id the player was online on ('' if none)}.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'player_not_found'} end
if redis.call('HEXISTS', KEYS[6], ARGV[1]) == 0 then return {'player_not_found'} end
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then return {'player_not_found'} end
if status == 'lobby' then
  redis.call('HDEL', KEYS[6], ARGV[1])
  redis.call('HDEL', KEYS[8], ARGV[1])
  if ARGV[3] == 'banned' then redis.call('HSET', KEYS[3], ARGV[1], ARGV[3]) end
else
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
end
if redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[1] then redis.call('HDEL', KEYS[2], ARGV[2]) end
if ARGV[3] == 'banned' then redis.call('SADD', KEYS[5], ARGV[2]) end
local sid = redis.call('HGET', KEYS[4], ARGV[1]) or ''
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[7], ARGV[1])
follow_game(KEYS[3], KEYS[5])
local active = redis.call('HINCRBY', KEYS[1], 'active', -1)
return {'ok', active, sid}
