-- devnames-list.lua: an account's device names (store_redis.c,
-- rs_devnames_get). KEYS as devnames.lua's. Returns -1 (no such account)
-- or the HGETALL of kosyncd:user:<name>:devnames.
local C = redis.call
if C('EXISTS', KEYS[1]) == 0 or C('EXISTS', KEYS[2]) == 1 then return -1 end
return C('HGETALL', KEYS[6])
