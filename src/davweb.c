/*
 * davweb.c: the versions of WebDAV files in the web API (davweb.h).
 *
 * The path comes decoded from the query string: it is encoded again and
 * checked exactly as a WebDAV request's path is (davpath.h), so the same
 * names are refused and nothing outside the account's tree, nor a
 * reserved name, can be reached. The tree is reached through davstore.h
 * (the disk, or Redis) as a PROPFIND of the folder is: on the loop for
 * the disk, on the thread pool for Redis (dav_offload), which the loop
 * never waits on (at most DAVFS_MAX_VERSIONS versions are listed); a
 * version's bytes are sent as the client reads them, a chunk at a time
 * (dav_reply_reader; read on the pool for Redis).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "dav.h"
#include "davfs.h"
#include "davpath.h"
#include "davredis.h"
#include "davstore.h"
#include "davweb.h"
#include "fault.h"
#include "json.h"

/* Whether name is safe inside a quoted Content-Disposition filename. */
static bool
plain_name(const char *name)
{
	const char *p;

	for (p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		        (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' ||
		        *p == '_'))
			return false;
	return p != name;
}

/* Parse a version number (1 and up, decimal). 0 when not one. */
static uint64_t
parse_number(struct str s)
{
	uint64_t v = 0;
	size_t i;

	if (s.len == 0 || s.len > 19)
		return 0;
	for (i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(s.p[i] - '0');
	}
	return v;
}

/*
 * One request's storage work, done by dav_offload (http_alloc memory:
 * the request is answered only when it is back, and the job is gone
 * with the answer). The query's parts are copied; what run finds is
 * answered by the done functions.
 */
struct dw_job {
	struct http_request *req;
	struct dav *dav;
	const struct config *cfg;
	const char *headers; /* webui.c's constant */
	struct str user, path;
	struct davstore *files; /* versions: this request's backend */
	struct davpath dp;
	const char *name; /* the file, dp's last segment */
	uint64_t num;     /* the version sent; 0 for the list */
	/* What run found: rc 0 or -1 with err, in the step failed. */
	int rc, err;
	enum { DW_DIR, DW_LIST, DW_OPEN } failed;
	struct davfs_tally t;
	struct davfs_version v[DAVFS_MAX_VERSIONS];
	size_t n;
	struct davrd *rd;
	struct stat st;
};

/* A copy of s in req's memory. */
static struct str
dw_copy(struct http_request *req, struct str s)
{
	char *p;

	if (s.p == NULL)
		return s;
	p = http_alloc(req, s.len + 1);
	memcpy(p, s.p, s.len);
	p[s.len] = '\0';
	return (struct str){p, s.len};
}

/*
 * The usage of user's tree in Redis (davredis.h) into *t: 0, or -1 with
 * errno (ENOTCONN: Redis cannot be reached).
 */
static int
usage_redis(const struct config *cfg, struct str user, struct davfs_tally *t)
{
	struct davstore *s = davredis_new(cfg);
	struct davdir *root = davstore_root_open(s, user);
	int rc = -1, saved;

	if (root != NULL)
		rc = davstore_usage(root, UINT64_MAX, &t->bytes, &t->entries);
	saved = errno;
	davstore_dir_close(root);
	davstore_free(s);
	errno = saved;
	return rc;
}

/* A second's wait when the test hook FAULT_DAV_WEB fires (fault.h). */
static void
dw_fault(void)
{
	if (fault_check(FAULT_DAV_WEB) != 0)
		(void)nanosleep(&(struct timespec){.tv_sec = 1}, NULL);
}

/* dav_offload's run: count the tree (on the pool for Redis). */
static void
usage_run(void *arg)
{
	struct dw_job *j = arg;

	dw_fault();
	if (strcmp(j->cfg->storage, "redis") == 0)
		j->rc = usage_redis(j->cfg, j->user, &j->t);
	else
		j->rc = davfs_tree_usage(
		    j->cfg->data_dir ? j->cfg->data_dir : "./data", j->user,
		    &j->t);
	j->err = errno;
}

