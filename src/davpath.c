/*
 * davpath.c: WebDAV request paths, decoded and checked (davpath.h).
 *
 * One pass over the bytes as sent: split on '/', decode each segment's
 * escapes into the caller's buffer, then check the decoded segment. An
 * escape that decodes to '/' or NUL, a malformed escape, a name that is
 * not UTF-8, "." and "..", control bytes and reserved names are refused
 * with a reason; so is a path too long or too deep. Nothing is resolved
 * against a file system here (davfs.c does that, one segment at a time).
 */
#include <string.h>

#include "davpath.h"
#include "json.h"

bool
davpath_is_reserved(struct str name)
{
	return str_has_prefix(name, DAVPATH_RESERVED);
}

/* Check one decoded segment. Returns NULL, or why it is refused. */
static const char *
check_segment(struct str s)
{
	size_t i;

	if (s.len > DAVPATH_MAX_NAME)
		return "a name in the path is longer than 255 bytes";
	if (str_eqs(s, ".") || str_eqs(s, ".."))
		return "'.' and '..' are not allowed in a path";
	for (i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (c < 0x20 || c == 0x7f)
			return "control characters are not allowed in a path";
	}
	if (!json_utf8_valid(s.p, s.len))
		return "a name in the path is not valid UTF-8";
	if (davpath_is_reserved(s))
		return "names beginning with '" DAVPATH_RESERVED
		       "' are reserved";
	return NULL;
}

const char *
davpath_name_why(struct str name)
{
	if (name.len == 0)
		return "an empty name is not allowed";
	if (memchr(name.p, '/', name.len) != NULL)
		return "'/' is not allowed in a name";
	return check_segment(name);
}

int
davpath_parse(struct str path, char *out, struct davpath *dp, const char **why)
{
	size_t i = 0, o = 0, start;
	int hi, lo;

	dp->nseg = 0;
	dp->slash = false;
	*why = NULL;
	if (path.len == 0 || path.p[0] != '/') {
		*why = "the path must begin with '/'";
		return -1;
	}
	if (path.len > DAVPATH_MAX_BYTES) {
		*why = "the path is too long";
		return -1;
	}
	while (i < path.len) {
		if (path.p[i] == '/') {
			i++;
			continue;
		}
		start = o;
		while (i < path.len && path.p[i] != '/') {
			char c = path.p[i++];

			if (c == '%') {
				if (i + 2 > path.len ||
				    (hi = str_hex_digit(path.p[i])) < 0 ||
				    (lo = str_hex_digit(path.p[i + 1])) < 0) {
					*why =
					    "malformed percent escape in the "
					    "path";
					return -1;
				}
				i += 2;
				c = (char)(hi * 16 + lo);
				if (c == '/' || c == '\0') {
					*why = "encoded '/' or NUL in the path";
					return -1;
				}
			}
			out[o++] = c;
		}
		if (dp->nseg == DAVPATH_MAX_DEPTH) {
			*why = "the path has too many levels";
			return -1;
		}
		dp->seg[dp->nseg] = (struct str){out + start, o - start};
		if ((*why = check_segment(dp->seg[dp->nseg])) != NULL)
			return -1;
		/* Room: the segment's '/' in path was not copied. */
		out[o++] = '\0';
		dp->nseg++;
	}
	dp->slash = path.p[path.len - 1] == '/';
	return 0;
}

void
davpath_encode(struct buf *out, struct str s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~' || (c == '/' && keep_slash)) {
			buf_addch(out, c);
			continue;
		}
		buf_addch(out, '%');
		buf_addch(out, hex[c >> 4]);
		buf_addch(out, hex[c & 15]);
	}
}
