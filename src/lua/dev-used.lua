-- dev-used.lua: a use of a device credential (store_redis.c,
-- rs_device_used). KEYS as devices.lua's. ARGV[1] the id, ARGV[2] a JSON
-- object of the use's fields, merged into the last use (a field it lacks
-- keeps its value), unless empty; ARGV[3] an audit entry (JSON) pushed on
-- KEYS[5] .. id, which keeps the newest ARGV[4], unless empty. Only for a
-- live credential of an existing account. Returns 0 (nothing written),
-- 1, or the credential's label (a string) when it had no last use before
-- (its first use).
local C = redis.call
if C('EXISTS', KEYS[1]) == 0 or C('EXISTS', KEYS[2]) == 1 then return 0 end
local r = C('HGET', KEYS[3], ARGV[1])
if not r or ARGV[1] == 'devices_only' or not cjson.decode(r).key then
  return 0
end
local res = 1
if ARGV[2] ~= '' then
  local u = C('HGET', KEYS[4], ARGV[1])
  if not u then res = cjson.decode(r).label or '' end
  local t = cjson.decode(u or '{}')
  for k, v in pairs(cjson.decode(ARGV[2])) do t[k] = v end
  C('HSET', KEYS[4], ARGV[1], cjson.encode(t))
end
if ARGV[3] ~= '' then
  local a = KEYS[5] .. ARGV[1]
  C('LPUSH', a, ARGV[3])
  C('LTRIM', a, 0, tonumber(ARGV[4]) - 1)
end
return res
