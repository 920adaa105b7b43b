-- purge.lua: delete the keys KEYS[2..] of a deleted account (store_redis.c,
-- RS_PURGE), only while its tombstone KEYS[1] is there: once another walk
-- has finished (and a new account of the name may exist), -1 stops this
-- one. Returns how many keys it was given.
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
return #KEYS - 1
