/*
 * fault.c: the test-build fault injector (see fault.h).
 *
 * Each point has a call counter, the call number that fails, a sticky flag
 * and an errno. Counters are atomics, so the journal's writer thread and the
 * loop can both count; arming is done by tests while no I/O is running, or
 * from the environment once per process.
 *
 * Compiled to nothing outside KOSYNCD_TESTING builds.
 */
#ifdef KOSYNCD_TESTING

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"

struct fault_arm {
	atomic_ulong calls;
	atomic_ulong fail_at; /* 0: disarmed */
	atomic_bool sticky;
	atomic_int err;
};

static struct fault_arm arms[FAULT_NPOINTS];
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static const char *const point_env[FAULT_NPOINTS] = {
    [FAULT_WRITE] = "KOSYNCD_TEST_FAULT_WRITE",
    [FAULT_FSYNC] = "KOSYNCD_TEST_FAULT_FSYNC",
    [FAULT_MALLOC] = "KOSYNCD_TEST_FAULT_MALLOC",
    [FAULT_OPEN] = "KOSYNCD_TEST_FAULT_OPEN",
    [FAULT_RENAME] = "KOSYNCD_TEST_FAULT_RENAME",
    [FAULT_SNAPSHOT] = "KOSYNCD_TEST_FAULT_SNAPSHOT",
    [FAULT_DAV_COMMIT] = "KOSYNCD_TEST_FAULT_DAV_COMMIT",
    [FAULT_DAV_WEB] = "KOSYNCD_TEST_FAULT_DAV_WEB",
    [FAULT_LIBRARY_WATCH] = "KOSYNCD_TEST_FAULT_LIBRARY_WATCH",
};

static const struct {
	const char *name;
	int err;
} errnames[] = {
    {"EIO", EIO},
    {"ENOSPC", ENOSPC},
    {"EROFS", EROFS},
    {"EDQUOT", EDQUOT},
    {"ENOMEM", ENOMEM},
    {"EACCES", EACCES},
};

static void
arm(enum fault_point p, unsigned long n, bool sticky, int err)
{
	atomic_store(&arms[p].calls, 0);
	atomic_store(&arms[p].sticky, sticky);
	atomic_store(&arms[p].err, err != 0 ? err : EIO);
	atomic_store(&arms[p].fail_at, n);
}

/* Parse "N[+][:ERRNO]"; a malformed value leaves the point disarmed. */
static void
env_arm(enum fault_point p, const char *v)
{
	unsigned long n;
	bool sticky = false;
	char *end;
	size_t i;
	int err = EIO;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || end == v || n == 0)
		return;
	if (*end == '+') {
		sticky = true;
		end++;
	}
	if (*end == ':') {
		end++;
		for (i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
			if (strcmp(end, errnames[i].name) == 0)
				break;
		if (i == sizeof(errnames) / sizeof(errnames[0]))
			return;
		err = errnames[i].err;
	} else if (*end != '\0')
		return;
	arm(p, n, sticky, err);
}

static void
env_init(void)
{
	const char *v;
	int p;

	for (p = 0; p < FAULT_NPOINTS; p++)
		if ((v = getenv(point_env[p])) != NULL)
			env_arm((enum fault_point)p, v);
}

int
fault_check(enum fault_point p)
{
	unsigned long n, at;

	pthread_once(&env_once, env_init);
	n = atomic_fetch_add(&arms[p].calls, 1) + 1;
	at = atomic_load(&arms[p].fail_at);
	if (at == 0 || n < at)
		return 0;
	if (n == at || atomic_load(&arms[p].sticky))
		return atomic_load(&arms[p].err);
	return 0;
}

void
fault_set(enum fault_point p, unsigned long n, bool sticky, int err)
{
	pthread_once(&env_once, env_init);
	arm(p, n, sticky, err);
}

void
fault_reset(void)
{
	int p;

	pthread_once(&env_once, env_init);
	for (p = 0; p < FAULT_NPOINTS; p++)
		arm((enum fault_point)p, 0, false, 0);
}

unsigned long
fault_count(enum fault_point p)
{
	return atomic_load(&arms[p].calls);
}

#else
/* ISO C forbids an empty translation unit. */
typedef int fault_unused;
#endif
