/*
 * tzif.h: time zones from the system's TZif files (RFC 8536), without
 * the C library's process-global TZ.
 *
 * localtime() and setenv("TZ") share one zone for the whole process and
 * are not thread-safe to switch, so each account's zone is loaded here
 * instead: tz_load() reads /usr/share/zoneinfo/<name> (Debian's tzdata)
 * once, tz_parse() checks every count and index against the bytes and
 * fixed bounds, and tz_offset() answers from the transitions, then from
 * the POSIX TZ rule at the end of the file for instants after the last
 * transition (2037 in Debian's files, much earlier in "slim" ones). A
 * struct tz is read-only once made: any number of threads may use it.
 *
 * Also here: the proleptic Gregorian calendar (days since 1970-01-01 and
 * back) that the rules and the statistics both need.
 *
 * Not here: leap seconds (ignored, as POSIX time does), and zones given
 * as a POSIX TZ string alone.
 */
#ifndef KOSYNCD_TZIF_H
#define KOSYNCD_TZIF_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define TZ_DIR "/usr/share/zoneinfo"
#define TZ_MAX_NAME 64 /* "America/Argentina/ComodRivadavia" is 32 */
#define TZ_MAX_FILE ((size_t)64 * 1024) /* Debian's largest is under 4 KiB */
#define TZ_MAX_TIMES 4096 /* transitions (fat files: a few hundred) */
#define TZ_MAX_TYPES 256  /* local time types */
#define TZ_MAX_CHARS 1024 /* abbreviation bytes */
#define TZ_MAX_LEAPS 512  /* leap second records */

struct tz;

/*
 * Parse len bytes of a TZif file (versions 1 to 4). Returns a new zone, or
 * NULL with a one-line reason appended to err when the bytes are not a
 * well-formed TZif file within the bounds above. A footer rule that this
 * parser does not understand is a refusal too.
 */
struct tz *tz_parse(const void *data, size_t len, struct buf *err);

/*
 * Load the zone named name (an IANA name such as "Europe/Berlin", or
 * "UTC") from TZ_DIR. The name must be 1..TZ_MAX_NAME bytes of letters,
 * digits and "/_-+.", with no empty, "." or ".." component. Returns NULL
 * with the reason in err when the name is refused, the file is missing or
 * it does not parse.
 */
struct tz *tz_load(const char *name, struct buf *err);

/* A zone that is UTC all the time. */
struct tz *tz_utc(void);

void tz_free(struct tz *tz);

/* The offset from UTC, in seconds east, in force at Unix time t. */
int32_t tz_offset(const struct tz *tz, int64_t t);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
int64_t tz_days_from_civil(int64_t y, unsigned m, unsigned d);

/* The date of a day number (the inverse of tz_days_from_civil). */
void tz_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* The weekday of a day number: 0 Sunday .. 6 Saturday. */
unsigned tz_weekday(int64_t days);

#endif
