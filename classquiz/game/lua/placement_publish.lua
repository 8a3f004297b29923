-- Send one message to every other process that holds a socket of a game, read and
-- published in one atomic step, so a process that registered before this call is
-- never skipped, and a game held by this process alone publishes nothing.
-- (Loaded without the game prelude: it writes no key.)
-- KEYS: 1 the game's processes (a set)
-- ARGV: 1 this process id, 2 channel prefix (the member id is appended), 3 message
-- Returns how many processes it published to.
local sent = 0
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if member ~= ARGV[1] then
    redis.call('PUBLISH', ARGV[2] .. member, ARGV[3])
    sent = sent + 1
  end
end
return sent
