-- Push the expiry of every key of a game (and of its PIN reservation) forward while
-- it is played. A finished game is left alone: its keys were shortened at the end,
-- and a late refresh must not stretch them out again.
-- KEYS: 1 game, 2 PIN reservation, 3.. every other key of the game
-- ARGV: 1 lifetime in ms
local status = redis.call('HGET', KEYS[1], 'status')
if not status or status == 'finished' then return 0 end
for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, ARGV[1]) end
return 1
