-- feed-user.lua: the account whose feed token is ARGV[1] (store_redis.c,
-- rs_feed_user; docs/webhooks.md). KEYS[1] kosyncd:feed:<token>. The
-- account must exist, not be being deleted, and still have this token.
-- Returns its name, or false.
local n = redis.call('GET', KEYS[1])
if not n then return false end
if redis.call('EXISTS', 'user:' .. n .. ':key') == 0 or
    redis.call('EXISTS', 'kosyncd:deleting:' .. n) == 1 then return false end
if redis.call('HGET', 'kosyncd:user:' .. n .. ':events', 'feed') ~=
    ARGV[1] then return false end
return n
