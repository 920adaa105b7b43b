/*
 * davredis.c: the WebDAV trees in Redis (davredis.h, davstore.h).
 *
 * An account's tree lives under P = "kosyncd:user:<name>:dav:" (so the
 * account's deletion, which removes every kosyncd:user:<name>:* key,
 * takes it along):
 *
 *   P d:<id>        hash, a folder: "." -> "<ctime>" (it exists), and per
 *                   entry name -> "f <id> <size> <mtime_ns> <ctime> <n>"
 *                   (a file of n chunks) or "d <id> <mtime_ns> <ctime>";
 *                   the root's id is "root";
 *   P c:<id>:<i>    string, chunk i of file <id> (DAVREDIS_CHUNK bytes,
 *                   the last one shorter);
 *   P p:<id>        string, the entry's dead properties (dav.c's bytes);
 *   P v:<id>        hash, the versions kept in folder <id>: per file name,
 *                   one line per version, newest first, "<number> <id>
 *                   <size> <mtime_ns> <n>" (the chunks of file <id>).
 *
 * Every upload writes its chunks under a new id with a day's expiry: a
 * crash, a refused or cut-off upload leaves them to expire (the sweep).
 * The commit (one Lua script) checks they are all there, removes their
 * expiry and puts the entry in its folder: the new file is seen all at
 * once or not at all. The chunks of a file replaced or removed expire a
 * few minutes later, so that downloads in progress end with the version
 * they began with. Moves change two hash fields; removals and copies of
 * folders run in one script each (at most DAV_MAX_ENTRIES entries).
 *
 * The calls are blocking (redis_sync.h: one connection per thread), so
 * the store is marked blocking (davstore.h): dav.c opens the root, looks
 * a request's target up, reads a PROPFIND's listing and properties,
 * changes a PROPPATCH's, makes a MKCOL's folder, opens a GET's file,
 * reads and writes each chunk and commits or drops an upload on the
 * thread pool, and runs the walks there: nothing is asked of Redis from
 * the loop. A Redis that cannot be reached gives ENOTCONN (dav.c answers
 * 503).
 *
 * If-Match: rd_stat keeps the entry it read of a name in its folder's
 * handle; a guarded commit (davstore_up_guard) hands it to the commit
 * script, which commits only if the name still has that entry (or is
 * still missing): the precondition dav.c checked on it holds at the
 * commit, whatever another instance did in between (ESTALE, 412).
 *
 * Versions: when dav.c asks for one (davstore_version_keep, just before
 * the commit of an upload replacing a statistics file), the commit script
 * makes the old file the newest version instead of letting its chunks
 * expire, and drops those past the number to keep.
 *
 * Not here: which files have versions, quotas (dav.c, from
 * davstore_usage), what a path may be (davpath.c).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <sodium.h>

#include "config.h"
#include "davredis.h"
#include "davstore.h"
#include "log.h"
#include "redis_sync.h"
#include "xmalloc.h"

/* Bytes of a file per Redis string. */
#define DAVREDIS_CHUNK ((uint64_t)64 * 1024)
/* An upload's chunks expire after this unless committed (a day). */
#define DAVREDIS_TEMP_TTL "86400"
/* The chunks of a file replaced or removed expire after this. */
#define DAVREDIS_GONE_TTL "300"
#define DAVREDIS_ID 64

/* Split an entry's value into its words (every script starts with it). */
#define LUA_SPLIT                                                              \
	"local function split(v) local f = {} "                                \
	"for w in string.gmatch(v, '%S+') do f[#f + 1] = w end "               \
	"return f end\n"

/*
 * Make a folder. KEYS: the parent's hash, the new folder's hash; ARGV:
 * name, entry, ctime. -1: no parent, -2: the name is taken.
 */
