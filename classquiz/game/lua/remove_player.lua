-- A player leaves or is kicked (optionally banned): the nickname is freed
-- (or banned), the player leaves the leaderboard, its answers stay for the results.
-- KEYS: 1 game, 2 nicks, 3 gone, 4 online, 5 banned_nicks, 6 players, 7 scores
-- ARGV: 1 player_id, 2 normalised nickname, 3 reason (left/kicked/banned)
-- Returns {"ok", active players, the socket id the player was online on ('' if none)}.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'player_not_found'} end
if redis.call('HEXISTS', KEYS[6], ARGV[1]) == 0 then return {'player_not_found'} end
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then return {'player_not_found'} end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
if redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[1] then redis.call('HDEL', KEYS[2], ARGV[2]) end
if ARGV[3] == 'banned' then redis.call('SADD', KEYS[5], ARGV[2]) end
local sid = redis.call('HGET', KEYS[4], ARGV[1]) or ''
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[7], ARGV[1])
follow_game(KEYS[3], KEYS[5])
local active = redis.call('HINCRBY', KEYS[1], 'active', -1)
return {'ok', active, sid}
