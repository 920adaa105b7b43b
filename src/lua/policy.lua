-- policy.lua: an account's progress policy (docs/policy.md; store_redis.c,
-- rs_policy). KEYS[1] user:<name>:key, KEYS[2] the deletion tombstone,
-- KEYS[3] kosyncd:user:<name>:policy (a hash: policy, the name unless
-- latest; since, when it last changed: guard knows the pulls only from
-- then). ARGV[1] the new policy ('' only reads it), ARGV[2] the time now.
-- Written only while the account exists, so it never outlives it. Returns
-- -1 (no such account) or the policy in force.
if redis.call('EXISTS', KEYS[1]) == 0 or
    redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
if ARGV[1] == 'latest' then
  redis.call('DEL', KEYS[3])
elseif ARGV[1] ~= '' then
  redis.call('HSET', KEYS[3], 'policy', ARGV[1], 'since', ARGV[2])
end
return redis.call('HGET', KEYS[3], 'policy') or 'latest'