static const char lua_mkcol[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end\n"
    "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return -2 end\n"
    "redis.call('HSET', KEYS[2], '.', ARGV[3])\n"
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
    "return 0\n";

/*
 * Commit an upload. KEYS: the folder's hash, its versions' hash; ARGV:
 * name, entry, P, the chunks' count, the upload's id, the versions kept
 * (-1: none made), the guard: "-" for none, else the entry the name must
 * still have ("" for none: the name must still be missing). -1: no
 * folder, -2: a chunk expired, -3: the name is a folder, -4: the name
 * changed since the guard was read (davstore_up_guard).
 */
static const char lua_commit[] = LUA_SPLIT
    "local P, n, id = ARGV[3], tonumber(ARGV[4]), ARGV[5]\n"
    "local keep = tonumber(ARGV[6])\n"
    "local function gone(cid, cn)\n"
    "  for i = 0, cn - 1 do\n"
    "    redis.call('EXPIRE', P .. 'c:' .. cid .. ':' .. i, " DAVREDIS_GONE_TTL
    ")\n"
    "  end\n"
    "end\n"
    "local function lines(k, name)\n"
    "  local t = {}\n"
    "  local vs = redis.call('HGET', k, name) or ''\n"
    "  for l in string.gmatch(vs, '[^\\n]+') do t[#t + 1] = l end\n"
    "  return t\n"
    "end\n"
    "if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end\n"
    "local old = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if ARGV[7] ~= '-' and (old or '') ~= ARGV[7] then return -4 end\n"
    "for i = 0, n - 1 do\n"
    "  if redis.call('EXISTS', P .. 'c:' .. id .. ':' .. i) == 0 then\n"
    "    return -2 end\n"
    "end\n"
    "if old then\n"
    "  local f = split(old)\n"
    "  if f[1] ~= 'f' then return -3 end\n"
    "  if keep > 0 then\n"
    "    local t = lines(KEYS[2], ARGV[1])\n"
    "    local num = 1\n"
    "    if #t > 0 then num = tonumber(split(t[1])[1]) + 1 end\n"
    "    table.insert(t, 1, num .. ' ' .. f[2] .. ' ' .. f[3] .. ' ' ..\n"
    "        f[4] .. ' ' .. f[6])\n"
    "    while #t > keep do\n"
    "      local g = split(table.remove(t))\n"
    "      gone(g[2], tonumber(g[5]))\n"
    "    end\n"
    "    redis.call('HSET', KEYS[2], ARGV[1], table.concat(t, '\\n'))\n"
    "  else\n"
    "    gone(f[2], tonumber(f[6]))\n"
    "  end\n"
    "  if keep == 0 then\n"
    "    for _, l in ipairs(lines(KEYS[2], ARGV[1])) do\n"
    "      local g = split(l)\n"
    "      gone(g[2], tonumber(g[5]))\n"
    "    end\n"
    "    redis.call('HDEL', KEYS[2], ARGV[1])\n"
    "  end\n"
    "  if redis.call('EXISTS', P .. 'p:' .. f[2]) == 1 then\n"
    "    redis.call('RENAME', P .. 'p:' .. f[2], P .. 'p:' .. id) end\n"
    "end\n"
    "for i = 0, n - 1 do redis.call('PERSIST', P .. 'c:' .. id .. ':' .. i) "
    "end\n"
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
    "return 0\n";

/*
 * Remove an entry and everything below. KEYS: its folder's hash; ARGV:
 * name, P. -1: no such entry.
 */
static const char lua_remove[] = LUA_SPLIT
    "local P = ARGV[2]\n"
    "local function gone(cid, cn)\n"
    "  for i = 0, cn - 1 do\n"
    "    redis.call('EXPIRE', P .. 'c:' .. cid .. ':' .. i, " DAVREDIS_GONE_TTL
    ")\n"
    "  end\n"
    "end\n"
    "local function drop(v)\n"
    "  local f = split(v)\n"
    "  redis.call('DEL', P .. 'p:' .. f[2])\n"
    "  if f[1] == 'f' then\n"
    "    gone(f[2], tonumber(f[6]))\n"
    "    return\n"
    "  end\n"
    "  local all = redis.call('HGETALL', P .. 'd:' .. f[2])\n"
    "  for i = 1, #all, 2 do\n"
    "    if all[i] ~= '.' then drop(all[i + 1]) end\n"
    "  end\n"
    "  redis.call('DEL', P .. 'd:' .. f[2])\n"
    "  local vs = redis.call('HGETALL', P .. 'v:' .. f[2])\n"
    "  for i = 2, #vs, 2 do\n"
    "    for l in string.gmatch(vs[i], '[^\\n]+') do\n"
    "      local g = split(l)\n"
    "      gone(g[2], tonumber(g[5]))\n"
    "    end\n"
    "  end\n"
    "  redis.call('DEL', P .. 'v:' .. f[2])\n"
    "end\n"
    "local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if not v then return -1 end\n"
    "redis.call('HDEL', KEYS[1], ARGV[1])\n"
    "drop(v)\n"
    "return 0\n";

/*
 * Copy an entry (a folder with its content when ARGV[5] is "1"). KEYS:
 * the source's and the destination's folder hashes; ARGV: source name,
 * destination name, P, a new id's prefix, recursive, mtime_ns, ctime.
 * -1: no source, -2: no destination folder, -3: the destination exists.
 */
static const char lua_copy[] = LUA_SPLIT
    "local P, base, rec = ARGV[3], ARGV[4], ARGV[5] == '1'\n"
    "local seq = 0\n"
    "local function copy(v)\n"
    "  local f = split(v)\n"
    "  seq = seq + 1\n"
    "  local id = base .. '.' .. seq\n"
    "  if redis.call('EXISTS', P .. 'p:' .. f[2]) == 1 then\n"
    "    redis.call('COPY', P .. 'p:' .. f[2], P .. 'p:' .. id) end\n"
    "  if f[1] == 'f' then\n"
    "    for i = 0, tonumber(f[6]) - 1 do\n"
    "      redis.call('COPY', P .. 'c:' .. f[2] .. ':' .. i,\n"
    "          P .. 'c:' .. id .. ':' .. i)\n"
    "      redis.call('PERSIST', P .. 'c:' .. id .. ':' .. i)\n"
    "    end\n"
    "    return 'f ' .. id .. ' ' .. f[3] .. ' ' .. ARGV[6] .. ' ' ..\n"
    "        ARGV[7] .. ' ' .. f[6]\n"
    "  end\n"
    "  redis.call('HSET', P .. 'd:' .. id, '.', ARGV[7])\n"
    "  if rec then\n"
    "    local all = redis.call('HGETALL', P .. 'd:' .. f[2])\n"
    "    for i = 1, #all, 2 do\n"
    "      if all[i] ~= '.' then\n"
    "        redis.call('HSET', P .. 'd:' .. id, all[i], copy(all[i + 1]))\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  return 'd ' .. id .. ' ' .. ARGV[6] .. ' ' .. ARGV[7]\n"
    "end\n"
    "local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if not v then return -1 end\n"
    "if redis.call('EXISTS', KEYS[2]) == 0 then return -2 end\n"
    "if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return -3 end\n"
    "redis.call('HSET', KEYS[2], ARGV[2], copy(v))\n"
    "return 0\n";

/* Move an entry: same arguments and results as lua_copy's first two. */
static const char lua_move[] =
    "local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if not v then return -1 end\n"
    "if redis.call('EXISTS', KEYS[2]) == 0 then return -2 end\n"
    "if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return -3 end\n"
    "redis.call('HDEL', KEYS[1], ARGV[1])\n"
    "redis.call('HSET', KEYS[2], ARGV[2], v)\n"
    "return 0\n";

/*
 * The bytes (files and dead properties) and entries below a folder.
 * ARGV: P, the folder's id. Returns {bytes, entries}.
 */
static const char lua_usage[] =
    LUA_SPLIT "local P = ARGV[1]\n"
              "local bytes, entries = 0, 0\n"
              "local function walk(id)\n"
              "  local vs = redis.call('HGETALL', P .. 'v:' .. id)\n"
              "  for i = 2, #vs, 2 do\n"
              "    for l in string.gmatch(vs[i], '[^\\n]+') do\n"
              "      entries = entries + 1\n"
              "      bytes = bytes + tonumber(split(l)[3])\n"
              "    end\n"
              "  end\n"
              "  local all = redis.call('HGETALL', P .. 'd:' .. id)\n"
              "  for i = 1, #all, 2 do\n"
              "    if all[i] ~= '.' then\n"
              "      local f = split(all[i + 1])\n"
              "      entries = entries + 1\n"
              "      bytes = bytes + redis.call('STRLEN', P .. 'p:' .. f[2])\n"
              "      if f[1] == 'f' then bytes = bytes + tonumber(f[3])\n"
              "      else walk(f[2]) end\n"
              "    end\n"
              "  end\n"
              "end\n"
              "bytes = bytes + redis.call('STRLEN', P .. 'p:' .. ARGV[2])\n"
              "walk(ARGV[2])\n"
              "return {bytes, entries}\n";

/* Make the root if missing. KEYS: its hash; ARGV: ctime. Its ctime. */
static const char lua_root[] = "redis.call('HSETNX', KEYS[1], '.', ARGV[1])\n"
                               "return redis.call('HGET', KEYS[1], '.')\n";

struct rd_store {
	struct davstore base;
	const struct config *cfg;
};

struct rd_dir {
	struct davdir base;
	char *prefix; /* P */
	char id[DAVREDIS_ID];
	struct stat st;
	/* davstore_version_keep: the next commit of vname keeps vkeep. */
	char *vname;
	unsigned vkeep;
	/*
	 * The last davstore_stat of a name: seen_name's entry as read
	 * ("" when it was missing), for a guarded commit (davstore_up_guard);
	 * seen_name NULL when none was read whole.
	 */
	char *seen_name;
	struct buf seen;
};

struct rd_rd {
	struct davrd base;
	const struct config *cfg; /* lives longer than the store */
	char *prefix;
	char id[DAVREDIS_ID];
	uint64_t size, chunks;
};

struct rd_up {
	struct davup base;
	struct rd_dir *dirh; /* the folder (it outlives the upload) */
	char *prefix;
	char dir[DAVREDIS_ID]; /* the folder's id */
	char id[DAVREDIS_ID];
	uint64_t size, chunks;
};

/* Run argv on this thread's connection (redis_sync.h). */
static redisReply *
rd_cmd(
    const struct davstore *s, int argc, const char **argv, const size_t *lens)
{
	const struct rd_store *rs = (const struct rd_store *)s;

	return redis_sync_cmd(rs->cfg, "webdav", argc, argv, lens);
}

/* The key P <kind> <id> into out. */
static void
rd_key(struct buf *out, const char *prefix, const char *kind, const char *id)
{
	buf_reset(out);
	buf_adds(out, prefix);
	buf_adds(out, kind);
	buf_adds(out, id);
}

/* A 64-bit number of an id, for the entity tag (st_ino). */
static uint64_t
rd_id_hash(const char *id)
{
	uint64_t h = 14695981039346656037ull;

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211ull;
	return h;
}

/*
 * Parse an entry's value (len bytes) into *st, its id and chunk count.
 * Returns 0, or -1 (EIO) when it is not one of ours.
 */
static int
rd_entry_parse(
    const char *v, size_t len, struct stat *st, char *id, uint64_t *chunks)
{
	char tmp[256], *w[6], *p, *end;
	unsigned long long n[6] = {0};
	size_t nw = 0, i, want;

	if (len >= sizeof(tmp) || len == 0)
		goto bad;
	memcpy(tmp, v, len);
	tmp[len] = '\0';
	/* Words separated by one space: kind, id, then numbers. */
	for (p = tmp; nw < 6; p++) {
		w[nw++] = p;
		if ((p = strchr(p, ' ')) == NULL)
			break;
		*p = '\0';
	}
	want = tmp[0] == 'f' ? 6 : 4;
	if ((tmp[0] != 'f' && tmp[0] != 'd') || w[0][1] != '\0' || nw != want ||
	    p != NULL || strlen(w[1]) == 0 || strlen(w[1]) >= DAVREDIS_ID)
		goto bad;
	for (i = 2; i < nw; i++) {
		errno = 0;
		n[i] = strtoull(w[i], &end, 10);
		if (end == w[i] || *end != '\0' || errno != 0)
			goto bad;
	}
	memset(st, 0, sizeof(*st));
	snprintf(id, DAVREDIS_ID, "%s", w[1]);
	st->st_nlink = 1;
	if (tmp[0] == 'f') {
		st->st_mode = S_IFREG | 0600;
		st->st_size = (off_t)n[2];
		n[2] = n[3]; /* mtime, ctime from here on as for a folder */
		n[3] = n[4];
	} else {
		st->st_mode = S_IFDIR | 0700;
	}
	st->st_mtim.tv_sec = (time_t)(n[2] / 1000000000ull);
	st->st_mtim.tv_nsec = (long)(n[2] % 1000000000ull);
	st->st_ctim.tv_sec = (time_t)n[3];
	st->st_ino = (ino_t)rd_id_hash(id);
	if (chunks != NULL)
		*chunks = tmp[0] == 'f' ? n[5] : 0;
	return 0;
bad:
	errno = EIO;
	return -1;
}

/*
 * The entry name of folder d into *st (ENOENT), its id and chunks; its
 * value as stored into raw when not NULL (reset first; empty when the
 * name is missing).
 */
static int
rd_lookup(const struct rd_dir *d, const char *name, struct stat *st, char *id,
    uint64_t *chunks, struct buf *raw)
{
	struct buf k = BUF_INIT;
	const char *argv[3];
	size_t lens[3];
	redisReply *r;
	int rc = -1;

	rd_key(&k, d->prefix, "d:", d->id);
	argv[0] = "HGET";
	argv[1] = k.data;
	argv[2] = name;
	lens[0] = 4;
	lens[1] = k.len;
	lens[2] = strlen(name);
	r = rd_cmd(d->base.s, 3, argv, lens);
	buf_release(&k);
	if (r == NULL)
		return -1;
	if (raw != NULL) {
		buf_reset(raw);
		if (r->type == REDIS_REPLY_STRING)
			buf_add(raw, r->str, r->len);
	}
	if (r->type != REDIS_REPLY_STRING)
		errno = ENOENT;
	else
		rc = rd_entry_parse(r->str, r->len, st, id, chunks);
	freeReplyObject(r);
	return rc;
}

/*
 * EVAL script with the nkeys keys then the other arguments of args (n in
 * all, NUL-terminated): its integer reply, or -100 with errno.
 */
static long long
rd_eval(const struct davstore *s, const char *script, int nkeys,
    const char *const *args, int n, redisReply **keep)
{
	const char *argv[16];
	size_t lens[16];
	char nk[8];
	redisReply *r;
	long long v = -100;
	int i;

	snprintf(nk, sizeof(nk), "%d", nkeys);
	argv[0] = "EVAL";
	argv[1] = script;
	argv[2] = nk;
	for (i = 0; i < n && i < 13; i++)
		argv[3 + i] = args[i];
	for (i = 0; i < 3 + n && i < 16; i++)
		lens[i] = strlen(argv[i]);
	r = rd_cmd(s, 3 + n, argv, lens);
	if (r == NULL)
		return -100;
	if (keep != NULL) {
		*keep = r;
		return 0;
	}
	if (r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	else
		errno = EIO;
	freeReplyObject(r);
	return v;
}

/* errno for a script's negative result (ENOENT, EEXIST...). */
static int
rd_fail(long long v, int e1, int e2, int e3)
{
	if (v == -1)
		errno = e1;
	else if (v == -2)
		errno = e2;
	else if (v == -3)
		errno = e3;
	return -1;
}

static struct rd_dir *
rd_dir_new(struct davstore *s, const char *prefix, const char *id)
{
	struct rd_dir *d = xcalloc(1, sizeof(*d));

	d->base.s = s;
	d->prefix = xstrdup(prefix);
	buf_init(&d->seen);
	snprintf(d->id, sizeof(d->id), "%s", id);
	return d;
}

static struct davdir *
rd_root_open(struct davstore *s, struct str user)
{
	struct buf p = BUF_INIT, k = BUF_INIT;
	const char *args[2];
	char now[32];
	redisReply *r = NULL;
	struct rd_dir *d;

	buf_adds(&p, "kosyncd:user:");
	buf_add(&p, user.p, user.len);
	buf_adds(&p, ":dav:");
	rd_key(&k, p.data, "d:", "root");
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	args[0] = k.data;
	args[1] = now;
	if (rd_eval(s, lua_root, 1, args, 2, &r) != 0 ||
	    r->type != REDIS_REPLY_STRING) {
		if (r != NULL) {
			freeReplyObject(r);
			errno = EIO;
		}
		buf_release(&p);
		buf_release(&k);
		return NULL;
	}
	d = rd_dir_new(s, p.data, "root");
	d->st.st_mode = S_IFDIR | 0700;
	d->st.st_nlink = 1;
	d->st.st_ctim.tv_sec = (time_t)strtoll(r->str, NULL, 10);
	d->st.st_mtim.tv_sec = d->st.st_ctim.tv_sec;
	freeReplyObject(r);
	buf_release(&p);
	buf_release(&k);
	return &d->base;
}

static struct davdir *
rd_dir_open(struct davdir *from, const struct str *names, size_t n)
{
	const struct rd_dir *f = (const struct rd_dir *)from;
	struct rd_dir *d = rd_dir_new(from->s, f->prefix, f->id);
	char id[DAVREDIS_ID];
	struct stat st;
	size_t i;

	d->st = f->st;
	for (i = 0; i < n; i++) {
		if (rd_lookup(d, names[i].p, &st, id, NULL, NULL) == -1)
			goto fail;
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			goto fail;
		}
		snprintf(d->id, sizeof(d->id), "%s", id);
		d->st = st;
	}
	return &d->base;
fail:
	free(d->prefix);
	free(d);
	return NULL;
}

static void
rd_dir_close(struct davdir *dd)
{
	struct rd_dir *d = (struct rd_dir *)dd;

	free(d->prefix);
	free(d->vname);
	free(d->seen_name);
	buf_release(&d->seen);
	free(d);
}

/* Never asked: the usage figure is not kept (cache_usage false). */
static bool
rd_same_tree(struct davdir *a, struct davdir *b)
{
	(void)a;
	(void)b;
	return false;
}

/* The entry read is kept for a guarded commit of the name (rd_up_commit). */
static int
rd_stat(struct davdir *dd, const char *name, struct stat *st)
{
	struct rd_dir *d = (struct rd_dir *)dd;
	char id[DAVREDIS_ID];
	int rc;

	if (name == NULL) {
		*st = d->st;
		return 0;
	}
	free(d->seen_name);
	d->seen_name = NULL;
	rc = rd_lookup(d, name, st, id, NULL, &d->seen);
	if (rc == 0 || errno == ENOENT)
		d->seen_name = xstrdup(name);
	return rc;
}

static int
rd_list(struct davdir *dd, size_t max, davstore_entry_fn *fn, void *arg)
{
	const struct rd_dir *d = (const struct rd_dir *)dd;
	struct buf k = BUF_INIT, name = BUF_INIT;
	const char *argv[2];
	size_t lens[2], i, n = 0;
	char id[DAVREDIS_ID];
	struct stat st;
	redisReply *r;

	rd_key(&k, d->prefix, "d:", d->id);
	argv[0] = "HGETALL";
	argv[1] = k.data;
	lens[0] = 7;
	lens[1] = k.len;
	r = rd_cmd(dd->s, 2, argv, lens);
	buf_release(&k);
	if (r == NULL)
		return -1;
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
	     i += 2) {
		const redisReply *kr = r->element[i], *vr = r->element[i + 1];

		if (kr->type != REDIS_REPLY_STRING ||
		    vr->type != REDIS_REPLY_STRING ||
		    (kr->len == 1 && kr->str[0] == '.') ||
		    rd_entry_parse(vr->str, vr->len, &st, id, NULL) == -1)
			continue;
		if (++n > max)
			break;
		buf_reset(&name);
		buf_add(&name, kr->str, kr->len);
		fn(arg, name.data, &st);
	}
	freeReplyObject(r);
	buf_release(&name);
	return 0;
}

