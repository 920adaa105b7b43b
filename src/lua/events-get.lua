-- events-get.lua: an account's webhooks and feed token (store_redis.c,
-- rs_events_get; docs/webhooks.md). KEYS[1] user:<name>:key, KEYS[2] the
-- deletion tombstone, KEYS[3] kosyncd:user:<name>:events (a hash with
-- "webhooks" and "feed"). Returns -1 (no such account) or the two texts
-- ("" when unset).
if redis.call('EXISTS', KEYS[1]) == 0 or
    redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local v = redis.call('HMGET', KEYS[3], 'webhooks', 'feed')
return {v[1] or '', v[2] or ''}
