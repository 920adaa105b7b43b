/*
 * redis_uv.h: hiredis's asynchronous API on a libuv loop.
 *
 * Our own adapter rather than hiredis's adapters/libuv.h: when a socket
 * reports an error (POLLERR, e.g. a connection refused while connecting,
 * or a reset), libuv stops the poll handle and calls back with a negative
 * status and no events; the bundled adapter returns there, so hiredis never
 * learns that the connection failed: no connect or disconnect callback ever
 * runs and the context leaks. This adapter hands such an error to hiredis
 * as a read and write event, so hiredis performs the socket call, sees the
 * error and runs its callbacks (connect with REDIS_ERR, or every pending
 * reply with NULL and then disconnect).
 *
 * Not here: connecting, timeouts, reconnecting (the Redis store does that).
 *
 * Layer core (src/LAYERS): a low-level primitive. It uses no other header of
 * kosyncd than xmalloc.h, and should interact only with other low-level
 * primitives, so that any module may use it.
 */
#ifndef KOSYNCD_REDIS_UV_H
#define KOSYNCD_REDIS_UV_H

#include <hiredis/async.h>
#include <uv.h>

/*
 * Attach ac (its socket already created, without error) to loop. The
 * adapter's memory is freed after hiredis frees the context (its cleanup
 * hook closes the poll handle). Returns 0, or -1 when ac is already
 * attached or the socket cannot be polled (then ac is unchanged).
 */
int redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop);

#endif