/*
 * Run cmd (GET, SET with data, DEL) on the dead properties of name in d
 * (NULL: d itself): the reply, or NULL with errno (ENOENT: no such entry).
 */
static redisReply *
rd_props_cmd(struct davdir *dd, const char *name, const char *cmd,
    const char *data, size_t len)
{
	const struct rd_dir *d = (const struct rd_dir *)dd;
	const char *argv[3] = {cmd, NULL, data};
	size_t lens[3] = {strlen(cmd), 0, len};
	char id[DAVREDIS_ID];
	struct buf k = BUF_INIT;
	struct stat st;
	redisReply *r;

	if (name == NULL)
		snprintf(id, sizeof(id), "%s", d->id);
	else if (rd_lookup(d, name, &st, id, NULL, NULL) == -1)
		return NULL;
	rd_key(&k, d->prefix, "p:", id);
	argv[1] = k.data;
	lens[1] = k.len;
	r = rd_cmd(dd->s, data != NULL ? 3 : 2, argv, lens);
	buf_release(&k);
	return r;
}

static int
rd_props_load(struct davdir *dd, const char *name, struct buf *out, size_t max)
{
	redisReply *r = rd_props_cmd(dd, name, "GET", NULL, 0);

	if (r == NULL)
		return errno == ENOENT ? 0 : -1;
	if (r->type == REDIS_REPLY_STRING)
		buf_add(out, r->str, r->len <= max ? r->len : max + 1);
	freeReplyObject(r);
	return 0;
}

