/*
 * test_luascripts.c: the Lua scripts as scripts/embed-lua embeds them.
 *
 * Covers: every script of luascripts.h is there, NUL-terminated ASCII
 * ending in a newline, and none keeps a comment line of its file (Redis
 * receives the code only, so a script's SHA1 does not change with its
 * documentation); the push keeps as many devices as db.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "db.h"
#include "luascripts.h"

static void
test_luascripts__code_only(void **state)
{
	static const char *const scripts[] = {lua_put, lua_setkey, lua_delete,
	    lua_purge, lua_create, lua_admins, lua_admin_get, lua_devices,
	    lua_dev_list, lua_dev_used, lua_dev_audit};
	const char *s, *line;
	char devices[32];
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		s = scripts[i];
		len = strlen(s);
		assert_true(len > 0);
		assert_int_equal(s[len - 1], '\n');
		for (line = s; *line != '\0'; line = strchr(line, '\n') + 1) {
			while (*line == ' ' || *line == '\t')
				line++;
			assert_false(line[0] == '-' && line[1] == '-');
			assert_non_null(strchr(line, '\n'));
		}
		for (; *s != '\0'; s++)
			assert_true((unsigned char)*s < 128);
	}
	/* The push keeps DB_MAX_DEVICES devices, as the file store does. */
	snprintf(devices, sizeof(devices), "> %d then", DB_MAX_DEVICES);
	assert_non_null(strstr(lua_put, devices));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_luascripts__code_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
