-- Prepended to every game script (GameStore loads them so). Every key of a game
-- lives exactly as long as the game hash, which is KEYS[1] of every script: a
-- script that writes a key gives it the hash's remaining lifetime in the same
-- atomic step, so no key can outlive its game and a later game that draws the
-- same PIN inherits nothing. (The hash is refreshed while the game is played
-- and shortened once it is finished; see touch.lua and GameStore.)
local function follow_game(...)
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then
    for _, key in ipairs({...}) do redis.call('PEXPIRE', key, ttl) end
  end
end
