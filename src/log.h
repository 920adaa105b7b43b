/*
 * log.h: diagnostics on stderr.
 *
 * log_warn appends strerror(errno); log_warnx does not. log_debug prints
 * only when verbose logging is on (enable_debug_log) and its lines start
 * with the calling function's name. fatal/fatalx print and exit(1): they are
 * for start-up and broken invariants only, never for bad input.
 *
 * Untrusted strings (paths, user names, header values) must pass through
 * log_escape before they reach a format. Keys, passwords and request bodies
 * are never logged.
 *
 * Layer core (src/LAYERS): a low-level primitive. It uses no other header of
 * kosyncd than buf.h, and should interact only with other low-level
 * primitives, so that any module may use it.
 */
#ifndef KOSYNCD_LOG_H
#define KOSYNCD_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

void log_init(bool on);
bool log_is_verbose(void);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One access-log line (level word "access"); written by server.c. */
void log_access(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug_(const char *func, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#define log_debug(...)                                                         \
	do {                                                                   \
		if (log_is_verbose())                                          \
			log_debug_(__func__, __VA_ARGS__);                     \
	} while (0)
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Append s to out with every byte outside printable ASCII, and '"' and
 * '\\', written as \xNN, and cut after max bytes of input with "...".
 */
void log_escape(struct buf *out, struct str s, size_t max);

/* The most bytes log_escape writes for len bytes of input cut at max. */
#define LOG_ESCAPE_SIZE(len, max) (4 * ((len) < (max) ? (len) : (max)) + 3)

/*
 * log_escape into p, which has room for LOG_ESCAPE_SIZE(s.len, max)
 * bytes; returns the end of what it wrote (no '\0').
 */
char *log_escape_to(char *p, struct str s, size_t max);

#endif
