-- devices.lua: change an account's device credentials (store_redis.c,
-- rs_device_change; docs/devices.md). KEYS[1] user:<name>:key, KEYS[2] the
-- deletion tombstone, KEYS[3] kosyncd:user:<name>:credentials (hash: each
-- credential's id -> JSON {"label", "key" (argon2id PHC string, absent
-- once revoked), "created", "revoked" (time, 0 while live)}, and the field
-- devices_only = "1" while the account key does not sign in), KEYS[4]
-- kosyncd:user:<name>:credentials-used (id -> JSON of the last use) and
-- KEYS[5] the prefix of the audit lists (kosyncd:user:<name>:audit:).
-- ARGV[1] says what:
--   add ID RECORD MAX: a new credential (refused past MAX live ones; when
--     the hash holds MAX credentials the oldest revoked one goes);
--   rename ID LABEL; revoke ID TIME; only 1|0.
-- Returns -1 (no such account), 0 (no such live credential; add: the id
-- is taken), 2 (add: MAX live ones) or 1 (done).
local C = redis.call
if C('EXISTS', KEYS[1]) == 0 or C('EXISTS', KEYS[2]) == 1 then return -1 end
local op, id = ARGV[1], ARGV[2]
if op == 'only' then
  if id == '1' then C('HSET', KEYS[3], 'devices_only', '1')
  else C('HDEL', KEYS[3], 'devices_only') end
  return 1
end
if op == 'add' then
  if C('HEXISTS', KEYS[3], id) == 1 then return 0 end
  local all, live, n, oid, oc = C('HGETALL', KEYS[3]), 0, 0, nil, nil
  for i = 1, #all, 2 do
    if all[i] ~= 'devices_only' then
      local t = cjson.decode(all[i + 1])
      n = n + 1
      if t.key then live = live + 1
      elseif oc == nil or (tonumber(t.created) or 0) < oc then
        oid, oc = all[i], tonumber(t.created) or 0
      end
    end
  end
  if live >= tonumber(ARGV[4]) then return 2 end
  if n >= tonumber(ARGV[4]) and oid then
    C('HDEL', KEYS[3], oid)
    C('HDEL', KEYS[4], oid)
    C('DEL', KEYS[5] .. oid)
  end
  C('HSET', KEYS[3], id, ARGV[3])
  return 1
end
local r = C('HGET', KEYS[3], id)
if not r or id == 'devices_only' then return 0 end
local t = cjson.decode(r)
if not t.key then return 0 end
if op == 'rename' then t.label = ARGV[3]
else t.key = nil; t.revoked = tonumber(ARGV[3]) end
C('HSET', KEYS[3], id, cjson.encode(t))
return 1
