/*
 * config_file.c: database.json's "config" object, read into a struct
 * config and written back (see config.h).
 *
 * Reading is a yajl SAX parse that stops as soon as the "config" object is
 * closed: the users, which may be most of the file, are snapshot_reader.c's.
 * Each scalar member goes through config_file_set(), which holds JSON's types
 * to the option's type before the option table's own check. Writing puts
 * KOsync's keys first, always, and ours only when the file set them, with
 * the text the file gave (cfg->file_), so values from the environment or
 * flags never end up in the file.
 *
 * Not here: the option table and its checks (config.c), the rest of
 * database.json (snapshot.h), where the file lives (datadir.c).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yajl/yajl_parse.h>

#include "config.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"

/* ---------------------------------------------------------------------
 * One value of the "config" object
 */

int
config_file_set(struct config *cfg, const char *name, struct str value,
    bool is_string, struct buf *err)
{
	const struct config_option *o;
	char *text = NULL;
	int i, rc = -1;

	i = config_option_index(name, strlen(name));
	if (i == -1)
		return config_set(cfg, name, "", CONFIG_SRC_FILE, err);
	o = &config_options[i];
	text = xmemdup0(value.p != NULL ? value.p : "", value.len);
	if (!is_string && strcmp(text, "null") == 0) {
		rc = 0; /* KOsync leaves the field at its default */
		goto out;
	}
	if ((o->flags & CONFIG_OPT_NOFILE) != 0) {
		config_add_bad_value(err, o, text, CONFIG_SRC_FILE);
		buf_adds(err, "cannot be set in the file it names");
		goto out;
	}
	if (strlen(text) != value.len) {
		config_add_bad_value(err, o, text, CONFIG_SRC_FILE);
		buf_adds(err, "contains a NUL byte");
		goto out;
	}
	switch (o->type) {
	case CONFIG_T_BOOL:
		if (is_string ||
		    (strcmp(text, "true") != 0 && strcmp(text, "false") != 0)) {
			config_add_bad_value(err, o, text, CONFIG_SRC_FILE);
			buf_adds(err, "expected JSON true or false");
			goto out;
		}
		break;
	case CONFIG_T_UINT:
	case CONFIG_T_U64:
		if (is_string) {
			config_add_bad_value(err, o, text, CONFIG_SRC_FILE);
			buf_adds(err, "expected a JSON number");
			goto out;
		}
		break;
	case CONFIG_T_ENUM:
	case CONFIG_T_STRING:
		if (!is_string) {
			config_add_bad_value(err, o, text, CONFIG_SRC_FILE);
			buf_adds(err, "expected a JSON string");
			goto out;
		}
		break;
	}
	rc = config_set_index(cfg, i, text, CONFIG_SRC_FILE, err);
out:
	free(text);
	return rc;
}

struct file_parse {
	struct config *cfg;
	struct buf *err;
	int depth;      /* current nesting; 1 inside the top object */
	bool at_config; /* the top-level key just read was "config" */
	bool in_config; /* inside the "config" object (depth 2) */
	bool done;      /* the "config" object was closed */
	bool failed;    /* err holds a message */
	struct buf key; /* the member of "config" being read */
};

/* A scalar value arrived; apply it when it is a member of "config". */
static int
fp_scalar(struct file_parse *fp, const char *s, size_t len, bool is_string)
{
	if (fp->depth == 1 && fp->at_config) {
		fp->at_config = false;
		if (!is_string && len == 4 && memcmp(s, "null", 4) == 0)
			return 1;
		buf_adds(fp->err,
		    "\"config\" in " CONFIG_DATABASE_FILE " is not an object");
		fp->failed = true;
		return 0;
	}
	if (fp->depth == 2 && fp->in_config) {
		if (config_file_set(fp->cfg, fp->key.data, (struct str){s, len},
		        is_string, fp->err) == -1) {
			fp->failed = true;
			return 0;
		}
	}
	return 1;
}

