/*
 * accesslog.c: the access log (see accesslog.h).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "accesslog.h"
#include "log.h"

/* A buffer larger than this is freed, not kept, once written. */
#define KEEP_BUF_BYTES ((size_t)16 * 1024)

void
accesslog_init(struct accesslog *al)
{
	memset(al, 0, sizeof(*al));
	buf_init(&al->lines);
}

void
accesslog_flush(struct accesslog *al)
{
	if (al->lines.len == 0)
		return;
	fwrite(al->lines.data, 1, al->lines.len, stderr);
	fflush(stderr);
	if (al->lines.len > KEEP_BUF_BYTES)
		buf_release(&al->lines);
	else
		buf_reset(&al->lines);
}

void
accesslog_release(struct accesslog *al)
{
	buf_release(&al->lines);
}

/* Append the decimal digits of v, zero-padded to at least width. */
static void
add_digits(struct buf *out, uint64_t v, int width)
{
	char tmp[24];
	int i = (int)sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 || (int)sizeof(tmp) - i < width);
	buf_add(out, tmp + i, sizeof(tmp) - (size_t)i);
}

/* Append "<UTC time> access: " to out, the date part cached per second. */
static void
add_stamp(struct accesslog *al, struct buf *out)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != al->stamp_sec) {
		gmtime_r(&ts.tv_sec, &tm);
		strftime(
		    al->stamp, sizeof(al->stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		al->stamp_sec = ts.tv_sec;
	}
	buf_adds(out, al->stamp);
	buf_addch(out, '.');
	add_digits(out, (uint64_t)ts.tv_nsec / 1000000, 3);
	buf_add(out, "Z access: ", 10);
}

void
accesslog_add(struct accesslog *al, const char *peer,
    const struct http_request *req, int status, size_t bytes, uint64_t us)
{
	struct buf own = BUF_INIT, *out;

	out = al != NULL ? &al->lines : &own;
	if (al != NULL)
		add_stamp(al, out);
	buf_adds(out, peer);
	buf_addch(out, ' ');
	if (req != NULL && req->method_name.len > 0)
		log_escape(out, req->method_name, 20);
	else
		buf_addch(out, '-');
	buf_addch(out, ' ');
	if (req != NULL && req->path.len > 0)
		log_escape(out, req->path, 200);
	else
		buf_addch(out, '-');
	buf_addch(out, ' ');
	add_digits(out, (uint64_t)status, 1);
	buf_addch(out, ' ');
	add_digits(out, bytes, 1);
	buf_addch(out, ' ');
	add_digits(out, us / 1000, 1);
	buf_addch(out, '.');
	add_digits(out, us % 1000, 3);
	buf_addch(out, ' ');
	if (req != NULL && req->log_user.len > 0)
		log_escape(out, req->log_user, 200);
	else
		buf_addch(out, '-');
	if (al != NULL) {
		buf_addch(out, '\n');
		return;
	}
	/* No collector (the server is gone): write the line directly. */
	log_access("%s", own.data);
	buf_release(&own);
}
