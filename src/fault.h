/*
 * fault.h: fault injection for tests (sqlite-style "make the Nth call fail").
 *
 * Only test builds (KOSYNCD_TESTING) contain the injector; in other builds
 * fault_check() is an inline 0 that the compiler removes, so call sites cost
 * nothing in production.
 *
 * A call site asks before the real call:
 *
 *	if ((err = fault_check(FAULT_WRITE)) != 0) {
 *		errno = err;
 *		n = -1;
 *	} else
 *		n = write(fd, p, len);
 *
 * Each point counts its calls from 1. A point is armed from the
 * environment, read once on the first fault_check() of the process:
 *
 *	KOSYNCD_TEST_FAULT_WRITE=N[+][:ERRNO]
 *
 * (also _FSYNC, _MALLOC, _OPEN, _RENAME, _SNAPSHOT, _DAV_COMMIT, _DAV_WEB,
 * _LIBRARY_WATCH; config.c ignores KOSYNCD_TEST_*)
 *
 * makes the Nth call fail ("N+": the Nth and every later one) with ERRNO,
 * one of EIO (default), ENOSPC, EROFS, EDQUOT, ENOMEM, EACCES. Unit tests
 * arm points directly with fault_set(). Counting and firing are thread-safe
 * (the journal writes on a thread of its own).
 *
 * Not responsible for deciding what a call site does with the failure; that
 * is exactly the error path under test.
 *
 * Layer core (src/LAYERS): a low-level primitive. It uses no other header of
 * kosyncd, so that any module may use it.
 */
#ifndef KOSYNCD_FAULT_H
#define KOSYNCD_FAULT_H

#include <stdbool.h>

enum fault_point {
	FAULT_WRITE = 0, /* write/pwrite of the journal and snapshots */
	FAULT_FSYNC,     /* fsync/fdatasync */
	FAULT_MALLOC, /* argon2 memory (keyhash.c); xmalloc aborts by design */
	FAULT_OPEN,   /* open/creat of data files */
	FAULT_RENAME, /* fileio_replace's rename (database.json, an export) */
	FAULT_SNAPSHOT, /* fileio_replace writing and syncing its temp file */
	/*
	 * A WebDAV upload's commit (dav.c commit_step): when it fires, the
	 * commit waits a second between its check of If-Match and the
	 * commit itself, a window for tests to race another upload into.
	 */
	FAULT_DAV_COMMIT,
	/*
	 * The web API's storage work on the WebDAV files (davweb.c, run by
	 * dav_offload): when it fires, it waits a second before it starts
	 * (on the thread pool with Redis), a window for tests to stop Redis
	 * in.
	 */
	FAULT_DAV_WEB,
	/*
	 * An inotify watch of a library folder (library.c watch_update):
	 * when it fires, the folders are rescanned periodically instead.
	 */
	FAULT_LIBRARY_WATCH,
	FAULT_NPOINTS
};

#ifdef KOSYNCD_TESTING
/*
 * Count one call at point p and return the errno to fail it with, or 0 to
 * let it proceed.
 */
int fault_check(enum fault_point p);

/*
 * Arm point p: the nth call from now (1 = the next) fails with err (0
 * means EIO); when sticky, every later call fails too. n == 0 disarms the
 * point. Resets the point's counter.
 */
void fault_set(enum fault_point p, unsigned long n, bool sticky, int err);

/* Disarm every point and reset every counter (environment included). */
void fault_reset(void);

/* Calls counted at point p so far. */
unsigned long fault_count(enum fault_point p);
#else
static inline int
fault_check(enum fault_point p)
{
	(void)p;
	return 0;
}
#endif

#endif
