/*
 * cmd_book.c: `kosyncd book [--cover OUT.jpg] FILE...`: what the library
 * reads from book files, offline.
 *
 * For each FILE, one line of JSON on stdout: the file as named (bytes
 * that are no UTF-8 replaced by U+FFFD), its size,
 * its KOReader partial MD5 and the MD5 of its name (partialmd5.h), and
 * what bookmeta_read() found (bookmeta_json()); or, for a file the readers
 * refuse, "error": "refused" and the reason (also on stderr). With
 * --cover (one FILE), the cover's thumbnail (cover.h, within
 * --cover-size, default 400x600) is written to OUT.jpg. The exit status
 * is 1 when a file could not be opened or read, or was refused. The
 * command opens no store and needs no server.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bookmeta.h"
#include "cmd.h"
#include "cover.h"
#include "fileio.h"
#include "json.h"
#include "partialmd5.h"

/* Parse "WxH" within 1..COVER_MAX_SIDE. */
static int
parse_size(const char *s, int *w, int *h)
{
	char *end;
	long a, b;

	errno = 0;
	a = strtol(s, &end, 10);
	if (errno || end == s || *end != 'x')
		return -1;
	s = end + 1;
	b = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || a < 1 || b < 1 ||
	    a > COVER_MAX_SIDE || b > COVER_MAX_SIDE)
		return -1;
	*w = (int)a;
	*h = (int)b;
	return 0;
}

/* Write the thumbnail of m's cover to out_path; 0 or 1 (the status). */
static int
write_cover(const struct bookzip_src *src, const struct bookmeta *m,
    const struct bookmeta_limits *lim, const char *file, const char *out_path,
    int w, int h)
{
	struct buf img = BUF_INIT, jpg = BUF_INIT, why = BUF_INIT;
	int fd, rc = 1, got;

	got = bookmeta_cover_bytes(src, m, lim, &img, &why);
	if (got == 0) {
		cmd_complain("'%s' has no cover", file);
		goto out;
	}
	if (got < 0 ||
	    cover_thumbnail(img.data, img.len, w, h, &jpg, &why) < 0) {
		cmd_complain("the cover of '%s': %s", file, why.data);
		goto out;
	}
	fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		cmd_complain(
		    "cannot write '%s': %s", out_path, strerror(errno));
		goto out;
	}
	if (fileio_write_all(fd, jpg.data, jpg.len) < 0 || close(fd) < 0) {
		cmd_complain(
		    "cannot write '%s': %s", out_path, strerror(errno));
		unlink(out_path);
		goto out;
	}
	rc = 0;
out:
	buf_release(&img);
	buf_release(&jpg);
	buf_release(&why);
	return rc;
}

/* One FILE: its line on stdout. Returns the exit status, 0 or 1. */
static int
book_one(const char *file, const struct bookmeta_limits *lim, const char *cover,
    int w, int h)
{
	struct bookzip_src src;
	struct bookmeta m;
	struct buf out = BUF_INIT, why = BUF_INIT;
	struct json_out j;
	struct stat st;
	char pmd5[MD5_HEX_LEN + 1], nmd5[MD5_HEX_LEN + 1];
	int fd, rc = 1;

	fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return cmd_complain(
		    "cannot open '%s': %s", file, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return cmd_complain("'%s' is not a regular file", file);
	}
	if (partialmd5_fd(fd, pmd5) < 0) {
		cmd_complain("cannot read '%s': %s", file, strerror(errno));
		close(fd);
		return 1;
	}
	partialmd5_filename(file, nmd5);
	src.fd = fd;
	src.mem = NULL;
	src.size = (uint64_t)st.st_size;
	json_out_init(&j, &out, false);
	json_obj_begin(&j);
	json_key(&j, "file");
	if (json_utf8_valid(file, strlen(file))) {
		json_str(&j, file);
	} else {
		/* a name that is no UTF-8: its bytes repaired (U+FFFD) */
		struct buf name = BUF_INIT;

		bookmeta_text(&name, file, strlen(file), 4 * strlen(file), 0);
		json_str(&j, name.data);
		buf_release(&name);
	}
	json_key(&j, "size");
	json_uint(&j, (uint64_t)st.st_size);
	json_key(&j, "partial_md5");
	json_str(&j, pmd5);
	json_key(&j, "filename_md5");
	json_str(&j, nmd5);
	if (bookmeta_read(&src, file, lim, &m, &why) < 0) {
		json_key(&j, "format");
		json_str(&j, bookmeta_format_name(m.format));
		json_key(&j, "error");
		json_str(&j, "refused");
		json_key(&j, "reason");
		json_str(&j, why.data);
		cmd_complain("'%s' refused: %s", file, why.data);
	} else {
		bookmeta_json(&j, &m);
		rc = 0;
	}
	json_obj_end(&j);
	if (fwrite(out.data, 1, out.len, stdout) != out.len ||
	    fputc('\n', stdout) == EOF)
		rc = 1;
	if (rc == 0 && cover != NULL)
		rc = write_cover(&src, &m, lim, file, cover, w, h);
	bookmeta_release(&m);
	buf_release(&out);
	buf_release(&why);
	close(fd);
	return rc;
}

static int
cmd_book_exec(struct cmd_args *args)
{
	struct bookmeta_limits lim;
	const char *cover = NULL, *size = "400x600";
	int i, w, h, rc = 0;

	bookmeta_limits_default(&lim);
	if (!cmd_option(args, "cover", &cover))
		cover = NULL;
	if (!cmd_option(args, "cover-size", &size))
		size = "400x600";
	if (parse_size(size, &w, &h) < 0)
		return cmd_complain("--cover-size: not WxH, each from 1 to %d: "
		                    "'%s'",
		    COVER_MAX_SIDE, size);
	if (cover != NULL && args->argc != 1)
		return cmd_complain("--cover takes one FILE");
	for (i = 0; i < args->argc; i++)
		rc |= book_one(args->argv[i], &lim, cover, w, h);
	return rc;
}

static const struct cmd_option book_options[] = {
    {"cover", true, "OUT.jpg",
        "Write the cover's thumbnail as a JPEG (one FILE only)."},
    {"cover-size", true, "WxH",
        "The box the thumbnail fits in (default 400x600)."},
    {NULL, false, NULL, NULL},
};

const struct cmd_entry cmd_book_entry = {
    .name = "book",
    .args = "file...",
    .help = "Print what the library reads from book files, as JSON.",
    .min_args = 1,
    .max_args = -1,
    .flags = CMD_NO_ENV,
    .options = book_options,
    .exec = cmd_book_exec,
};
