-- admins.lua: retire the option admins (store_redis.c, rs_admins_retire).
--
-- The option as kosyncd:config holds it (KEYS[1]): when it is still
-- ARGV[1], each entry ARGV[2..] (config_admins_next: a name is never
-- split) that names an existing account flags it; then the option goes.
-- Returns the names flagged (nil when the option changed or went
-- meanwhile: another instance carried it over). One script, so that of
-- several instances only one carries it over, and a name registered later
-- is never made an administrator by it.
local out = {}
if redis.call('HGET', KEYS[1], 'admins') ~= ARGV[1] then return false end
for i = 2, #ARGV do
  local n = ARGV[i]
  if redis.call('EXISTS', 'user:' .. n .. ':key') == 1 and
      redis.call('EXISTS', 'kosyncd:deleting:' .. n) == 0 then
    redis.call('SET', 'kosyncd:user:' .. n .. ':admin', '1')
    out[#out + 1] = n
  end
end
redis.call('HDEL', KEYS[1], 'admins')
return out
