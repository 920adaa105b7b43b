/*
 * cmd_library.c: `kosyncd library scan|list|add|share`: the library index
 * (library.h) from the command line; `library share` shares an upload
 * with every account.
 *
 * The index is SQLite, which locks it for each writer: the commands work
 * on it directly whether a server runs on the data directory or not, and
 * a running server sees what they changed at its next query (a scan of
 * the command waits for the server's own scan to end, and the other way
 * round). `library add` copies each FILE into the uploads folder (temp
 * file, fsync, rename; a file whose partial MD5 is there already is not
 * copied again), then scans.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "buf.h"
#include "cmd.h"
#include "config.h"
#include "fileio.h"
#include "json.h"
#include "libplace.h"
#include "library.h"
#include "partialmd5.h"
#include "xmalloc.h"

static int
cmd_library_scan_exec(struct cmd_args *args)
{
	struct buf out = BUF_INIT;
	int rc;

	rc = library_scan_sync(args->cfg, &out);
	if (rc == 0)
		printf("%s\n", out.data);
	else
		cmd_complain("library scan: %s", out.data);
	buf_release(&out);
	return rc == 0 ? 0 : 1;
}

struct list_ctx {
	bool json;
	int rc;
	uint64_t total, shown;
};

static void
list_page(void *arg, const struct library_page *page, const char *error)
{
	struct list_ctx *c = arg;
	struct buf out = BUF_INIT;
	struct json_out j;
	size_t i;

	if (page == NULL) {
		c->rc = cmd_complain("library list: %s", error);
		return;
	}
	for (i = 0; i < page->nbooks; i++) {
		const struct library_book *b = &page->books[i];

		buf_reset(&out);
		if (c->json) {
			json_out_init(&j, &out, false);
			library_book_json(&j, b, NULL);
		} else {
			buf_addf(&out, "%s  %s", b->id, b->title);
			if (b->nauthors > 0)
				buf_addf(&out, " - %s", b->authors[0]);
			if (b->owner[0] != '\0')
				buf_addf(&out, "  [%s]", b->owner);
		}
		printf("%s\n", out.data);
	}
	c->total = page->total;
	c->shown += page->nbooks;
	if (!c->json && (c->shown >= page->total || page->nbooks == 0))
		printf("%llu books\n", (unsigned long long)page->total);
	buf_release(&out);
	c->rc = 0;
}

static int
cmd_library_list_exec(struct cmd_args *args)
{
	struct library_query q;
	struct list_ctx c = {.json = cmd_option(args, "json", NULL), .rc = 1};
	const char *user = NULL;
	uint64_t offset;

	memset(&q, 0, sizeof(q));
	if (!cmd_option(args, "user", &user))
		user = NULL;
	q.order = LIBRARY_BY_TITLE;
	q.limit = LIBRARY_MAX_PAGE;
	/* Every page, in order. */
	for (offset = 0;; offset += LIBRARY_MAX_PAGE) {
		uint64_t before = c.shown;

		q.offset = offset;
		c.rc = 1;
		if (library_query_sync(args->cfg, user, &q, list_page, &c) ==
		        -1 ||
		    c.rc != 0)
			return 1;
		if (c.shown >= c.total || c.shown == before)
			return 0;
	}
}

/*
 * Copy the file at src into dir (made when missing) as a new file of the
 * same base name, unless a file of dir has the same partial MD5; the new
 * file's path into *added (the caller frees it). Returns 0, 1 when it
 * was there already, or -1 after complaining.
 */
