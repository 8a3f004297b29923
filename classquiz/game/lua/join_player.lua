-- Admit a new player if the room allows it; the nickname is claimed atomically.
-- KEYS: 1 game, 2 nicks, 3 players, 4 scores, 5 streaks, 6 banned_nicks
-- ARGV: 1 player_id, 2 normalised nickname, 3 player JSON, 4 max players
local g = redis.call('HMGET', KEYS[1], 'status', 'locked', 'active')
if not g[1] then return {'game_not_found'} end
if g[1] == 'finished' then return {'game_over'} end
if redis.call('SISMEMBER', KEYS[6], ARGV[2]) == 1 then return {'banned'} end
if g[2] == '1' then return {'game_locked'} end
if tonumber(g[3] or '0') >= tonumber(ARGV[4]) then return {'game_full'} end
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[1]) == 0 then return {'nickname_taken'} end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[4], 0, ARGV[1])
redis.call('HSET', KEYS[5], ARGV[1], 0)
follow_game(KEYS[2], KEYS[3], KEYS[4], KEYS[5])
local active = redis.call('HINCRBY', KEYS[1], 'active', 1)
return {'ok', active}