static int
rd_props_save(struct davdir *dd, const char *name, const char *data, size_t len)
{
	redisReply *r = len > 0 ? rd_props_cmd(dd, name, "SET", data, len)
	                        : rd_props_cmd(dd, name, "DEL", NULL, 0);

	freeReplyObject(r);
	return r != NULL ? 0 : -1;
}

/* A new id (random, hex) into id. */
static void
rd_new_id(char *id)
{
	unsigned char b[8];
	size_t i;

	randombytes_buf(b, sizeof(b));
	for (i = 0; i < sizeof(b); i++)
		snprintf(id + 2 * i, 3, "%02x", b[i]);
}

static uint64_t
rd_time_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int
rd_mkcol(struct davdir *dd, const char *name)
{
	const struct rd_dir *d = (const struct rd_dir *)dd;
	struct buf k = BUF_INIT, k2 = BUF_INIT, e = BUF_INIT;
	char id[DAVREDIS_ID], now[32];
	const char *args[5];
	long long v;

	rd_new_id(id);
	rd_key(&k, d->prefix, "d:", d->id);
	rd_key(&k2, d->prefix, "d:", id);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	buf_addf(&e, "d %s %" PRIu64 " %s", id, rd_time_ns(), now);
	args[0] = k.data;
	args[1] = k2.data;
	args[2] = name;
	args[3] = e.data;
	args[4] = now;
	v = rd_eval(dd->s, lua_mkcol, 2, args, 5, NULL);
	buf_release(&k);
	buf_release(&k2);
	buf_release(&e);
	return v == 0 ? 0 : v == -100 ? -1 : rd_fail(v, ENOENT, EEXIST, EIO);
}