static int
add_one(const char *src, const char *dir, char **added)
{
	struct buf dst = BUF_INIT, tmp = BUF_INIT;
	char pmd5[MD5_HEX_LEN + 1];
	const char *name =
	    strrchr(src, '/') != NULL ? strrchr(src, '/') + 1 : src;
	char chunk[65536];
	struct stat sb;
	int in = -1, out = -1, rc = -1;
	ssize_t n;

	in = open(src, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (in == -1 || fstat(in, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		cmd_complain("cannot read '%s': %s", src,
		    in == -1 ? strerror(errno) : "not a regular file");
		goto out;
	}
	if (name[0] == '\0' || name[0] == '.') {
		cmd_complain("'%s': not a book's file name", src);
		goto out;
	}
	if (partialmd5_fd(in, pmd5) == -1) {
		cmd_complain("cannot read '%s': %s", src, strerror(errno));
		goto out;
	}
	/* The same bytes there already, under any name? */
	if (libplace_find_same(dir, pmd5, &dst) == 0) {
		printf("%s: there already as '%s'\n", src, dst.data);
		rc = 1;
		goto out;
	}
	buf_addf(&tmp, "%s/.tmp-%ld-%s", dir, (long)getpid(), pmd5);
	out = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out == -1) {
		cmd_complain("cannot make '%s': %s", tmp.data, strerror(errno));
		goto out;
	}
	while ((n = read(in, chunk, sizeof(chunk))) > 0)
		if (fileio_write_all(out, chunk, (size_t)n) == -1) {
			n = -1;
			break;
		}
	if (n < 0 || fsync(out) == -1 || close(out) == -1) {
		out = -1;
		cmd_complain("cannot copy '%s': %s", src, strerror(errno));
		(void)unlink(tmp.data);
		goto out;
	}
	out = -1;
	if (libplace_link(tmp.data, dir, name, &dst) == -1) {
		cmd_complain(
		    "cannot add '%s' to '%s': %s", src, dir, strerror(errno));
		goto out;
	}
	printf("%s: added as '%s'\n", src, dst.data);
	*added = buf_detach(&dst, NULL);
	rc = 0;
out:
	if (in != -1)
		close(in);
	if (out != -1)
		close(out);
	buf_release(&dst);
	buf_release(&tmp);
	return rc;
}

static int
cmd_library_add_exec(struct cmd_args *args)
{
	struct buf dir = BUF_INIT, out = BUF_INIT;
	const char *user = NULL;
	char **added = NULL;
	size_t nadded = 0, j;
	int i, rc = 0;

	if (!cmd_option(args, "user", &user))
		user = NULL;
	/* The name becomes a folder's: no '/', no leading '.'. */
	if (user != NULL &&
	    (!auth_username_valid(str_from(user)) || user[0] == '.' ||
	        strchr(user, '/') != NULL || strcmp(user, "shared") == 0))
		return cmd_complain("--user: not an account name: '%s'", user);
	libplace_dir(args->cfg, user, &dir);
	if (libplace_mkdirs(dir.data) == -1) {
		rc = cmd_complain(
		    "cannot make '%s': %s", dir.data, strerror(errno));
		goto out;
	}
	added = xcalloc((size_t)args->argc + 1, sizeof(*added));
	for (i = 0; i < args->argc; i++)
		if (add_one(args->argv[i], dir.data, &added[nadded]) == -1)
			rc = 1;
		else if (added[nadded] != NULL)
			nadded++;
	/* Only the new files are read, not the whole library. */
	if (library_index_sync(
	        args->cfg, (const char *const *)added, nadded, &out) == -1)
		rc = cmd_complain("library index: %s", out.data);
	else
		printf("%s\n", out.data);
	for (j = 0; j < nadded; j++)
		free(added[j]);
	free(added);
out:
	buf_release(&dir);
	buf_release(&out);
	return rc;
}

static int
cmd_library_share_exec(struct cmd_args *args)
{
	struct buf out = BUF_INIT;
	const char *onoff = args->argv[1];
	int rc;

	if (strcmp(onoff, "on") != 0 && strcmp(onoff, "off") != 0)
		return cmd_complain(
		    "library share: on or off, not '%s'", onoff);
	rc = library_share_sync(
	    args->cfg, args->argv[0], strcmp(onoff, "on") == 0, &out);
	if (rc == 0)
		printf("%s\n", out.data);
	else
		cmd_complain("library share: %s", out.data);
	buf_release(&out);
	return rc == 0 ? 0 : 1;
}

static void
status_print(void *arg, const struct library_status *st, const char *error)
{
	int *rc = arg;
	struct buf out = BUF_INIT;
	struct json_out j;

	if (st == NULL) {
		*rc = cmd_complain("library status: %s", error);
		return;
	}
	json_out_init(&j, &out, false);
	library_status_json(&j, st);
	printf("%s\n", out.data);
	buf_release(&out);
	*rc = 0;
}

static int
cmd_library_status_exec(struct cmd_args *args)
{
	int rc = 1;

	(void)library_status_sync(args->cfg, status_print, &rc);
	return rc;
}

static const struct cmd_option list_options[] = {
    {"user", true, "NAME", "Also the uploads of this account."},
    {"json", false, NULL, "One JSON object per book."},
    {NULL, false, NULL, NULL},
};

static const struct cmd_option add_options[] = {
    {"user", true, "NAME", "The account's upload (else shared by all)."},
    {NULL, false, NULL, NULL},
};

const struct cmd_entry cmd_library_scan_entry = {
    .name = "library scan",
    .args = "",
    .help = "Scan the library folders into the index now.",
    .min_args = 0,
    .max_args = 0,
    .exec = cmd_library_scan_exec,
};

const struct cmd_entry cmd_library_list_entry = {
    .name = "library list",
    .args = "",
    .help = "List the books of the library index.",
    .min_args = 0,
    .max_args = 0,
    .options = list_options,
    .exec = cmd_library_list_exec,
};

const struct cmd_entry cmd_library_add_entry = {
    .name = "library add",
    .args = "file...",
    .help = "Copy book files into the uploads folder and index them.",
    .min_args = 1,
    .max_args = -1,
    .options = add_options,
    .exec = cmd_library_add_exec,
};

const struct cmd_entry cmd_library_share_entry = {
    .name = "library share",
    .args = "book_id on|off",
    .help = "Share an upload with every account (on) or not (off).",
    .min_args = 2,
    .max_args = 2,
    .exec = cmd_library_share_exec,
};

const struct cmd_entry cmd_library_status_entry = {
    .name = "library status",
    .args = "",
    .help = "Print the library's folders, counts and skipped files.",
    .min_args = 0,
    .max_args = 0,
    .exec = cmd_library_status_exec,
};
