/*
 * proxy.c: the trusted_proxies list and forwarded client addresses (see
 * proxy.h).
 *
 * Every address is kept as 16 bytes, IPv4 as IPv4-mapped IPv6, and an
 * IPv4 prefix as that plus 96 bits, so one comparison serves both
 * families.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "proxy.h"
#include "xmalloc.h"

struct proxy_net {
	unsigned char addr[16];
	unsigned prefix; /* bits, 0..128 */
};

struct proxy_list {
	size_t n;
	struct proxy_net nets[];
};

static const unsigned char v4mapped[12] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Dotted-quad IPv4 as inet_ntop writes it (four decimal numbers up to 255,
 * no leading zeros, nothing else) into a4, without inet_pton's copy and
 * call: the client addresses of every request take this way. inet_pton
 * accepts all of it alike; anything else (false) is left to it.
 */
static bool
parse_ipv4_plain(struct str t, unsigned char a4[4])
{
	const char *p = t.p, *end = t.p + t.len;
	unsigned part, v, d;

	for (part = 0;; part++) {
		if (p == end || (d = (unsigned char)*p - '0') > 9)
			return false;
		v = d;
		/* More digits after a first non-zero one, up to 255. */
		while (++p != end && (d = (unsigned char)*p - '0') <= 9)
			if (v == 0 || (v = v * 10 + d) > 255)
				return false;
		a4[part] = (unsigned char)v;
		if (part == 3)
			return p == end;
		if (p == end || *p++ != '.')
			return false;
	}
}

bool
proxy_parse_addr(struct str text, unsigned char addr[16])
{
	struct str t = text;
	char tmp[64];
	unsigned char a4[4];

	while (t.len > 0 && is_blank(t.p[0])) {
		t.p++;
		t.len--;
	}
	while (t.len > 0 && is_blank(t.p[t.len - 1]))
		t.len--;
	if (t.len >= 2 && t.p[0] == '[' && t.p[t.len - 1] == ']') {
		t.p++;
		t.len -= 2;
	}
	if (parse_ipv4_plain(t, a4)) {
		memcpy(addr, v4mapped, 12);
		memcpy(addr + 12, a4, 4);
		return true;
	}
	if (t.len == 0 || t.len >= sizeof(tmp))
		return false;
	memcpy(tmp, t.p, t.len);
	tmp[t.len] = '\0';
	if (inet_pton(AF_INET, tmp, a4) == 1) {
		memcpy(addr, v4mapped, 12);
		memcpy(addr + 12, a4, 4);
		return true;
	}
	return inet_pton(AF_INET6, tmp, addr) == 1;
}

void
proxy_addr_group(unsigned char addr[16])
{
	if (memcmp(addr, v4mapped, 12) != 0)
		memset(addr + 8, 0, 8);
}

/* Parse one entry ("addr" or "addr/prefix") into *net. */
static int
parse_entry(struct str e, struct proxy_net *net)
{
	const char *slash = memchr(e.p, '/', e.len);
	struct str a = e;
	unsigned long bits;
	bool v4;
	size_t i;

	if (slash != NULL)
		a.len = (size_t)(slash - e.p);
	if (!proxy_parse_addr(a, net->addr))
		return -1;
	v4 = memcmp(net->addr, v4mapped, 12) == 0 &&
	     memchr(a.p, ':', a.len) == NULL;
	net->prefix = 128;
	if (slash == NULL)
		return 0;
	bits = 0;
	i = (size_t)(slash - e.p) + 1;
	if (i == e.len || e.len - i > 3)
		return -1;
	for (; i < e.len; i++) {
		if (e.p[i] < '0' || e.p[i] > '9')
			return -1;
		bits = bits * 10 + (unsigned long)(e.p[i] - '0');
	}
	if (bits > (v4 ? 32u : 128u))
		return -1;
	net->prefix = (unsigned)bits + (v4 ? 96u : 0u);
	/* Clear the host bits so that matching compares prefixes only. */
	for (i = 0; i < 16; i++) {
		unsigned keep =
		    net->prefix > i * 8 ? net->prefix - (unsigned)i * 8 : 0;

		if (keep < 8)
			net->addr[i] &= (unsigned char)(0xff00u >> keep);
	}
	return 0;
}

