-- dev-audit.lua: a device credential's audit (store_redis.c,
-- rs_device_audit). KEYS as devices.lua's; ARGV[1] the id. Returns -1 (no
-- such account), 0 (no such credential) or {its record, the entries of
-- KEYS[5] .. id, newest first}.
local C = redis.call
if C('EXISTS', KEYS[1]) == 0 or C('EXISTS', KEYS[2]) == 1 then return -1 end
local r = C('HGET', KEYS[3], ARGV[1])
if not r or ARGV[1] == 'devices_only' then return 0 end
return {r, C('LRANGE', KEYS[5] .. ARGV[1], 0, -1)}
