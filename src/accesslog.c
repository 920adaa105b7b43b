/*
 * accesslog.c: the access log (see accesslog.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accesslog.h"
#include "log.h"

/* A buffer larger than this is freed, not kept, once written. */
#define KEEP_BUF_BYTES ((size_t)16 * 1024)

void
accesslog_init(struct accesslog *al)
{
	memset(al, 0, sizeof(*al));
	buf_init(&al->lines);
	al->fd = STDERR_FILENO;
	al->piece_fd = -1;
	al->max_bytes = ACCESSLOG_MAX_BYTES;
	al->max_ms = ACCESSLOG_MAX_MS;
}

/*
 * Write all of data to fd, waiting when it is full (a non-blocking
 * descriptor someone else shares gives EAGAIN: wait for it to drain).
 * Returns -1 when fd cannot take it at all (its reader gone).
 */
static int
write_all(int fd, const char *data, size_t len)
{
	struct pollfd pfd;
	ssize_t n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			pfd.revents = 0;
			if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
				return -1;
			continue;
		}
		return -1;
	}
	return 0;
}

/*
 * Write the lines of data to fd in pieces of at most piece bytes (0: one
 * piece), each ending at a line's end; a line longer than piece goes
 * alone. On a pipe, piece is PIPE_BUF: each write is then atomic (all of
 * it or, non-blocking, EAGAIN), so no line is split between two writes
 * and another writer to the same pipe never lands inside one.
 */
static int
write_lines(int fd, const char *data, size_t len, size_t piece)
{
	size_t n;

	while (len > 0) {
		n = len;
		if (piece > 0 && n > piece) {
			n = piece;
			while (n > 0 && data[n - 1] != '\n')
				n--;
			if (n == 0) {
				const char *nl = memchr(data, '\n', len);

				n = nl != NULL ? (size_t)(nl - data) + 1 : len;
			}
		}
		if (write_all(fd, data, n) == -1)
			return -1;
		data += n;
		len -= n;
	}
	return 0;
}

void
accesslog_flush(struct accesslog *al)
{
	struct stat st;

	if (al->lines.len == 0)
		return;
	if (al->piece_fd != al->fd) {
		al->piece_fd = al->fd;
		al->piece = fstat(al->fd, &st) == 0 && S_ISFIFO(st.st_mode)
		                ? (size_t)PIPE_BUF
		                : 0;
	}
	/* stdio's lock: log.c's fwrite(stderr) from another thread waits. */
	flockfile(stderr);
	(void)write_lines(al->fd, al->lines.data, al->lines.len, al->piece);
	funlockfile(stderr);
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

/* Write the decimal digits of v at p, zero-padded to at least width
 * (at most 20); returns their end. */
static char *
put_digits(char *p, uint64_t v, int width)
{
	uint64_t t = v;
	int n = 1;
	char *end;

	while (t >= 10) {
		t /= 10;
		n++;
	}
	if (n < width)
		n = width;
	end = p + n;
	p = end;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (--n > 0);
	return end;
}

/* What follows the milliseconds (no '\0': it is copied into a line). */
static const char access_tag[10] = "Z access: ";

/*
 * Write "<UTC time> access: " at p (the stamp and 14 bytes), the date part
 * cached per second; *ts_out is that time. Returns the end.
 */
static char *
put_stamp(struct accesslog *al, char *p, struct timespec *ts_out)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	*ts_out = ts;
	if (ts.tv_sec != al->stamp_sec) {
		gmtime_r(&ts.tv_sec, &tm);
		al->stamp_len = strftime(
		    al->stamp, sizeof(al->stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		al->stamp_sec = ts.tv_sec;
	}
	memcpy(p, al->stamp, al->stamp_len);
	p += al->stamp_len;
	*p++ = '.';
	p = put_digits(p, (uint64_t)ts.tv_nsec / 1000000, 3);
	memcpy(p, access_tag, sizeof(access_tag));
	return p + sizeof(access_tag);
}

/* The batch is due: max_bytes long, or its oldest line max_ms old at now
 * (or the clock went back). */
static bool
batch_due(const struct accesslog *al, const struct timespec *now)
{
	int64_t ms;

	if (al->max_bytes > 0 && al->lines.len >= al->max_bytes)
		return true;
	if (al->max_ms <= 0)
		return false;
	ms = ((int64_t)now->tv_sec - (int64_t)al->first.tv_sec) * 1000 +
	     ((int64_t)now->tv_nsec - (int64_t)al->first.tv_nsec) / 1000000;
	return ms >= al->max_ms || ms < 0;
}

/* The most bytes of a line but its stamp, peer and escaped fields: the
 * ".mmmZ access: " 14, 6 spaces, status, bytes and seconds 3 x 20, '.',
 * milliseconds 3, '\n' (and room to spare). */
#define LINE_FIXED_MAX 96

/* An escaped field of the line: "-" when empty. */
static char *
put_field(char *p, struct str s, size_t max)
{
	if (s.len == 0) {
		*p = '-';
		return p + 1;
	}
	return log_escape_to(p, s, max);
}

void
accesslog_add(struct accesslog *al, const char *peer,
    const struct http_request *req, int status, size_t bytes, uint64_t us)
{
	struct buf own = BUF_INIT, *out;
	struct str method = STR_NULL, path = STR_NULL, user = STR_NULL;
	struct timespec now;
	struct str client = str_from(peer);
	bool was_empty;
	char *p;

	if (req != NULL) {
		method = req->method_name;
		path = req->path;
		user = req->log_user;
	}
	out = al != NULL ? &al->lines : &own;
	/* One reservation for the whole line, then direct writes. */
	buf_grow(out, sizeof(al->stamp) + LINE_FIXED_MAX + client.len +
	                  LOG_ESCAPE_SIZE(method.len, 20) +
	                  LOG_ESCAPE_SIZE(path.len, 200) +
	                  LOG_ESCAPE_SIZE(user.len, 200));
	was_empty = out->len == 0;
	p = out->data + out->len;
	if (al != NULL)
		p = put_stamp(al, p, &now);
	memcpy(p, client.p, client.len);
	p += client.len;
	*p++ = ' ';
	p = put_field(p, method, 20);
	*p++ = ' ';
	p = put_field(p, path, 200);
	*p++ = ' ';
	p = put_digits(p, (uint64_t)status, 1);
	*p++ = ' ';
	p = put_digits(p, bytes, 1);
	*p++ = ' ';
	p = put_digits(p, us / 1000, 1);
	*p++ = '.';
	p = put_digits(p, us % 1000, 3);
	*p++ = ' ';
	p = put_field(p, user, 200);
	if (al != NULL)
		*p++ = '\n';
	out->len = (size_t)(p - out->data);
	out->data[out->len] = '\0';
	if (al != NULL) {
		if (was_empty)
			al->first = now;
		if (batch_due(al, &now))
			accesslog_flush(al);
		return;
	}
	/* No collector (the server is gone): write the line directly. */
	log_access("%s", own.data);
	buf_release(&own);
}
