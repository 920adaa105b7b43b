/*
 * log.c: diagnostics on stderr, one line per call, with a UTC timestamp.
 * Not responsible for the access log's content (server.c builds it); it only
 * provides the line writer and the escaping of untrusted strings.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static bool verbose;

void
log_init(bool on)
{
	verbose = on;
}

bool
log_is_verbose(void)
{
	return verbose;
}

/* Write "<time> <level>: <message>[: <strerror>]\n" in one write. */
static void
vlog(const char *level, const char *func, const char *err, const char *fmt,
    va_list ap)
{
	struct buf line = BUF_INIT;
	struct timespec ts;
	struct tm tm;
	char when[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	buf_addf(&line, "%s.%03ldZ %s: ", when, ts.tv_nsec / 1000000, level);
	if (func != NULL)
		buf_addf(&line, "%s: ", func);
	buf_vaddf(&line, fmt, ap);
	if (err != NULL)
		buf_addf(&line, ": %s", err);
	buf_addch(&line, '\n');
	fwrite(line.data, 1, line.len, stderr);
	fflush(stderr);
	buf_release(&line);
}

void
log_warn(const char *fmt, ...)
{
	const char *err = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	vlog("warning", NULL, err, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("warning", NULL, NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("info", NULL, NULL, fmt, ap);
	va_end(ap);
}

void
log_access(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("access", NULL, NULL, fmt, ap);
	va_end(ap);
}

void
log_debug_(const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("debug", func, NULL, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	const char *err = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", NULL, err, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", NULL, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

char *
log_escape_to(char *p, struct str s, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, slow = 0, n = s.len < max ? s.len : max;
	unsigned char c;

	/* Bytes that need no escape are copied eight at a time up to the
	 * word that holds one to escape (as json_escape); that word and the
	 * tail a byte at a time. */
	while (i < n) {
		if (i >= slow) {
			for (; i + 8 <= n && str_word_plain(s.p + i, true);
			     i += 8, p += 8)
				memcpy(p, s.p + i, 8);
			if (i == n)
				break;
			slow = i + 8;
		}
		c = (unsigned char)s.p[i++];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			*p++ = (char)c;
			continue;
		}
		p[0] = '\\';
		p[1] = 'x';
		p[2] = hex[c >> 4];
		p[3] = hex[c & 15];
		p += 4;
	}
	if (s.len > max) {
		p[0] = p[1] = p[2] = '.';
		p += 3;
	}
	return p;
}

void
log_escape(struct buf *out, struct str s, size_t max)
{
	char *end;

	buf_grow(out, LOG_ESCAPE_SIZE(s.len, max));
	end = log_escape_to(out->data + out->len, s, max);
	out->len = (size_t)(end - out->data);
	out->data[out->len] = '\0';
}
