-- put.lua: the push (store_redis.c, RS_PUT).
--
-- Like every script of the protocol's operations it first checks
-- user:<name>:key (KEYS[1]) against ARGV[1] and returns {0, stored} when
-- it differs, {1, ...} when done; or a device credential (ARGV[23], below).
--
-- Usage (per-user limits, docs/security.md) is kept in the hash KEYS[8]
-- (kosyncd:user:<name>:usage: bytes, history), counted as db.h does (the
-- bytes of the strings plus 16 per record): before writing anything the
-- script refuses ({2}) a new document past ARGV[17] documents (the
-- documents set) or a push whose growth, at most, would go past ARGV[18]
-- bytes; at ARGV[19] history entries the document's own oldest entry makes
-- room (none: the replaced state is not kept). Then it writes and adds the
-- exact difference. 0 is no limit. A counter never goes below 0 (data from
-- before it existed is not in it). C is redis.call, short so that the
-- script stays small.
--
-- 32 below is DB_MAX_DEVICES (db.h): other devices remembered per
-- document, the same in both backends (test_luascripts.c checks it).
local C = redis.call
local k = C('GET', KEYS[1])
-- Who pushes (docs/devices.md): with ARGV[23] a device credential's id,
-- ARGV[1] is its PHC string, still its key in the account's hash of
-- credentials (else {3}: revoked); with '' the account key, refused ({3})
-- while the hash says devices_only.
local kc = 'kosyncd:user:' .. ARGV[15] .. ':credentials'
if ARGV[23] ~= '' then
  local c = k and C('HGET', kc, ARGV[23])
  if not c or cjson.decode(c).key ~= ARGV[1] then return {3} end
elseif k ~= ARGV[1] then return {0, k}
elseif C('HEXISTS', kc, 'devices_only') == 1 then return {3} end
local kd, kh, kv, km, doc = KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[16]
local canon = C('HGET', KEYS[6], doc)
if canon then
  doc = canon
  kd = 'user:' .. ARGV[15] .. ':document:' .. doc
  kh = 'kosyncd:user:' .. ARGV[15] .. ':history:' .. doc
  kv = 'kosyncd:user:' .. ARGV[15] .. ':devices:' .. doc
  km = 'kosyncd:user:' .. ARGV[15] .. ':meta:' .. doc
end
local ku = KEYS[8]
local maxd, maxb, maxh = tonumber(ARGV[17]), tonumber(ARGV[18]),
    tonumber(ARGV[19])
local function eb(s)
  if not s then return 0 end
  local t = cjson.decode(s)
  return #(t.progress or '') + #(t.device or '') +
      #(t.device_id or '') + 16
end
local o = C('HMGET', kd, 'percentage', 'progress',
    'device', 'device_id', 'timestamp')
local old = o[1] or o[2] or o[3] or o[5]
if not old and maxd > 0 and
    C('SCARD', KEYS[7]) >= maxd and
    C('SISMEMBER', KEYS[7], doc) == 0 then
  return {2}
end
local did = ARGV[6]
if ARGV[7] ~= '1' then did = o[4] or '' end
-- Progress policy (docs/policy.md): kosyncd:user:<name>:policy (policy,
-- since; policy.lua) decides whether a push behind the current position
-- becomes current. ARGV[20] is the push's client timestamp (0: none),
-- ARGV[21] who pushed; pulls of a guard account are in
-- kosyncd:user:<name>:pulls (pulled.lua). A push it holds back joins the
-- history marked "held" (within history_limit, ARGV[22], whatever
-- store_history says) and changes nothing else; it is answered as any
-- push.
local pol = old and C('HMGET', 'kosyncd:user:' .. ARGV[15] .. ':policy',
    'policy', 'since')
if pol and pol[1] and (tonumber(ARGV[2]) or 0) < (tonumber(o[1]) or 0) then
  local ct, held = tonumber(o[5]) or 0, nil
  if pol[1] == 'furthest' then held = 'furthest'
  elseif pol[1] == 'guard' then
    local cts = tonumber(ARGV[20]) or 0
    local pt = C('HGET', 'kosyncd:user:' .. ARGV[15] .. ':pulls',
        ARGV[21] .. ':' .. ARGV[16])
    if cts > 0 and cts < ct and ct > (tonumber(pol[2]) or 0) and
        (tonumber(pt) or 0) < ct then held = 'guard' end
  end
  if held then
    local hid = ARGV[7] == '1' and ARGV[6] or ''
    C('RPUSH', kh, cjson.encode({percentage = tonumber(ARGV[2]) or 0,
        progress = ARGV[3], device = ARGV[4], device_id = hid,
        timestamp = tonumber(ARGV[5]) or 0, held = held}))
    local add, n, hl = #ARGV[3] + #ARGV[4] + #hid + 16, 1,
        tonumber(ARGV[22])
    while hl > 0 and C('LLEN', kh) > hl do
      add, n = add - eb(C('LPOP', kh)), n - 1
    end
    C('HINCRBY', ku, 'history', n)
    C('HINCRBY', ku, 'bytes', add)
    return {1}
  end
