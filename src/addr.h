/*
 * addr.h: the network addresses that kosyncd's options write, parsed in one
 * place: listen_address and metrics_listen ("host:port", ":port", "*:port",
 * "[v6addr]:port") and redis_address (the same with an explicit host and a
 * port other than 0, or "unix:/path").
 *
 * Only numeric hosts are accepted: a static binary cannot resolve names.
 *
 * Not here: opening sockets, servers, stores.
 *
 * Layer core (src/LAYERS): a low-level primitive. It uses no other header of
 * kosyncd than xmalloc.h, and should interact only with other low-level
 * primitives, so that any module may use it.
 */
#ifndef KOSYNCD_ADDR_H
#define KOSYNCD_ADDR_H

#include <stdbool.h>

#include <sys/socket.h>

/*
 * Parse a listen address into *out: "host:port", ":port" or "*:port" (every
 * address: IPv6 any, which also takes IPv4; see addr_is_any), or
 * "[v6addr]:port". Port 0 is allowed (the kernel picks one). Returns 0, or
 * -1 with *err set to a static message.
 */
int addr_parse_listen(
    const char *text, struct sockaddr_storage *out, const char **err);

/*
 * Whether text (an address that addr_parse_listen accepted) names every
 * address without brackets (":port", "*:port"): a server may fall back to
 * every IPv4 address when the host has no IPv6.
 */
bool addr_is_any(const char *text);

/*
 * Split an address to connect to: "unix:/path" (a non-empty path) sets
 * *path; a numeric "host:port" or "[v6addr]:port" with a port other than 0
 * sets *host (the address without brackets) and *port. The strings are heap
 * copies for the caller; the other is NULL. Returns 0, or -1 with *err set
 * to a static message (and *host, *path NULL).
 */
int addr_parse_connect(
    const char *text, char **host, int *port, char **path, const char **err);

/* Whether text is written as a Unix socket address ("unix:..."). */
bool addr_is_unix(const char *text);

#endif
