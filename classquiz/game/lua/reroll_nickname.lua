-- Swap a player's generated nickname for a new one (lobby only, a bounded number of times).
-- KEYS: 1 game, 2 nicks, 3 players
-- ARGV: 1 player_id, 2 new key, 3 new display name, 4 max rerolls
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'game_not_found'} end
if status ~= 'lobby' then return {'wrong_state'} end
local raw = redis.call('HGET', KEYS[3], ARGV[1])
if not raw then return {'player_not_found'} end
local record = cjson.decode(raw)
local used = tonumber(record['r'] or 0)
if used >= tonumber(ARGV[4]) then return {'limit_reached'} end
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[1]) == 0 then return {'nickname_taken'} end
if redis.call('HGET', KEYS[2], record['k']) == ARGV[1] then redis.call('HDEL', KEYS[2], record['k']) end
record['n'] = ARGV[3]
record['k'] = ARGV[2]
record['r'] = used + 1
redis.call('HSET', KEYS[3], ARGV[1], cjson.encode(record))
follow_game(KEYS[2], KEYS[3])
return {'ok', used + 1}