/* A reader of file id of d's tree (size bytes in chunks). */
static struct davrd *
rd_reader(struct davdir *dd, const char *id, uint64_t size, uint64_t chunks)
{
	const struct rd_dir *d = (const struct rd_dir *)dd;
	struct rd_rd *f = xcalloc(1, sizeof(*f));

	f->base.ops = dd->s->ops;
	f->cfg = ((const struct rd_store *)dd->s)->cfg;
	f->prefix = xstrdup(d->prefix);
	snprintf(f->id, sizeof(f->id), "%s", id);
	f->size = size;
	f->chunks = chunks;
	return &f->base;
}

static struct davrd *
rd_read_open(struct davdir *dd, const char *name, struct stat *st)
{
	const struct rd_dir *d = (const struct rd_dir *)dd;
	char id[DAVREDIS_ID];
	uint64_t chunks;

	if (rd_lookup(d, name, st, id, &chunks, NULL) == -1)
		return NULL;
	if (!S_ISREG(st->st_mode)) {
		errno = EISDIR;
		return NULL;
	}
	return rd_reader(dd, id, (uint64_t)st->st_size, chunks);
}

static ssize_t
rd_read(struct davrd *ff, uint64_t off, char *buf, size_t cap)
{
	const struct rd_rd *f = (const struct rd_rd *)ff;
	struct buf k = BUF_INIT;
	char idx[DAVREDIS_ID + 32], from[32], to[32];
	const char *argv[4];
	size_t lens[4];
	uint64_t o = off % DAVREDIS_CHUNK, n;
	redisReply *r;
	ssize_t got = -1;

	if (off >= f->size)
		return 0;
	n = DAVREDIS_CHUNK - o;
	if (n > cap)
		n = cap;
	if (n > f->size - off)
		n = f->size - off;
	snprintf(idx, sizeof(idx), "%s:%" PRIu64, f->id, off / DAVREDIS_CHUNK);
	rd_key(&k, f->prefix, "c:", idx);
	snprintf(from, sizeof(from), "%" PRIu64, o);
	snprintf(to, sizeof(to), "%" PRIu64, o + n - 1);
	argv[0] = "GETRANGE";
	argv[1] = k.data;
	argv[2] = from;
	argv[3] = to;
	lens[0] = 8;
	lens[1] = k.len;
	lens[2] = strlen(from);
	lens[3] = strlen(to);
	r = redis_sync_cmd(f->cfg, "webdav", 4, argv, lens);
	buf_release(&k);
	if (r == NULL)
		return -1;
	if (r->type == REDIS_REPLY_STRING && r->len == n) {
		memcpy(buf, r->str, n);
		got = (ssize_t)n;
	} else {
		errno = ESTALE; /* gone meanwhile (replaced long ago) */
	}
	freeReplyObject(r);
	return got;
}

