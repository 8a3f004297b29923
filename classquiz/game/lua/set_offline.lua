-- A player's socket went away: clear its online mark, but only if the mark still names
-- that socket (a takeover by a newer socket must stay marked online).
-- KEYS: 1 online
-- ARGV: 1 player id, 2 the socket id that went away
-- Returns 1 when the mark was cleared, 0 otherwise.
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
