-- admin-get.lua: is an account an administrator (store_redis.c,
-- rs_admin_get). KEYS[1] user:<name>:key, KEYS[2] the deletion tombstone,
-- KEYS[3] kosyncd:user:<name>:admin. The flag is read only while the
-- account exists (and is not being deleted), and set the same way
-- (redis_worker.c), so it never outlives the account. Returns -1 (no
-- such account), 0 or 1.
if redis.call('EXISTS', KEYS[1]) == 0 or
    redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
return redis.call('EXISTS', KEYS[3])
