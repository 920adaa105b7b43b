/*
 * proxy.h: trusted reverse proxies and the client address they forward.
 *
 * The option trusted_proxies lists addresses and CIDR blocks
 * ("127.0.0.1, 10.0.0.0/8, fd00::/8"). Only when a request's TCP peer is
 * in that list are its X-Forwarded-For, X-Real-IP and X-Forwarded-Proto
 * headers believed; from anyone else they are ignored, so a client cannot
 * choose the address it is rate-limited and logged under.
 *
 * X-Forwarded-For (every such header, in order, as one comma-separated
 * list) is read from the right: each hop that is itself a trusted proxy is
 * skipped, and the first one that is not is the client. A hop that is not
 * a numeric address ends the walk (the last good hop stands). Without
 * X-Forwarded-For, a single X-Real-IP is used. X-Forwarded-Proto makes the
 * request HTTPS when every value it lists is "https".
 *
 * Pure functions: no I/O, no allocation after parsing.
 */
#ifndef KOSYNCD_PROXY_H
#define KOSYNCD_PROXY_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "http.h"

/* The longest trusted_proxies list, in entries. */
#define PROXY_MAX_ENTRIES 64
/* X-Forwarded-For hops examined from the right; more are ignored. */
#define PROXY_MAX_HOPS 32

struct proxy_list;

/*
 * Parse text (entries separated by commas and/or blanks; each an IPv4 or
 * IPv6 address, optionally with "/prefix"). Returns 0 with *out set (NULL
 * for an empty list), or -1 with the reason in why (naming the entry).
 */
int proxy_list_parse(
    const char *text, struct proxy_list **out, struct buf *why);
/* NULL is allowed. */
void proxy_list_free(struct proxy_list *pl);

/*
 * Whether addr (16 bytes; IPv4 as an IPv4-mapped IPv6 address) is in pl.
 * A NULL list matches nothing.
 */
bool proxy_list_match(const struct proxy_list *pl, const unsigned char *addr);

/*
 * Parse one numeric address ("192.0.2.1", "2001:db8::1", "[2001:db8::1]",
 * with blanks around it allowed) into 16 bytes as above. Returns false when
 * it is not one.
 */
bool proxy_parse_addr(struct str text, unsigned char addr[16]);

/*
 * Reduce addr (16 bytes, IPv4 as v4-mapped IPv6, as proxy_parse_addr
 * gives) to the client it is counted as: an IPv4 address stays whole, an
 * IPv6 address keeps its /64 prefix (the rest is zeroed), since one
 * subscriber usually holds a whole /64 and could otherwise pose as 2^64
 * clients. The one grouping for every per-address count: connections
 * (server.c) and the rate limits (ratelimit.c).
 */
void proxy_addr_group(unsigned char addr[16]);

/*
 * For a request whose TCP peer is a trusted proxy: replace peer (a string
 * of peer_size bytes holding the proxy's address) by the forwarded client
 * address in numeric form, when the headers give one, and set *is_https
 * from X-Forwarded-Proto. Never fails: unusable headers leave peer alone.
 */
void proxy_resolve(const struct proxy_list *pl, const struct http_header *h,
    size_t n, char *peer, size_t peer_size, bool *is_https);

#endif
