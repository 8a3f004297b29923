-- The host's socket went away: clear the host mark, but only if it still names that
-- socket (a newer host socket may have taken over meanwhile and must stay marked).
-- KEYS: 1 game
-- ARGV: 1 the socket id that went away
-- Returns 1 when the mark was cleared, 0 when it named another socket.
if redis.call('HGET', KEYS[1], 'host_sid') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'host_sid', '')
  return 1
end
return 0
