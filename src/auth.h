/*
 * auth.h: who a request says it is, and what a valid name or key looks
 * like (docs/protocol.md §5, §9.9 to §9.11, §9.22).
 *
 * Credentials come from the x-auth-user / x-auth-key headers KOReader
 * sends, or, when neither is present, from HTTP Basic
 * ("Authorization: Basic base64(user:password)"), whose key is the
 * lowercase hex MD5 of the password, as KOReader derives it.
 *
 * This module only extracts and checks the form of credentials. Whether
 * they are right is the store's business: it verifies them in each
 * operation (constant-time, see store.h). Nothing here logs, and nothing
 * here sees a struct http_request: the caller passes header values.
 */
#ifndef KOSYNCD_AUTH_H
#define KOSYNCD_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "md5.h"

/* The request's credential headers: value (NULL when absent) and count. */
struct auth_headers {
	const struct str *user; /* x-auth-user */
	size_t nuser;
	const struct str *key; /* x-auth-key */
	size_t nkey;
	const struct str *authorization;
	size_t nauthorization;
};

/* Extracted credentials; slices borrowed from the headers or scratch. */
struct auth_cred {
	struct str user;
	struct str key;
};

/*
 * Bytes of scratch memory auth_extract() may need for h (decoding Basic
 * and the MD5 key); 0 when it needs none.
 */
size_t auth_scratch_size(const struct auth_headers *h);

/*
 * Extract the credentials of h into out. scratch must hold
 * auth_scratch_size(h) bytes and outlive out. Returns 0, or -1 when there
 * are no usable credentials (missing, empty, repeated, malformed, a name
 * with ':' or over STORE_MAX_USERNAME bytes): the caller answers 401, the
 * same as for a wrong key.
 */
int auth_extract(
    const struct auth_headers *h, char *scratch, struct auth_cred *out);

/*
 * Registration rule for a user name: 1 to STORE_MAX_USERNAME bytes, no
 * ':', no control characters (below 0x20, and 0x7f). Case is kept and
 * nothing is trimmed.
 */
bool auth_username_valid(struct str name);

/*
 * The rule for a new account's name, the one every way of creating an
 * account uses (the protocol's registration, the web interface's and
 * `kosyncd user add`): auth_username_valid, valid UTF-8, and further
 *   - no space at either end (KOReader trims what it sends, and so do
 *     HTTP header values: such a name could never sign in from a device);
 *   - only precomposed forms: no combining mark that composes with the
 *     letter before it (U+0300-036F, U+1AB0-1AFF, U+1DC0-1DFF,
 *     U+20D0-20FF, U+FE20-FE2F, the kana sound marks U+3099-309A) and no
 *     conjoining Hangul vowel or final (U+1160-11FF, U+D7B0-D7FF), so
 *     that "é" typed as e + U+0301 (NFD) cannot be a look-alike second
 *     account next to the precomposed U+00E9 (NFC) one.
 * Names that exist already keep working (auth_username_valid is the rule
 * for signing in).
 */
bool auth_username_registrable(struct str name);
/* What auth_username_registrable asks for, in a sentence. */
#define AUTH_USERNAME_RULE                                                     \
	"invalid user name (1 to 255 bytes of UTF-8, no ':', no control "      \
	"character, no space at either end, no combining mark: type "          \
	"accented letters precomposed)"

/* Rule for a key (the md5 the client sends): 1 to STORE_MAX_KEY bytes. */
bool auth_key_valid(struct str key);

/*
 * Device credentials (docs/devices.md). A generated password: 16
 * lowercase letters (about 75 bits), easy to type on an e-reader's
 * keyboard; shown in groups of four for reading only.
 */
#define AUTH_DEVICE_PASSWORD_LEN 16
void auth_device_password(char out[AUTH_DEVICE_PASSWORD_LEN + 1]);
/* A credential's label: 1 to 100 bytes of UTF-8, no control character. */
bool auth_device_label_valid(struct str label);
#define AUTH_DEVICE_LABEL_RULE                                                 \
	"invalid label (1 to 100 bytes of UTF-8, no control character)"
/* A credential's id as the store makes them: 1 to 16 letters or digits. */
bool auth_device_id_valid(struct str id);
/*
 * A new credential's id: AUTH_DEVICE_ID_LEN random lowercase letters and
 * digits (without the look-alikes l, o, 0, 1); the store makes sure it is
 * unique in the account.
 */
#define AUTH_DEVICE_ID_LEN 8
void auth_device_new_id(char out[AUTH_DEVICE_ID_LEN + 1]);

#endif