static int
fp_null(void *ctx)
{
	return fp_scalar(ctx, "null", 4, false);
}

static int
fp_boolean(void *ctx, int v)
{
	return v ? fp_scalar(ctx, "true", 4, false)
	         : fp_scalar(ctx, "false", 5, false);
}

static int
fp_number(void *ctx, const char *s, size_t len)
{
	return fp_scalar(ctx, s, len, false);
}

static int
fp_string(void *ctx, const unsigned char *s, size_t len)
{
	return fp_scalar(ctx, (const char *)s, len, true);
}

/* An object or array opens. */
static int
fp_open(struct file_parse *fp, bool is_map)
{
	if (fp->depth == 0 && !is_map) {
		buf_adds(fp->err, CONFIG_DATABASE_FILE " is not a JSON object");
		fp->failed = true;
		return 0;
	}
	if (fp->depth == 1 && fp->at_config) {
		fp->at_config = false;
		if (!is_map) {
			buf_adds(fp->err, "\"config\" in " CONFIG_DATABASE_FILE
			                  " is not an object");
			fp->failed = true;
			return 0;
		}
		fp->in_config = true;
	} else if (fp->depth == 2 && fp->in_config) {
		buf_adds(fp->err, "invalid value for option '");
		log_escape(
		    fp->err, (struct str){fp->key.data, fp->key.len}, 100);
		buf_adds(fp->err,
		    "' in " CONFIG_DATABASE_FILE ": expected a scalar");
		fp->failed = true;
		return 0;
	}
	fp->depth++;
	return 1;
}

static int
fp_start_map(void *ctx)
{
	return fp_open(ctx, true);
}

static int
fp_start_array(void *ctx)
{
	return fp_open(ctx, false);
}

static int
fp_close(void *ctx)
{
	struct file_parse *fp = ctx;

	fp->depth--;
	if (fp->depth == 1 && fp->in_config) {
		/* Nothing after "config" matters here: stop reading. */
		fp->in_config = false;
		fp->done = true;
		return 0;
	}
	return 1;
}

static int
fp_map_key(void *ctx, const unsigned char *s, size_t len)
{
	struct file_parse *fp = ctx;

	if (fp->depth == 1)
		fp->at_config = len == 6 && memcmp(s, "config", 6) == 0;
	else if (fp->depth == 2 && fp->in_config) {
		buf_reset(&fp->key);
		buf_add(&fp->key, s, len);
		if (strlen(fp->key.data) != len) {
			buf_adds(fp->err, "option name with a NUL byte "
			                  "in " CONFIG_DATABASE_FILE);
			fp->failed = true;
			return 0;
		}
	}
	return 1;
}

static const yajl_callbacks fp_callbacks = {
    fp_null,
    fp_boolean,
    NULL,
    NULL,
    fp_number,
    fp_string,
    fp_start_map,
    fp_map_key,
    fp_close,
    fp_start_array,
    fp_close,
};

/*
 * Feed len bytes (or, when text is NULL, the end of input). Returns 1 to
 * go on, 0 when the "config" object has been read, -1 on error.
 */
static int
fp_feed(struct file_parse *fp, yajl_handle h, const char *text, size_t len)
{
	yajl_status st;
	if (text != NULL)
		st = yajl_parse(h, (const unsigned char *)text, len);
	else
		st = yajl_complete_parse(h);
	if (st == yajl_status_ok)
		return text != NULL ? 1 : 0;
	if (st == yajl_status_client_canceled && fp->done)
		return 0;
	if (!fp->failed) {
		unsigned char *msg =
		    yajl_get_error(h, 0, (const unsigned char *)text, len);
		buf_addf(fp->err, "cannot parse " CONFIG_DATABASE_FILE ": %s",
		    (const char *)msg);
		while (fp->err->len > 0 &&
		       isspace((unsigned char)fp->err->data[fp->err->len - 1]))
			fp->err->data[--fp->err->len] = '\0';
		yajl_free_error(h, msg);
	}
	return -1;
}

