-- This process holds a socket of the game: add it to the game's set of processes.
-- KEYS: 1 game, 2 the game's processes (a set)
-- ARGV: 1 process id, 2 lifetime in ms when the game hash has none (a game gone)
-- Returns 1 when the process was added, 0 when it was there already.
local added = redis.call('SADD', KEYS[2], ARGV[1])
if redis.call('PTTL', KEYS[1]) > 0 then
  follow_game(KEYS[2])
else
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return added
