-- Reserve a PIN and create the game on it, in one step. The PIN is free when
-- neither its reservation nor a game hash exists; whatever else is left under
-- the PIN (keys of an older game, e.g. one written before every key carried a
-- TTL) is deleted first, so the new game inherits no roster, online mark or answer.
-- KEYS: 1 PIN reservation, 2 game, 3 quiz, 4.. every other key a game on this PIN may have
-- ARGV: 1 game id, 2 lifetime in ms, 3 quiz JSON, 4.. field, value pairs of the game hash
-- Returns {"ok"} or {"pin_taken"}.
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then
  return {'pin_taken'}
end
for i = 3, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 4))
redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return {'ok'}
