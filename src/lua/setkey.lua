-- setkey.lua: change the key (store_redis.c, RS_SETKEY). KEYS[1] is
-- user:<name>:key; it is set to ARGV[2] only while it is still ARGV[1]:
-- {1} when done, {0, stored} when it differs.
local k = redis.call('GET', KEYS[1])
if k ~= ARGV[1] then return {0, k} end
redis.call('SET', KEYS[1], ARGV[2])
return {1}