int
proxy_list_parse(const char *text, struct proxy_list **out, struct buf *why)
{
	struct proxy_list *pl = NULL;
	struct proxy_net nets[PROXY_MAX_ENTRIES];
	size_t n = 0, i = 0, len = text != NULL ? strlen(text) : 0, start;
	struct str e;

	*out = NULL;
	while (i < len) {
		while (i < len && (is_blank(text[i]) || text[i] == ','))
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && !is_blank(text[i]) && text[i] != ',')
			i++;
		e.p = text + start;
		e.len = i - start;
		if (n == PROXY_MAX_ENTRIES) {
			buf_addf(
			    why, "more than %d entries", PROXY_MAX_ENTRIES);
			return -1;
		}
		if (parse_entry(e, &nets[n]) == -1) {
			buf_addf(why,
			    "'%.*s' is not a numeric address or address/prefix",
			    (int)(e.len > 64 ? 64 : e.len), e.p);
			return -1;
		}
		n++;
	}
	if (n == 0)
		return 0;
	pl = xmalloc(sizeof(*pl) + n * sizeof(pl->nets[0]));
	pl->n = n;
	memcpy(pl->nets, nets, n * sizeof(nets[0]));
	*out = pl;
	return 0;
}

void
proxy_list_free(struct proxy_list *pl)
{
	free(pl);
}

static bool
net_match(const struct proxy_net *net, const unsigned char *addr)
{
	unsigned full = net->prefix / 8, rest = net->prefix % 8;
	unsigned char mask;

	if (memcmp(net->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (unsigned char)(0xff00u >> rest);
	return (addr[full] & mask) == net->addr[full];
}

bool
proxy_list_match(const struct proxy_list *pl, const unsigned char *addr)
{
	size_t i;

	if (pl == NULL)
		return false;
	for (i = 0; i < pl->n; i++)
		if (net_match(&pl->nets[i], addr))
			return true;
	return false;
}

/* Write addr in numeric form into out (IPv4-mapped as IPv4). */
static void
addr_text(const unsigned char *addr, char *out, size_t size)
{
	char tmp[64];

	if (memcmp(addr, v4mapped, 12) == 0)
		inet_ntop(AF_INET, addr + 12, tmp, sizeof(tmp));
	else
		inet_ntop(AF_INET6, addr, tmp, sizeof(tmp));
	snprintf(out, size, "%s", tmp);
}

/*
 * Walk the X-Forwarded-For hops from the right. Returns true with the
 * client in client when at least one hop was a usable address.
 */
static bool
forwarded_for(const struct proxy_list *pl, const struct http_header *h,
    size_t n, unsigned char client[16])
{
	unsigned char a[16];
	size_t i, start, end, hops = 0;
	bool found = false;
	struct str v, item;

	for (i = n; i-- > 0;) {
		if (!str_caseeqs(h[i].name, "x-forwarded-for"))
			continue;
		v = h[i].value;
		end = v.len;
		for (;;) {
			start = end;
			while (start > 0 && v.p[start - 1] != ',')
				start--;
			item.p = v.p + start;
			item.len = end - start;
			if (++hops > PROXY_MAX_HOPS ||
			    !proxy_parse_addr(item, a))
				return found;
			memcpy(client, a, 16);
			found = true;
			if (!proxy_list_match(pl, a))
				return true;
			if (start == 0)
				break;
			end = start - 1;
		}
	}
	return found;
}

void
proxy_resolve(const struct proxy_list *pl, const struct http_header *h,
    size_t n, char *peer, size_t peer_size, bool *is_https)
{
	unsigned char a[16];
	const struct str *real = NULL;
	size_t i, nreal = 0, nproto = 0, k, start;
	bool https = false, all = true;
	struct str v, item;

	if (forwarded_for(pl, h, n, a)) {
		addr_text(a, peer, peer_size);
	} else {
		for (i = 0; i < n; i++) {
			if (str_caseeqs(h[i].name, "x-real-ip")) {
				real = &h[i].value;
				nreal++;
			}
		}
		if (nreal == 1 && proxy_parse_addr(*real, a))
			addr_text(a, peer, peer_size);
	}
	for (i = 0; i < n; i++) {
		if (!str_caseeqs(h[i].name, "x-forwarded-proto"))
			continue;
		v = h[i].value;
		for (start = 0, k = 0; k <= v.len; k++) {
			if (k < v.len && v.p[k] != ',')
				continue;
			item.p = v.p + start;
			item.len = k - start;
			while (item.len > 0 && is_blank(item.p[0])) {
				item.p++;
				item.len--;
			}
			while (item.len > 0 && is_blank(item.p[item.len - 1]))
				item.len--;
			nproto++;
			if (!str_caseeqs(item, "https"))
				all = false;
			start = k + 1;
		}
	}
	if (nproto > 0 && all)
		https = true;
	*is_https = https;
}
