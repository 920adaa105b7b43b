/*
 * redis_sync.c: blocking Redis commands on a connection per thread
 * (redis_sync.h).
 *
 * The connection is a thread-local hiredis context: the loop thread and
 * each thread of libuv's pool have their own, so no lock is needed and a
 * command never waits for another thread's. They live as long as their
 * thread.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "buf.h"
#include "log.h"
#include "redis_sync.h"
#include "redis_worker.h"

static _Thread_local redisContext *rs_conn;
static _Thread_local uint64_t rs_failed_ms;

static uint64_t
rs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* This thread's connection: NULL with errno ENOTCONN when none. */
static redisContext *
rs_get(const struct config *cfg, const char *what)
{
	struct buf err = BUF_INIT;
	struct timeval tv = {REDIS_SYNC_TIMEOUT_MS / 1000,
	    (suseconds_t)(REDIS_SYNC_TIMEOUT_MS % 1000) * 1000};

	if (rs_conn != NULL)
		return rs_conn;
	if (rs_failed_ms != 0 &&
	    rs_now_ms() - rs_failed_ms < REDIS_SYNC_RETRY_MS) {
		errno = ENOTCONN;
		return NULL;
	}
	rs_conn = redis_worker_connect(cfg, &err);
	if (rs_conn == NULL) {
		/* One form for every failed connection (its cause after). */
		if (strncmp(err.data, "cannot connect", 14) == 0)
			log_warnx("%s: redis: %s", what, err.data);
		else
			log_warnx(
			    "%s: redis: cannot connect: %s", what, err.data);
		rs_failed_ms = rs_now_ms();
		errno = ENOTCONN;
	} else {
		redisSetTimeout(rs_conn, tv);
		rs_failed_ms = 0;
	}
	buf_release(&err);
	return rs_conn;
}

struct redisReply *
redis_sync_cmd(const struct config *cfg, const char *what, int argc,
    const char **argv, const size_t *lens)
{
	redisContext *c = rs_get(cfg, what);
	redisReply *r;

	if (c == NULL)
		return NULL;
	r = redisCommandArgv(c, argc, argv, lens);
	if (r == NULL) {
		log_warnx("%s: redis: %s", what, c->errstr);
		redisFree(c);
		rs_conn = NULL;
		rs_failed_ms = rs_now_ms(); /* it may hang: wait to retry */
		errno = ENOTCONN;
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		log_warnx("%s: redis: %s", what, r->str);
		freeReplyObject(r);
		errno = EIO;
		return NULL;
	}
	return r;
}