/*
 * Read database.json from fd (or text when fd is -1) until its "config"
 * object has been applied.
 */
static int
file_read(
    struct config *cfg, int fd, const char *text, size_t len, struct buf *err)
{
	struct file_parse fp;
	yajl_handle h;
	char chunk[65536];
	ssize_t n;
	size_t total = 0;
	int rc = -1, r;

	memset(&fp, 0, sizeof(fp));
	fp.cfg = cfg;
	fp.err = err;
	buf_init(&fp.key);
	h = yajl_alloc(&fp_callbacks, NULL, &fp);
	if (h == NULL) {
		buf_adds(err, "out of memory");
		goto out;
	}
	if (fd == -1) {
		/* KOsync treats a file of at most one byte as empty. */
		if (len <= 1) {
			rc = 0;
			goto out;
		}
		r = fp_feed(&fp, h, text, len);
	} else {
		r = 1;
		while (r == 1) {
			n = read(fd, chunk, sizeof(chunk));
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1) {
				buf_addf(err,
				    "cannot read " CONFIG_DATABASE_FILE ": %s",
				    strerror(errno));
				goto out;
			}
			if (n == 0)
				break;
			if (total == 0 && n == 1) {
				/* Might be a one-byte file: look again. */
				char more;
				ssize_t m = read(fd, &more, 1);

				if (m == 0) {
					rc = 0;
					goto out;
				}
				if (m == 1) {
					chunk[1] = more;
					n = 2;
				}
			}
			total += (size_t)n;
			r = fp_feed(&fp, h, chunk, (size_t)n);
		}
		if (r == 1 && total <= 1) {
			rc = 0;
			goto out;
		}
	}
	if (r == 1)
		r = fp_feed(&fp, h, NULL, 0);
	rc = r == -1 ? -1 : 0;
out:
	if (h != NULL)
		yajl_free(h);
	buf_release(&fp.key);
	return rc;
}

int
config_file_parse(
    struct config *cfg, const char *text, size_t len, struct buf *err)
{
	return file_read(cfg, -1, text, len, err);
}

int
config_file_load(struct config *cfg, const char *path, struct buf *err)
{
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		buf_addf(err, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	rc = file_read(cfg, fd, NULL, 0, err);
	close(fd);
	return rc;
}

/* Write option o's value given as text, with its JSON type. */
static void
write_typed(
    struct json_out *out, const struct config_option *o, const char *text)
{
	uint64_t u = 0;

	switch (o->type) {
	case CONFIG_T_BOOL:
		json_bool(out, strcmp(text, "true") == 0);
		break;
	case CONFIG_T_UINT:
	case CONFIG_T_U64:
		(void)config_parse_u64(text, &u);
		json_uint(out, u);
		break;
	case CONFIG_T_ENUM:
	case CONFIG_T_STRING:
		json_str(out, text);
		break;
	}
}

const char *
config_file_value(const struct config *cfg, const char *name)
{
	int i = config_option_index(name, strlen(name));

	return i == -1 ? NULL : cfg->file_[i];
}

void
config_file_write(const struct config *cfg, struct json_out *out)
{
	struct buf def = BUF_INIT;
	size_t i;
	int pass;

	json_obj_begin(out);
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < config_noptions; i++) {
			const struct config_option *o = &config_options[i];
			bool kosync = (o->flags & CONFIG_OPT_KOSYNC) != 0;

			if (pass == 0 ? !kosync : kosync)
				continue;
			if (cfg->file_[i] == NULL && !kosync)
				continue;
			json_key(out, o->name);
			if (cfg->file_[i] != NULL) {
				write_typed(out, o, cfg->file_[i]);
			} else {
				buf_reset(&def);
				config_add_default(&def, o);
				write_typed(out, o, def.data);
			}
		}
	}
	json_obj_end(out);
	buf_release(&def);
}
