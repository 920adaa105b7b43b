/*
 * test_db.c: the links of merged documents (db.c) when the id given is
 * one of the links' own strings, as db_link_resolve returns it (the web
 * interface's delete resolves its id first), and freeing a user's links.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "db.h"

#define S(s) ((struct str){s, sizeof(s) - 1})

/* Several links to one document, removed by a resolved id (ASan). */
static void
test_db__link_del_to_resolved(void **state)
{
	struct db db;
	struct db_user *u;
	struct str id;

	(void)state;
	db_init(&db, true, 10);
	u = db_user_add(&db, S("u"), S("key"));
	db_link_set(u, S("B"), S("A"));
	db_link_set(u, S("C"), S("A"));
	db_link_set(u, S("D"), S("A"));
	db_link_set(u, S("Y"), S("X"));
	assert_int_equal(u->nlinks, 4);

	id = db_link_resolve(u, S("C"));
	assert_true(str_eqs(id, "A"));
	db_link_del_to(u, id);
	assert_int_equal(u->nlinks, 1);
	assert_true(str_eqs(db_link_resolve(u, S("B")), "B"));
	assert_true(str_eqs(db_link_resolve(u, S("D")), "D"));
	assert_true(str_eqs(db_link_resolve(u, S("Y")), "X"));

	/* The last link, by its own string. */
	db_link_del_to(u, db_link_resolve(u, S("Y")));
	assert_int_equal(u->nlinks, 0);
	assert_null(u->links);
	db_release(&db);
}

/* A user's links go with the user (LeakSanitizer). */
static void
test_db__links_freed(void **state)
{
	struct db db;
	struct db_user *u;

	(void)state;
	db_init(&db, true, 10);
	u = db_user_add(&db, S("u"), S("key"));
	db_link_set(u, S("B"), S("A"));
	db_link_set(u, S("C"), S("B"));
	db_link_set(u, S("E"), S("D"));
	assert_int_equal(u->nlinks, 3);
	db_release(&db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_db__link_del_to_resolved),
	    cmocka_unit_test(test_db__links_freed),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
