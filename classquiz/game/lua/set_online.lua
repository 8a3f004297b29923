-- Mark a player online on a socket (a takeover replaces the older socket).
-- KEYS: 1 game, 2 online
-- ARGV: 1 player_id, 2 socket id
-- Returns {"ok", active players, the socket id it replaces ('' if none)}, or
-- {"game_not_found"} once the game is gone (nothing is written then).
local active = redis.call('HGET', KEYS[1], 'active')
if not active then return {'game_not_found'} end
local previous = redis.call('HGET', KEYS[2], ARGV[1]) or ''
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
follow_game(KEYS[2])
return {'ok', active, previous}