/* An unlinked temporary file in dir: its descriptor, or -1. */
static int
rd_tmpfile(const char *dir)
{
	struct buf path = BUF_INIT;
	int fd;

	buf_addf(&path, "%s/.kosyncd-dav-XXXXXX", dir);
	fd = mkstemp(path.data);
	if (fd != -1) {
		(void)unlink(path.data);
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	buf_release(&path);
	return fd;
}

/*
 * A descriptor of the file's bytes: an unlinked temporary file in the
 * data directory (or /tmp), filled chunk by chunk.
 */
static int
rd_read_fd(struct davrd *ff)
{
	const struct rd_rd *f = (const struct rd_rd *)ff;
	char *buf = xmalloc(DAVREDIS_CHUNK);
	uint64_t off = 0;
	ssize_t n;
	int fd, saved;

	fd = rd_tmpfile(f->cfg->data_dir != NULL ? f->cfg->data_dir : ".");
	if (fd == -1)
		fd = rd_tmpfile("/tmp");
	while (fd != -1 && (n = rd_read(ff, off, buf, DAVREDIS_CHUNK)) > 0) {
		if (write(fd, buf, (size_t)n) != n) {
			saved = errno;
			close(fd);
			fd = -1;
			errno = saved;
			break;
		}
		off += (uint64_t)n;
	}
	free(buf);
	if (fd != -1 && lseek(fd, 0, SEEK_SET) == -1) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void
rd_read_close(struct davrd *ff)
{
	struct rd_rd *f = (struct rd_rd *)ff;

	free(f->prefix);
	free(f);
}

static struct davup *
rd_up_open(struct davdir *dd)
{
	const struct rd_dir *d = (const struct rd_dir *)dd;
	struct rd_up *u = xcalloc(1, sizeof(*u));

	u->base.s = dd->s;
	u->dirh = (struct rd_dir *)dd;
	u->prefix = xstrdup(d->prefix);
	snprintf(u->dir, sizeof(u->dir), "%s", d->id);
	rd_new_id(u->id);
	return &u->base;
}

/* The chunk key i of upload u into k. */
static void
rd_chunk_key(struct buf *k, const struct rd_up *u, uint64_t i)
{
	buf_reset(k);
	buf_addf(k, "%sc:%s:%" PRIu64, u->prefix, u->id, i);
}

static int
rd_up_write(struct davup *uu, const char *data, size_t len)
{
	struct rd_up *u = (struct rd_up *)uu;
	struct buf k = BUF_INIT;
	const char *argv[5];
	size_t lens[5];
	uint64_t o, n;
	redisReply *r;
	bool fresh;

	while (len > 0) {
		o = u->size % DAVREDIS_CHUNK;
		n = DAVREDIS_CHUNK - o;
		if (n > len)
			n = len;
		fresh = o == 0;
		rd_chunk_key(&k, u, fresh ? u->chunks : u->chunks - 1);
		argv[0] = fresh ? "SET" : "APPEND";
		argv[1] = k.data;
		argv[2] = data;
		argv[3] = "EX";
		argv[4] = DAVREDIS_TEMP_TTL;
		lens[0] = strlen(argv[0]);
		lens[1] = k.len;
		lens[2] = (size_t)n;
		lens[3] = 2;
		lens[4] = strlen(DAVREDIS_TEMP_TTL);
		r = rd_cmd(uu->s, fresh ? 5 : 3, argv, lens);
		if (r == NULL) {
			buf_release(&k);
			return -1;
		}
		freeReplyObject(r);
		if (fresh)
			u->chunks++;
		u->size += n;
		data += n;
		len -= (size_t)n;
	}
	buf_release(&k);
	return 0;
}

/* Durable when Redis has it (its own persistence settings). */
static int
rd_up_sync(struct davup *uu)
{
	(void)uu;
	return 0;
}

/* Free u, removing its chunks (they expire anyway when this fails). */
static void
rd_up_abort(struct davup *uu)
{
	struct rd_up *u = (struct rd_up *)uu;
	struct buf k = BUF_INIT;
	const char *argv[2];
	size_t lens[2];
	redisReply *r;
	uint64_t i;

	for (i = 0; i < u->chunks; i++) {
		rd_chunk_key(&k, u, i);
		argv[0] = "DEL";
		argv[1] = k.data;
		lens[0] = 3;
		lens[1] = k.len;
		r = rd_cmd(uu->s, 2, argv, lens);
		if (r == NULL)
			break; /* they expire */
		freeReplyObject(r);
	}
	buf_release(&k);
	free(u->prefix);
	free(u);
}

static int
rd_up_commit(struct davup *uu, const char *name, struct stat *st)
{
	struct rd_up *u = (struct rd_up *)uu;
	struct rd_dir *dh = u->dirh;
	struct buf k = BUF_INIT, kv = BUF_INIT, e = BUF_INIT;
	char n[32], now[32], keep[16], id[DAVREDIS_ID];
	const char *args[9];
	long long v;
	int rc = -1, saved;

	if (uu->guard &&
	    (dh->seen_name == NULL || strcmp(dh->seen_name, name) != 0)) {
		/* Guarded by nothing read: refused, never unchecked. */
		errno = ESTALE;
		free(dh->vname);
		dh->vname = NULL;
		rd_up_abort(uu);
		return -1;
	}
	snprintf(keep, sizeof(keep), "-1");
	if (dh->vname != NULL && strcmp(dh->vname, name) == 0)
		snprintf(keep, sizeof(keep), "%u", dh->vkeep);
	free(dh->vname);
	dh->vname = NULL;
	rd_key(&k, u->prefix, "d:", u->dir);
	rd_key(&kv, u->prefix, "v:", u->dir);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	snprintf(n, sizeof(n), "%" PRIu64, u->chunks);
	buf_addf(&e, "f %s %" PRIu64 " %" PRIu64 " %s %s", u->id, u->size,
	    rd_time_ns(), now, n);
	args[0] = k.data;
	args[1] = kv.data;
	args[2] = name;
	args[3] = e.data;
	args[4] = u->prefix;
	args[5] = n;
	args[6] = u->id;
	args[7] = keep;
	/* The check and the commit in one script: nothing lands between. */
	args[8] = uu->guard ? dh->seen.data : "-";
	v = rd_eval(uu->s, lua_commit, 2, args, 9, NULL);
	if (v == 0) {
		rc = rd_entry_parse(e.data, e.len, st, id, NULL);
		u->chunks = 0; /* they are the file's now */
	} else if (v == -4) {
		errno = ESTALE;
	} else if (v != -100) {
		rd_fail(v, ENOENT, EIO, EISDIR);
	}
	saved = errno;
	buf_release(&k);
	buf_release(&kv);
	buf_release(&e);
	rd_up_abort(uu);
	errno = saved;
	return rc;
}

/* Nothing to sync; expired uploads are Redis's to remove. */
static int
rd_dir_sync(struct davdir *dd)
{
	(void)dd;
	return 0;
}

static int
rd_remove(struct davdir *dd, const char *name)
{
	const struct rd_dir *d = (const struct rd_dir *)dd;
	struct buf k = BUF_INIT;
	const char *args[3];
	long long v;

	rd_key(&k, d->prefix, "d:", d->id);
	args[0] = k.data;
	args[1] = name;
	args[2] = d->prefix;
	v = rd_eval(dd->s, lua_remove, 1, args, 3, NULL);
	buf_release(&k);
	return v == 0 ? 0 : v == -100 ? -1 : rd_fail(v, ENOENT, EIO, EIO);
}

/* A COPY (copy true) or MOVE by its script. */
static int
rd_transfer(struct davdir *sdd, const char *sname, struct davdir *ddd,
    const char *dname, bool copy, bool recursive)
{
	const struct rd_dir *sd = (const struct rd_dir *)sdd;
	const struct rd_dir *dd = (const struct rd_dir *)ddd;
	struct buf k1 = BUF_INIT, k2 = BUF_INIT;
	char base[DAVREDIS_ID], mt[32], now[32];
	const char *args[9];
	long long v;

	rd_key(&k1, sd->prefix, "d:", sd->id);
	rd_key(&k2, dd->prefix, "d:", dd->id);
	rd_new_id(base);
	snprintf(mt, sizeof(mt), "%" PRIu64, rd_time_ns());
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	args[0] = k1.data;
	args[1] = k2.data;
	args[2] = sname;
	args[3] = dname;
	args[4] = sd->prefix;
	args[5] = base;
	args[6] = recursive ? "1" : "0";
	args[7] = mt;
	args[8] = now;
	v = rd_eval(
	    sdd->s, copy ? lua_copy : lua_move, 2, args, copy ? 9 : 4, NULL);
	buf_release(&k1);
	buf_release(&k2);
	return v == 0 ? 0 : v == -100 ? -1 : rd_fail(v, ENOENT, ENOENT, EEXIST);
}

static int
rd_copy(struct davdir *sd, const char *sname, struct davdir *dd,
    const char *dname, bool recursive)
{
	return rd_transfer(sd, sname, dd, dname, true, recursive);
}

static int
rd_move(
    struct davdir *sd, const char *sname, struct davdir *dd, const char *dname)
{
	return rd_transfer(sd, sname, dd, dname, false, true);
}

static int
rd_usage(
    struct davdir *dd, uint64_t max_entries, uint64_t *bytes, uint64_t *entries)
{
	const struct rd_dir *d = (const struct rd_dir *)dd;
	const char *args[2];
	redisReply *r = NULL;

	args[0] = d->prefix;
	args[1] = d->id;
	if (rd_eval(dd->s, lua_usage, 0, args, 2, &r) != 0)
		return -1;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER ||
	    r->element[1]->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(r);
		errno = EIO;
		return -1;
	}
	*bytes = (uint64_t)r->element[0]->integer;
	*entries = (uint64_t)r->element[1]->integer;
	freeReplyObject(r);
	if (*entries > max_entries) {
		errno = E2BIG;
		return -1;
	}
	return 0;
}

/*
 * The versions of name in d (newest first, at most max) into out and *n;
 * when id is not NULL, the id and chunks of the one numbered number into
 * id and *chunks (ENOENT when there is none such).
 */
static int
rd_versions_get(struct davdir *dd, const char *name, struct davfs_version *out,
    size_t max, size_t *n, uint64_t number, char *id, uint64_t *chunks)
{
	const struct rd_dir *d = (const struct rd_dir *)dd;
	struct buf k = BUF_INIT, line = BUF_INIT;
	const char *argv[3];
	size_t lens[3], i = 0, j;
	char *w[5], *p, *end;
	uint64_t num[5];
	redisReply *r;
	int rc = -1, nw;

	*n = 0;
	rd_key(&k, d->prefix, "v:", d->id);
	argv[0] = "HGET";
	argv[1] = k.data;
	argv[2] = name;
	lens[0] = 4;
	lens[1] = k.len;
	lens[2] = strlen(name);
	r = rd_cmd(dd->s, 3, argv, lens);
	buf_release(&k);
	if (r == NULL)
		return -1;
	while (r->type == REDIS_REPLY_STRING && i < r->len && *n < max) {
		for (j = i; j < r->len && r->str[j] != '\n'; j++)
			;
		buf_reset(&line);
		buf_add(&line, r->str + i, j - i);
		i = j + 1;
		/* "<number> <id> <size> <mtime_ns> <n>"; a bad line ends it. */
		for (nw = 0, p = line.data; nw < 5 && p != NULL; nw++) {
			w[nw] = p;
			if ((p = strchr(p, ' ')) != NULL)
				*p++ = '\0';
		}
		if (nw != 5 || p != NULL || strlen(w[1]) >= DAVREDIS_ID)
			break;
		for (nw = 0; nw < 5; nw++) {
			num[nw] = strtoull(w[nw], &end, 10);
			if (nw != 1 && (end == w[nw] || *end != '\0'))
				break;
		}
		if (nw < 5)
			break;
		out[*n].number = num[0];
		out[*n].size = num[2];
		out[*n].mtime = (time_t)(num[3] / 1000000000ull);
		(*n)++;
		if (id != NULL && num[0] == number) {
			snprintf(id, DAVREDIS_ID, "%s", w[1]);
			*chunks = num[4];
			rc = 0;
		}
	}
	freeReplyObject(r);
	buf_release(&line);
	if (id == NULL)
		return 0;
	if (rc == -1)
		errno = ENOENT;
	return rc;
}

static int
rd_versions(struct davdir *d, const char *name, struct davfs_version *out,
    size_t max, size_t *n)
{
	return rd_versions_get(d, name, out, max, n, 0, NULL, NULL);
}

static struct davrd *
rd_version_open(
    struct davdir *dd, const char *name, uint64_t number, struct stat *st)
{
	struct davfs_version v[DAVFS_MAX_VERSIONS];
	char id[DAVREDIS_ID];
	uint64_t chunks = 0;
	size_t n, i;

	if (rd_versions_get(
	        dd, name, v, DAVFS_MAX_VERSIONS, &n, number, id, &chunks) == -1)
		return NULL;
	memset(st, 0, sizeof(*st));
	for (i = 0; i < n; i++) {
		if (v[i].number == number) {
			st->st_size = (off_t)v[i].size;
			st->st_mtim.tv_sec = v[i].mtime;
		}
	}
	st->st_mode = S_IFREG | 0600;
	st->st_nlink = 1;
	st->st_ino = (ino_t)rd_id_hash(id);
	return rd_reader(dd, id, (uint64_t)st->st_size, chunks);
}

/* The bytes the next commit drops keeping keep versions (the quota). */
static uint64_t
rd_version_dropped(struct davdir *d, const char *name, unsigned keep)
{
	struct davfs_version v[DAVFS_MAX_VERSIONS];
	uint64_t bytes = 0;
	size_t n, i;

	if (rd_versions(d, name, v, DAVFS_MAX_VERSIONS, &n) == -1)
		return 0;
	/* The old file becomes the newest: those from keep - 1 on go. */
	for (i = keep > 0 ? keep - 1 : 0; i < n; i++)
		bytes += v[i].size;
	return bytes;
}

/* Remembered for the commit that follows, whose script makes it. */
static int
rd_version_keep(struct davdir *dd, const char *name, unsigned keep, bool *kept,
    uint64_t *freed, uint64_t *freed_n)
{
	struct rd_dir *d = (struct rd_dir *)dd;

	free(d->vname);
	d->vname = xstrdup(name);
	d->vkeep = keep;
	*kept = keep > 0;
	*freed = *freed_n = 0;
	return 0;
}

/*
 * Free the store. The threads' connections stay theirs (redis_sync.h):
 * other stores on the same Redis may use them (davweb.c makes one for a
 * request).
 */
static void
rd_free(struct davstore *s)
{
	free(s);
}

static const struct davstore_ops rd_ops = {
    .root_open = rd_root_open,
    .dir_open = rd_dir_open,
    .dir_close = rd_dir_close,
    .same_tree = rd_same_tree,
    .stat = rd_stat,
    .list = rd_list,
    .props_load = rd_props_load,
    .props_save = rd_props_save,
    .mkcol = rd_mkcol,
    .read_open = rd_read_open,
    .read = rd_read,
    .read_close = rd_read_close,
    .read_fd = rd_read_fd,
    .up_open = rd_up_open,
    .up_write = rd_up_write,
    .up_sync = rd_up_sync,
    .up_commit = rd_up_commit,
    .up_abort = rd_up_abort,
    .dir_sync = rd_dir_sync,
    .remove = rd_remove,
    .copy = rd_copy,
    .move = rd_move,
    .usage = rd_usage,
    .version_dropped = rd_version_dropped,
    .version_keep = rd_version_keep,
    .versions = rd_versions,
    .version_open = rd_version_open,
    .free = rd_free,
};

struct davstore *
davredis_new(const struct config *cfg)
{
	struct rd_store *rs = xcalloc(1, sizeof(*rs));

	rs->base.ops = &rd_ops;
	rs->base.cache_usage = false;
	rs->base.versions = true;
	rs->base.blocking = true;
	rs->cfg = cfg;
	return &rs->base;
}

int
davredis_tree_find(const struct config *cfg, struct str user)
{
	struct buf k = BUF_INIT;
	const char *argv[2];
	size_t lens[2];
	redisReply *r;
	int rc = -1;

	buf_adds(&k, "kosyncd:user:");
	buf_add(&k, user.p, user.len);
	buf_adds(&k, ":dav:d:root");
	argv[0] = "EXISTS";
	argv[1] = k.data;
	lens[0] = 6;
	lens[1] = k.len;
	r = redis_sync_cmd(cfg, "webdav", 2, argv, lens);
	buf_release(&k);
	if (r == NULL)
		return -1;
	if (r->type == REDIS_REPLY_INTEGER)
		rc = r->integer > 0;
	else
		errno = EIO;
	freeReplyObject(r);
	return rc;
}
