/*
 * store_redis.h: helpers of the Redis backend shared with its commands.
 *
 * The backend itself is opened through store_open() (store_backend.h
 * declares store_redis_open); see store_redis.c for the key layout.
 */
#ifndef KOSYNCD_STORE_REDIS_H
#define KOSYNCD_STORE_REDIS_H

/*
 * Split a redis_address: "unix:/path" sets *path; a numeric "host:port"
 * or "[v6addr]:port" sets *host (the address without brackets) and *port.
 * The strings are heap copies for the caller; the other is NULL. Returns 0,
 * or -1 when text is not such an address.
 */
int store_redis_parse_address(
    const char *text, char **host, int *port, char **path);

#endif
