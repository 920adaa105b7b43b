/*
 * addr.c: network addresses as the options write them (see addr.h).
 *
 * One parser of "host:port": listen_address, metrics_listen, redis_address
 * and the health check all read addresses here, so what the configuration
 * accepts is exactly what the server can listen on or connect to.
 */
#include <stdbool.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "addr.h"
#include "xmalloc.h"

static int
parse_port(const char *s, unsigned *port)
{
	unsigned v = 0;
	size_t i;

	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = v;
	return 0;
}

int
addr_parse_listen(
    const char *text, struct sockaddr_storage *out, const char **err)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
	char host[64];
	const char *colon;
	unsigned port;
	size_t hlen;

	memset(out, 0, sizeof(*out));
	if (text == NULL || *text == '\0') {
		*err = "empty address";
		return -1;
	}
	if (text[0] == '[') {
		const char *close = strchr(text, ']'), *port_text;

		if (close == NULL || close[1] != ':') {
			*err = "expected [address]:port";
			return -1;
		}
		hlen = (size_t)(close - text - 1);
		port_text = close + 2;
		if (hlen == 0 || hlen >= sizeof(host)) {
			*err = "invalid IPv6 address";
			return -1;
		}
		memcpy(host, text + 1, hlen);
		host[hlen] = '\0';
		if (parse_port(port_text, &port) == -1) {
			*err = "invalid port";
			return -1;
		}
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			*err = "invalid IPv6 address";
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	colon = strrchr(text, ':');
	if (colon == NULL) {
		*err = "expected host:port or :port";
		return -1;
	}
	if (parse_port(colon + 1, &port) == -1) {
		*err = "invalid port";
		return -1;
	}
	hlen = (size_t)(colon - text);
	if (hlen == 0 || (hlen == 1 && text[0] == '*')) {
		/* Every address: IPv6 any, which also takes IPv4. */
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		sin6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	if (memchr(text, ':', hlen) != NULL) {
		*err = "an IPv6 address needs brackets: [address]:port";
		return -1;
	}
	if (hlen >= sizeof(host)) {
		*err = "not a numeric IPv4 address";
		return -1;
	}
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
		*err = "not a numeric IPv4 address";
		return -1;
	}
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	return 0;
}

bool
addr_is_any(const char *text)
{
	const char *colon = strrchr(text, ':');

	return text[0] != '[' && colon != NULL &&
	       (colon == text || (colon == text + 1 && text[0] == '*'));
}

bool
addr_is_unix(const char *text)
{
	return strncmp(text, "unix:", 5) == 0;
}

int
addr_parse_connect(
    const char *text, char **host, int *port, char **path, const char **err)
{
	struct sockaddr_storage ss;
	char buf[INET6_ADDRSTRLEN];
	const void *a;

	*host = *path = NULL;
	*port = 0;
	if (addr_is_unix(text)) {
		if (text[5] == '\0') {
			*err = "the socket path is empty";
			return -1;
		}
		*path = xstrdup(text + 5);
		return 0;
	}
	*err = "not an address";
	if (text[0] == ':' || addr_parse_listen(text, &ss, err) == -1)
		return -1;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;

		a = &sin->sin_addr;
		*port = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)&ss;

		a = &sin6->sin6_addr;
		*port = ntohs(sin6->sin6_port);
	}
	if (*port == 0 ||
	    inet_ntop(ss.ss_family, a, buf, sizeof(buf)) == NULL) {
		*err = "not an address";
		*port = 0;
		return -1;
	}
	*host = xstrdup(buf);
	return 0;
}
