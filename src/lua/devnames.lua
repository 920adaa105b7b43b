-- devnames.lua: name or forget one of an account's devices (store_redis.c,
-- rs_dev_send; docs/redis.md). KEYS as devices.lua's, KEYS[6]
-- kosyncd:user:<name>:devnames (a hash: the device's key -> "<forgotten>
-- <name>", forgotten the time of the forget or 0, name "" for the
-- device's own). ARGV[1] "name" (ARGV[3] the name, "": its own) or
-- "forget" (ARGV[3] the time), ARGV[2] the device's key, ARGV[4] the most
-- devices an account names. An entry left with neither goes.
-- Returns -1 (no such account), 2 (a new device past the most) or 1.
local C = redis.call
if C('EXISTS', KEYS[1]) == 0 or C('EXISTS', KEYS[2]) == 1 then return -1 end
local id = ARGV[2]
local r = C('HGET', KEYS[6], id)
if not r and C('HLEN', KEYS[6]) >= tonumber(ARGV[4]) then return 2 end
local t, name = '0', ''
if r then
  t, name = string.match(r, '^(%d+) (.*)$')
  t, name = t or '0', name or ''
end
if ARGV[1] == 'name' then name = ARGV[3] else t = ARGV[3] end
if name == '' and t == '0' then C('HDEL', KEYS[6], id)
else C('HSET', KEYS[6], id, t .. ' ' .. name) end
return 1
