-- delete.lua: delete an account (store_redis.c, RS_DELETE). Remove the
-- key KEYS[1] (only while it is still ARGV[1]; else {0, stored}) and leave
-- the tombstone KEYS[2] until the purge.
local k = redis.call('GET', KEYS[1])
if k ~= ARGV[1] then return {0, k} end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], '1')
return {1}
