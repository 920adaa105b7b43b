/*
 * auth.c: credential extraction and the form rules for names and keys.
 *
 * Every failure is the same -1, so the caller cannot tell a missing header
 * from a malformed one and answers 401 for both, like the reference
 * server (docs/protocol.md §9.11). A header sent twice is a failure (§9.22).
 */
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "auth.h"
#include "base64.h"
#include "bounds.h"
#include "json.h"

bool
auth_username_valid(struct str name)
{
	size_t i;
	unsigned char c;

	if (name.len == 0 || name.len > STORE_MAX_USERNAME)
		return false;
	for (i = 0; i < name.len; i++) {
		c = (unsigned char)name.p[i];
		if (c == ':' || c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* Whether code point c composes with what precedes it (see auth.h). */
static bool
combining(unsigned long c)
{
	return (c >= 0x300 && c <= 0x36f) || (c >= 0x1ab0 && c <= 0x1aff) ||
	       (c >= 0x1dc0 && c <= 0x1dff) || (c >= 0x20d0 && c <= 0x20ff) ||
	       (c >= 0xfe20 && c <= 0xfe2f) || (c >= 0x3099 && c <= 0x309a) ||
	       (c >= 0x1160 && c <= 0x11ff) || (c >= 0xd7b0 && c <= 0xd7ff);
}

bool
auth_username_registrable(struct str name)
{
	const unsigned char *p = (const unsigned char *)name.p;
	size_t i = 0, n;
	unsigned long c;

	if (!auth_username_valid(name) || !json_utf8_valid(name.p, name.len) ||
	    p[0] == ' ' || p[name.len - 1] == ' ')
		return false;
	/* Valid UTF-8 now: decode without further checks. */
	while (i < name.len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : 2;
		c = p[i] & (0x7f >> n);
		while (--n > 0)
			c = (c << 6) | (p[++i] & 0x3f);
		i++;
		if (combining(c))
			return false;
	}
	return true;
}

bool
auth_key_valid(struct str key)
{
	return key.len > 0 && key.len <= STORE_MAX_KEY;
}

/* The base64 text of a Basic authorization value, or a NULL slice. */
static struct str
basic_token(const struct str *v)
{
	struct str t = STR_NULL;
	size_t i;

	if (v->len < 6 || strncasecmp(v->p, "Basic", 5) != 0 ||
	    (v->p[5] != ' ' && v->p[5] != '\t'))
		return t;
	for (i = 6; i < v->len && (v->p[i] == ' ' || v->p[i] == '\t'); i++)
		;
	t.p = v->p + i;
	t.len = v->len - i;
	return t;
}

size_t
auth_scratch_size(const struct auth_headers *h)
{
	struct str t;

	if (h->nuser > 0 || h->nkey > 0 || h->nauthorization != 1)
		return 0;
	t = basic_token(h->authorization);
	if (t.p == NULL)
		return 0;
	return BASE64_DECODED_MAX(t.len) + MD5_HEX_LEN + 1;
}

static int
auth_basic(const struct str *value, char *scratch, struct auth_cred *out)
{
	struct str t = basic_token(value), user, pass;
	const char *colon;
	char *hex;
	long n;

	if (t.p == NULL || t.len == 0)
		return -1;
	n = base64_decode_mem(
	    t.p, t.len, scratch, BASE64_PAD_OPTIONAL | BASE64_CANONICAL);
	if (n < 0)
		return -1;
	colon = memchr(scratch, ':', (size_t)n);
	if (colon == NULL)
		return -1;
	user.p = scratch;
	user.len = (size_t)(colon - scratch);
	pass.p = colon + 1;
	pass.len = (size_t)n - user.len - 1;
	/* A name that could never be registered, or no password at all. */
	if (!auth_username_valid(user) || pass.len == 0)
		return -1;
	hex = scratch + n;
	md5_hex(pass.p, pass.len, hex);
	out->user = user;
	out->key.p = hex;
	out->key.len = MD5_HEX_LEN;
	return 0;
}

int
auth_extract(const struct auth_headers *h, char *scratch, struct auth_cred *out)
{
	struct str user, key;

	out->user = STR_NULL;
	out->key = STR_NULL;
	if (h->nuser == 0 && h->nkey == 0) {
		if (h->nauthorization != 1 || scratch == NULL)
			return -1;
		return auth_basic(h->authorization, scratch, out);
	}
	if (h->nuser != 1 || h->nkey != 1)
		return -1;
	user = *h->user;
	key = *h->key;
	if (user.len == 0 || user.len > STORE_MAX_USERNAME ||
	    memchr(user.p, ':', user.len) != NULL || !auth_key_valid(key))
		return -1;
	out->user = user;
	out->key = key;
	return 0;
}

void
auth_device_password(char out[AUTH_DEVICE_PASSWORD_LEN + 1])
{
	size_t i;

	for (i = 0; i < AUTH_DEVICE_PASSWORD_LEN; i++)
		out[i] = (char)('a' + randombytes_uniform(26));
	out[AUTH_DEVICE_PASSWORD_LEN] = '\0';
}

void
auth_device_new_id(char out[AUTH_DEVICE_ID_LEN + 1])
{
	static const char alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
	size_t i;

	for (i = 0; i < AUTH_DEVICE_ID_LEN; i++)
		out[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
	out[AUTH_DEVICE_ID_LEN] = '\0';
}

bool
auth_device_label_valid(struct str label)
{
	size_t i;
	unsigned char c;

	if (label.p == NULL || label.len == 0 || label.len > 100 ||
	    !json_utf8_valid(label.p, label.len))
		return false;
	for (i = 0; i < label.len; i++) {
		c = (unsigned char)label.p[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

bool
auth_device_id_valid(struct str id)
{
	size_t i;
	char c;

	if (id.p == NULL || id.len == 0 || id.len > 16)
		return false;
	for (i = 0; i < id.len; i++) {
		c = id.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}
