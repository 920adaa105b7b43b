-- dev-list.lua: an account's device credentials (store_redis.c,
-- rs_device_list). KEYS as devices.lua's first four. Returns -1 (no such
-- account) or {HGETALL of the credentials, HGETALL of their last uses}.
local C = redis.call
if C('EXISTS', KEYS[1]) == 0 or C('EXISTS', KEYS[2]) == 1 then return -1 end
return {C('HGETALL', KEYS[3]), C('HGETALL', KEYS[4])}