/* dav_offload's done: answer with the count. */
static void
usage_done(void *arg, bool ok)
{
	struct dw_job *j = arg;
	struct buf out = BUF_INIT;
	struct json_out o;

	if (!ok) {
		http_error(j->req, 503, j->headers,
		    "The server is shutting down; try again.");
		return;
	}
	if (j->rc != 0) {
		if (j->err == ENOTCONN)
			http_error(j->req, 503, j->headers,
			    "The file storage is unavailable; try again.");
		else
			http_error(
			    j->req, 500, j->headers, "Cannot count the files.");
		return;
	}
	json_out_init(&o, &out, false);
	json_obj_begin(&o);
	json_key(&o, "bytes");
	json_uint(&o, j->t.bytes);
	json_key(&o, "entries");
	json_uint(&o, j->t.entries);
	json_key(&o, "quota_bytes");
	json_uint(&o, j->cfg->dav_quota_bytes);
	json_key(&o, "max_file_bytes");
	json_uint(&o, j->cfg->dav_max_file_bytes);
	json_key(&o, "max_entries");
	json_uint(&o, DAV_MAX_ENTRIES);
	json_obj_end(&o);
	http_reply_ex(j->req, 200, NULL, j->headers, out.data, out.len);
	buf_release(&out);
}

/* A job for req in its memory, its strings copied. */
static struct dw_job *
dw_job_new(struct http_request *req, struct dav *dav, const struct config *cfg,
    struct str user, const char *headers)
{
	struct dw_job *j = http_alloc(req, sizeof(*j));

	memset(j, 0, sizeof(*j));
	j->req = req;
	j->dav = dav;
	j->cfg = cfg;
	j->headers = headers;
	j->user = dw_copy(req, user);
	return j;
}

void
davweb_usage(struct http_request *req, struct dav *dav,
    const struct config *cfg, struct str user, const char *headers)
{
	if (strcmp(cfg->storage, "redis") != 0 &&
	    strcmp(cfg->storage, "file") != 0) {
		http_error(req, 501, headers,
		    "WebDAV needs file storage (--storage file) or Redis.");
		return;
	}
	dav_offload(dav, usage_run, usage_done,
	    dw_job_new(req, dav, cfg, user, headers));
}

/*
 * The backend of cfg's storage for one request (NULL for memory, which
 * keeps no files; davstore_free it).
 */
static struct davstore *
files_open(const struct config *cfg)
{
	if (strcmp(cfg->storage, "file") == 0)
		return davstore_disk_new(
		    cfg->data_dir ? cfg->data_dir : "./data");
	if (strcmp(cfg->storage, "redis") == 0)
		return davredis_new(cfg);
	return NULL;
}

/*
 * dav_offload's run: open the folder, then list the file's versions or
 * open the one asked for (on the pool for Redis).
 */
static void
versions_run(void *arg)
{
	struct dw_job *j = arg;
	struct davdir *root, *dir = NULL;

	dw_fault();
	j->rc = -1;
	j->failed = DW_DIR;
	root = davstore_root_open(j->files, j->user);
	if (root != NULL)
		dir = davstore_dir_open(root, j->dp.seg, j->dp.nseg - 1);
	if (dir == NULL)
		goto out;
	if (j->num == 0) {
		j->failed = DW_LIST;
		j->rc = davstore_versions(
		    dir, j->name, j->v, DAVFS_MAX_VERSIONS, &j->n);
	} else {
		j->failed = DW_OPEN;
		j->rd = davstore_version_open(dir, j->name, j->num, &j->st);
		j->rc = j->rd != NULL ? 0 : -1;
	}
out:
	j->err = errno;
	davstore_dir_close(dir);
	davstore_dir_close(root);
}

