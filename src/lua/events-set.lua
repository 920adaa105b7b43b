-- events-set.lua: replace an account's webhooks or feed token
-- (store_redis.c, rs_events_set; docs/webhooks.md). KEYS[1]
-- user:<name>:key, KEYS[2] the deletion tombstone, KEYS[3]
-- kosyncd:user:<name>:events; ARGV[1] "webhooks" or "feed", ARGV[2] the
-- new text ("" removes it), ARGV[3] the account's name. A feed token is
-- also the key kosyncd:feed:<token> naming the account (the old token's
-- key goes); the account's deletion removes the hash, and feed-user.lua
-- checks the hash, so a token left behind finds nothing. Only while the
-- account exists. Returns -1 (no such account) or 1.
if redis.call('EXISTS', KEYS[1]) == 0 or
    redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
if ARGV[1] == 'feed' then
  local old = redis.call('HGET', KEYS[3], 'feed')
  if old then redis.call('DEL', 'kosyncd:feed:' .. old) end
  if ARGV[2] ~= '' then
    redis.call('SET', 'kosyncd:feed:' .. ARGV[2], ARGV[3])
  end
end
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[3], ARGV[1])
else
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
end
return 1
