-- scenario.lua: the wrk load script of the kosyncd benchmark.
--
--   wrk -s bench/scenario.lua URL -- MODE USERS_FILE [close] [nonce=N]
--
-- MODE is auth, pull, push, mixed (50 % pull, 50 % push) or register.
-- USERS_FILE has one line per user: "name key doc1 doc2 ..." (documents
-- that exist on the server; pull and push pick among them at random).
-- "close" adds "Connection: close" to every request (KOReader's way).
-- "nonce=N" makes registration names unique across runs.
-- The URL's path is the base path the routes live under ("/" or e.g.
-- "/koreader/").
--
-- done() prints one line "BENCHJSON {...}" that bench/benchlib.py reads:
-- requests, duration, errors, latency percentiles in microseconds.

local ACCEPT = "application/vnd.koreader.v1+json"
-- Pre-built requests per thread: twice the documents, 4096 to 131072.
local POOL = 4096

local mode, close, nonce, base
local users = {}
local pool = {}
local counter = 0
local thread_id = 0

local threads = {}
local next_id = 0

function setup(thread)
	next_id = next_id + 1
	thread:set("thread_id", next_id)
	table.insert(threads, thread)
end

local function read_users(path)
	local f = assert(io.open(path, "r"), "cannot open " .. path)
	for line in f:lines() do
		local fields = {}
		for w in line:gmatch("%S+") do
			fields[#fields + 1] = w
		end
		if #fields >= 2 then
			local docs = {}
			for i = 3, #fields do
				docs[#docs + 1] = fields[i]
			end
			users[#users + 1] = { name = fields[1], key = fields[2], docs = docs }
		end
	end
	f:close()
	assert(#users > 0, "no users in " .. path)
end

local function headers(u, with_body)
	local h = { Accept = ACCEPT }
	if u then
		h["x-auth-user"] = u.name
		h["x-auth-key"] = u.key
	end
	if with_body then
		h["Content-Type"] = "application/json"
	end
	if close then
		h["Connection"] = "close"
	end
	return h
end

local function pick_user()
	return users[math.random(#users)]
end

local function auth_req()
	local u = pick_user()
	return wrk.format("GET", base .. "/users/auth", headers(u))
end

local function pull_req()
	local u = pick_user()
	local d = u.docs[math.random(#u.docs)]
	return wrk.format("GET", base .. "/syncs/progress/" .. d, headers(u))
end

local function push_req(n)
	local u = pick_user()
	local d = u.docs[math.random(#u.docs)]
	local pct = math.random(0, 10000) / 10000
	local body = string.format(
	    '{"document":"%s","progress":"/body/DocFragment[%d]/body/p[%d]/text().%d",' ..
	    '"percentage":%s,"device":"bench","device_id":"BENCH%027d"}',
	    d, math.random(1, 40), math.random(1, 300), math.random(0, 99),
	    tostring(pct), thread_id)
	return wrk.format("PUT", base .. "/syncs/progress", headers(u, true), body)
end

function init(args)
	mode = args[1] or "auth"
	local file = args[2]
	close = false
	nonce = tostring(os.time())
	for i = 3, #args do
		if args[i] == "close" then
			close = true
		elseif args[i]:sub(1, 6) == "nonce=" then
			nonce = args[i]:sub(7)
		end
	end
	thread_id = wrk.thread:get("thread_id") or 0
	math.randomseed(os.time() * 1000 + thread_id)
	base = wrk.path or "/"
	base = base:gsub("/+$", "")
	if mode ~= "register" then
		read_users(assert(file, "users file missing"))
		local ndocs = 0
		for _, u in ipairs(users) do
			ndocs = ndocs + #u.docs
		end
		POOL = math.min(131072, math.max(4096, 2 * ndocs))
	end
	if mode == "auth" or mode == "pull" or mode == "push" then
		local make = mode == "auth" and auth_req or
		    (mode == "pull" and pull_req or push_req)
		for i = 1, POOL do
			pool[i] = make()
		end
	elseif mode == "mixed" then
		for i = 1, POOL do
			pool[i] = (i % 2 == 0) and pull_req() or push_req()
		end
	elseif mode ~= "register" then
		error("unknown mode " .. mode)
	end
end

function request()
	if mode == "register" then
		counter = counter + 1
		local name = string.format("r%s-%d-%d", nonce, thread_id, counter)
		local body = string.format(
		    '{"username":"%s","password":"%032x"}', name, counter)
		return wrk.format("POST", base .. "/users/create",
		    headers(nil, true), body)
	end
	if mode == "mixed" then
		-- strict alternation keeps the mix at exactly 50/50
		counter = counter + 1
		local i = math.random(POOL / 2) * 2 - (counter % 2)
		return pool[i]
	end
	return pool[math.random(POOL)]
end

function done(summary, latency, requests)
	local e = summary.errors
	local p = {}
	for _, q in ipairs({ 50, 90, 99, 99.9 }) do
		p[#p + 1] = string.format('"%s":%d', tostring(q),
		    latency:percentile(q))
	end
	io.write(string.format(
	    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
	    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,' ..
	    '"timeout":%d},"latency_us":{"min":%d,"max":%d,"mean":%.1f,' ..
	    '"stdev":%.1f,"percentiles":{%s}}}\n',
	    summary.requests, summary.duration, summary.bytes,
	    e.connect, e.read, e.write, e.status, e.timeout,
	    latency.min, latency.max, latency.mean, latency.stdev,
	    table.concat(p, ",")))
end