end
local mo = C('HMGET', km, 'filename', 'title', 'authors')
local delta = #ARGV[3] + #ARGV[4] + #did
for i = 1, 3 do
  if ARGV[7 + 2 * i] == '1' then
    delta = delta + #ARGV[8 + 2 * i] - #(mo[i] or '')
  end
end
local oid, odev = o[4] or '', o[3] or ''
local same, lim, drops, keep, oe = true, tonumber(ARGV[8]), {}, false, 0
if old then
  delta = delta - #(o[2] or '') - #odev - #oid
  if oid ~= '' or did ~= '' then same = oid == did
  else same = odev == ARGV[4] end
  oe = #(o[2] or '') + #odev + #oid + 16
  if lim >= 0 then
    local n = C('LLEN', kh)
    local hc = tonumber(C('HGET', ku, 'history') or '0')
    local nd = 0
    if lim > 0 and n >= lim then nd = n - lim + 1 end
    keep = true
    if maxh > 0 and hc - nd >= maxh then
      if n > nd then nd = nd + 1 else keep = false end
    end
    if nd > 0 then drops = C('LRANGE', kh, 0, nd - 1) end
    if keep then delta = delta + oe end
    for i = 1, #drops do delta = delta - eb(drops[i]) end
  end
else
  delta = delta + #doc + 16
end
local fnew = did ~= '' and 'id:' .. did or 'device:' .. ARGV[4]
local bound = delta
if not same then
  bound = bound + oe - eb(C('HGET', kv, fnew))
end
if maxb > 0 and bound > 0 and
    tonumber(C('HGET', ku, 'bytes') or '0') + bound > maxb then
  return {2}
end
C('SADD', KEYS[7], doc)
if old and (lim >= 0 or not same) then
  local e = cjson.encode({percentage = tonumber(o[1]) or 0,
      progress = o[2] or '', device = odev, device_id = oid,
      timestamp = tonumber(o[5]) or 0})
  if lim >= 0 then
    if #drops > 0 then C('LTRIM', kh, #drops, -1) end
    if keep then C('RPUSH', kh, e) end
    if C('HINCRBY', ku, 'history',
        (keep and 1 or 0) - #drops) < 0 then
      C('HSET', ku, 'history', 0)
    end
  end
  if not same then
    local f = oid ~= '' and 'id:' .. oid or 'device:' .. odev
    delta = delta + oe - eb(C('HGET', kv, f))
    C('HSET', kv, f, e)
    if C('HLEN', kv) > 32 then
      local all, of, ot, ov = C('HGETALL', kv), nil, nil, nil
      for i = 1, #all, 2 do
        local t = tonumber(cjson.decode(all[i + 1]).timestamp) or 0
        if ot == nil or t < ot then of, ot, ov = all[i], t, all[i + 1] end
      end
      delta = delta - eb(ov)
      C('HDEL', kv, of)
    end
    delta = delta - eb(C('HGET', kv, fnew))
    C('HDEL', kv, fnew)
  end
end
if ARGV[7] == '1' then
  C('HSET', kd, 'percentage', ARGV[2], 'progress',
      ARGV[3], 'device', ARGV[4], 'device_id', ARGV[6],
      'timestamp', ARGV[5])
else
  C('HSET', kd, 'percentage', ARGV[2], 'progress',
      ARGV[3], 'device', ARGV[4], 'timestamp', ARGV[5])
end
if ARGV[9] == '1' or ARGV[11] == '1' or ARGV[13] == '1' then
  local m = {'filename', 'title', 'authors'}
  for i = 1, 3 do
    if ARGV[7 + 2 * i] == '1' then
      C('HSET', km, m[i], ARGV[8 + 2 * i])
    end
  end
end
if delta ~= 0 and C('HINCRBY', ku, 'bytes', delta) < 0 then
  C('HSET', ku, 'bytes', 0)
end
return {1}
