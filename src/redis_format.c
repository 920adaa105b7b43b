/*
 * redis_format.c: see redis_format.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_format.h"

void
store_redis_glob_escape(struct buf *b, struct str s)
{
	size_t i;

	for (i = 0; i < s.len; i++) {
		if (strchr("*?[]\\", s.p[i]) != NULL)
			buf_addch(b, '\\');
		buf_addch(b, s.p[i]);
	}
}

/*
 * The official server writes percentages with %.14g, which every value
 * KOReader sends (four decimals) survives. A value that %.14g would round
 * gets the fewest digits (up to 17) that read back as the same double, so
 * that a push reads back exactly as on the file backend.
 */
void
store_redis_format_percentage(char *out, size_t size, double v)
{
	int prec;

	for (prec = 14; prec <= 17; prec++) {
		snprintf(out, size, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

int
store_redis_devname_parse(
    const char *v, size_t len, int64_t *forgotten, struct str *name)
{
	const char *sp = len > 0 ? memchr(v, ' ', len) : NULL;
	int64_t t = 0;
	const char *p;

	if (sp == NULL || sp == v)
		return -1;
	for (p = v; p < sp; p++) {
		if (*p < '0' || *p > '9' || t > (INT64_MAX - 9) / 10)
			return -1;
		t = t * 10 + (*p - '0');
	}
	*forgotten = t;
	*name = (struct str){sp + 1, len - (size_t)(sp + 1 - v)};
	return 0;
}
