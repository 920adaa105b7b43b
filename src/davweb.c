/*
 * davweb.c: the versions of WebDAV files in the web API (davweb.h).
 *
 * The path comes decoded from the query string: it is encoded again and
 * checked exactly as a WebDAV request's path is (davpath.h), so the same
 * names are refused and nothing outside the account's tree, nor a
 * reserved name, can be reached. The tree is reached through davstore.h
 * (the disk, or Redis), on the loop, as a PROPFIND of the folder is (at
 * most DAVFS_MAX_VERSIONS versions are listed); a version's bytes are
 * sent as the client reads them (dav_reply_reader).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dav.h"
#include "davfs.h"
#include "davpath.h"
#include "davredis.h"
#include "davstore.h"
#include "davweb.h"
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

void
davweb_usage(struct http_request *req, const struct config *cfg,
    struct str user, const char *headers)
{
	struct buf out = BUF_INIT;
	struct davfs_tally t;
	struct json_out o;
	int rc;

	memset(&t, 0, sizeof(t));
	if (strcmp(cfg->storage, "redis") == 0)
		rc = usage_redis(cfg, user, &t);
	else if (strcmp(cfg->storage, "file") == 0)
		rc = davfs_tree_usage(
		    cfg->data_dir ? cfg->data_dir : "./data", user, &t);
	else {
		http_error(req, 501, headers,
		    "WebDAV needs file storage (--storage file) or Redis.");
		return;
	}
	if (rc != 0) {
		if (errno == ENOTCONN)
			http_error(req, 503, headers,
			    "The file storage is unavailable; try again.");
		else
			http_error(
			    req, 500, headers, "Cannot count the files.");
		return;
	}
	json_out_init(&o, &out, false);
	json_obj_begin(&o);
	json_key(&o, "bytes");
	json_uint(&o, t.bytes);
	json_key(&o, "entries");
	json_uint(&o, t.entries);
	json_key(&o, "quota_bytes");
	json_uint(&o, cfg->dav_quota_bytes);
	json_key(&o, "max_file_bytes");
	json_uint(&o, cfg->dav_max_file_bytes);
	json_key(&o, "max_entries");
	json_uint(&o, DAV_MAX_ENTRIES);
	json_obj_end(&o);
	http_reply_ex(req, 200, NULL, headers, out.data, out.len);
	buf_release(&out);
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

void
davweb_versions(struct http_request *req, const struct config *cfg,
    struct str user, struct str path, struct str number, const char *headers)
{
	struct davfs_version v[DAVFS_MAX_VERSIONS];
	struct buf enc = BUF_INIT, out = BUF_INIT, hdr = BUF_INIT;
	struct davstore *files = files_open(cfg);
	struct davdir *root = NULL, *dir = NULL;
	struct davrd *rd;
	struct davpath dp;
	struct json_out o;
	struct stat st;
	const char *why, *name;
	char *dec;
	uint64_t num = 0;
	size_t n, i;

	if (files == NULL) {
		http_error(req, 501, headers,
		    "WebDAV needs file storage (--storage file) or Redis.");
		goto out;
	}
	if (number.p != NULL && (num = parse_number(number)) == 0) {
		http_error(req, 400, headers, "Not a version number.");
		goto out;
	}
	if (path.p == NULL || path.len == 0) {
		http_error(req, 400, headers, "The query needs path=.");
		goto out;
	}
	if (path.p[0] != '/')
		buf_addch(&enc, '/');
	davpath_encode(&enc, path, true);
	dec = http_alloc(req, enc.len + 1);
	if (davpath_parse((struct str){enc.data, enc.len}, dec, &dp, &why) !=
	        0 ||
	    dp.nseg == 0) {
		http_error(
		    req, 400, headers, why ? why : "The path is a folder.");
		goto out;
	}
	name = dp.seg[dp.nseg - 1].p;
	root = davstore_root_open(files, user);
	if (root != NULL)
		dir = davstore_dir_open(root, dp.seg, dp.nseg - 1);
	if (dir == NULL) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			http_error(req, 404, headers, "No such folder.");
		else if (errno == ENOTCONN)
			http_error(req, 503, headers,
			    "The file storage is unavailable; try again.");
		else
			http_error(
			    req, 500, headers, "Cannot open the folder.");
		goto out;
	}
	if (num == 0) {
		if (davstore_versions(dir, name, v, DAVFS_MAX_VERSIONS, &n) !=
		    0) {
			http_error(
			    req, 500, headers, "Cannot read the folder.");
			goto out;
		}
		json_out_init(&o, &out, false);
		json_obj_begin(&o);
		json_key(&o, "path");
		json_strn(&o, path.p, path.len);
		json_key(&o, "versions");
		json_arr_begin(&o);
		for (i = 0; i < n; i++) {
			json_obj_begin(&o);
			json_key(&o, "number");
			json_uint(&o, v[i].number);
			json_key(&o, "size");
			json_uint(&o, v[i].size);
			json_key(&o, "uploaded");
			json_int(&o, (int64_t)v[i].mtime);
			json_obj_end(&o);
		}
		json_arr_end(&o);
		json_obj_end(&o);
		http_reply_ex(req, 200, NULL, headers, out.data, out.len);
		goto out;
	}
	rd = davstore_version_open(dir, name, num, &st);
	if (rd == NULL) {
		if (errno == ENOENT)
			http_error(req, 404, headers, "No such version.");
		else
			http_error(
			    req, 500, headers, "Cannot open the version.");
		goto out;
	}
	buf_adds(&hdr, headers);
	if (plain_name(name))
		buf_addf(&hdr,
		    "Content-Disposition: attachment; filename=\"%s\"\r\n",
		    name);
	else
		buf_adds(&hdr, "Content-Disposition: attachment\r\n");
	dav_reply_reader(req, 200, "application/octet-stream", hdr.data, rd, 0,
	    (uint64_t)st.st_size);
out:
	davstore_dir_close(dir);
	davstore_dir_close(root);
	davstore_free(files);
	buf_release(&enc);
	buf_release(&out);
	buf_release(&hdr);
}
