-- create.lua: registration (store_redis.c, RS_CREATE). SETNX of the key
-- KEYS[1] to ARGV[1], unless a deleted account's purge is unfinished (its
-- tombstone KEYS[2]): -1.
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
return redis.call('SETNX', KEYS[1], ARGV[1])