/* Answer the list of versions j found. */
static void
versions_list(struct dw_job *j)
{
	struct buf out = BUF_INIT;
	struct json_out o;
	size_t i;

	json_out_init(&o, &out, false);
	json_obj_begin(&o);
	json_key(&o, "path");
	json_strn(&o, j->path.p, j->path.len);
	json_key(&o, "versions");
	json_arr_begin(&o);
	for (i = 0; i < j->n; i++) {
		json_obj_begin(&o);
		json_key(&o, "number");
		json_uint(&o, j->v[i].number);
		json_key(&o, "size");
		json_uint(&o, j->v[i].size);
		json_key(&o, "uploaded");
		json_int(&o, (int64_t)j->v[i].mtime);
		json_obj_end(&o);
	}
	json_arr_end(&o);
	json_obj_end(&o);
	http_reply_ex(j->req, 200, NULL, j->headers, out.data, out.len);
	buf_release(&out);
}

/* Send the version j opened, as the client reads it. */
static void
versions_send(struct dw_job *j)
{
	struct buf hdr = BUF_INIT;

	buf_adds(&hdr, j->headers);
	if (plain_name(j->name))
		buf_addf(&hdr,
		    "Content-Disposition: attachment; filename=\"%s\"\r\n",
		    j->name);
	else
		buf_adds(&hdr, "Content-Disposition: attachment\r\n");
	/* The answer takes the reader; j is gone with the request. */
	dav_reply_reader(j->req, j->dav, 200, "application/octet-stream",
	    hdr.data, j->rd, 0, (uint64_t)j->st.st_size);
	buf_release(&hdr);
}

/* dav_offload's done: answer with what versions_run found. */
static void
versions_done(void *arg, bool ok)
{
	struct dw_job *j = arg;
	int e = j->err;

	davstore_free(j->files);
	j->files = NULL;
	if (!ok) {
		davstore_read_close(j->rd);
		http_error(j->req, 503, j->headers,
		    "The server is shutting down; try again.");
		return;
	}
	if (j->rc == 0) {
		if (j->num == 0)
			versions_list(j);
		else
			versions_send(j);
		return;
	}
	if (j->failed == DW_DIR) {
		if (e == ENOENT || e == ENOTDIR || e == ELOOP)
			http_error(j->req, 404, j->headers, "No such folder.");
		else if (e == ENOTCONN)
			http_error(j->req, 503, j->headers,
			    "The file storage is unavailable; try again.");
		else
			http_error(
			    j->req, 500, j->headers, "Cannot open the folder.");
	} else if (j->failed == DW_LIST)
		http_error(j->req, 500, j->headers, "Cannot read the folder.");
	else if (e == ENOENT)
		http_error(j->req, 404, j->headers, "No such version.");
	else
		http_error(j->req, 500, j->headers, "Cannot open the version.");
}

void
davweb_versions(struct http_request *req, struct dav *dav,
    const struct config *cfg, struct str user, struct str path,
    struct str number, const char *headers)
{
	struct buf enc = BUF_INIT;
	struct dw_job *j;
	const char *why;
	char *dec;
	uint64_t num = 0;

	if (strcmp(cfg->storage, "redis") != 0 &&
	    strcmp(cfg->storage, "file") != 0) {
		http_error(req, 501, headers,
		    "WebDAV needs file storage (--storage file) or Redis.");
		return;
	}
	if (number.p != NULL && (num = parse_number(number)) == 0) {
		http_error(req, 400, headers, "Not a version number.");
		return;
	}
	if (path.p == NULL || path.len == 0) {
		http_error(req, 400, headers, "The query needs path=.");
		return;
	}
	j = dw_job_new(req, dav, cfg, user, headers);
	if (path.p[0] != '/')
		buf_addch(&enc, '/');
	davpath_encode(&enc, path, true);
	dec = http_alloc(req, enc.len + 1);
	if (davpath_parse((struct str){enc.data, enc.len}, dec, &j->dp, &why) !=
	        0 ||
	    j->dp.nseg == 0) {
		http_error(
		    req, 400, headers, why ? why : "The path is a folder.");
		buf_release(&enc);
		return;
	}
	buf_release(&enc);
	j->path = dw_copy(req, path);
	j->name = j->dp.seg[j->dp.nseg - 1].p;
	j->num = num;
	j->files = files_open(cfg);
	dav_offload(dav, versions_run, versions_done, j);
}
