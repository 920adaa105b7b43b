-- pulled.lua: a pull by a client of a guard account (docs/policy.md;
-- store_redis.c, rs_progress_pulled). KEYS[1] kosyncd:user:<name>:pulls
-- (field <client>:<document>: the time of its last pull), KEYS[2]
-- kosyncd:user:<name>:policy. ARGV[1] the field, ARGV[2] the time now,
-- ARGV[3] the most fields kept: past it the hash is emptied and the
-- policy's since moves to now, so that what is forgotten counts as pulled
-- (guard never holds a push it cannot be sure of). Returns 1 when noted.
if redis.call('HGET', KEYS[2], 'policy') ~= 'guard' then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('HLEN', KEYS[1]) > tonumber(ARGV[3]) then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[2], 'since', ARGV[2])
end
return 1
