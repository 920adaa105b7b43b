/*
 * test_userlist.c: the user list every backend renders (userlist.c): each
 * user's documents, newest sync and devices (a document's current device
 * and its device list, sorted, each once, empty names left out), users
 * being created left out, the administrator flag from the backend's
 * callback, and paging (a page after a cursor, "next" at its end).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db.h"
#include "userlist.h"

#define S(s) ((struct str){s, sizeof(s) - 1})

static const struct db_history hs = {false, 0, 0};

/* A push of doc by device (its own device_id) at ts. */
static void
push(struct db *db, struct db_user *u, const char *doc, const char *device,
    int64_t ts)
{
	struct db_put p;

	memset(&p, 0, sizeof(p));
	p.document = str_from(doc);
	p.progress = S("p");
	p.device = str_from(device);
	p.device_id = str_from(device);
	p.percentage = 0.5;
	p.timestamp = ts;
	(void)db_put(db, u, &p, &hs);
}

/* ann: Kobo then Kindle on d1, Kobo and a nameless device on d2; bob:
 * nothing; cat: being created. */
static void
fill(struct db *db)
{
	struct db_user *u;

	db_init(db);
	u = db_user_add(db, S("ann"), S("k"));
	push(db, u, "d1", "Kobo", 100);
	push(db, u, "d1", "Kindle", 300);
	push(db, u, "d2", "Kobo", 200);
	push(db, u, "d2", "", 250);
	(void)db_user_add(db, S("bob"), S("k"));
	u = db_user_add(db, S("cat"), S("k"));
	u->creating = true;
}

static bool
bob_is_admin(void *arg, const struct db_user *u)
{
	(*(int *)arg)++;
	return strcmp(u->name, "bob") == 0;
}

static char *
render(const struct db *db, const struct store_page *page,
    userlist_admin_fn *is_admin, void *arg)
{
	struct db_user **users;
	struct buf out = BUF_INIT;
	size_t n;

	users = db_users_sorted(db, &n);
	userlist_render(users, n, page, is_admin, arg, &out);
	free(users);
	return buf_detach(&out, NULL);
}

static void
test_userlist__all(void **state)
{
	struct db db;
	char *s;
	int asked = 0;

	(void)state;
	fill(&db);
	s = render(&db, NULL, bob_is_admin, &asked);
	assert_non_null(strstr(s, "[{\"username\":\"ann\",\"documents\":2,"
	                          "\"last_sync\":300,\"devices\":[\"Kindle\","
	                          "\"Kobo\"],\"bytes\":"));
	assert_non_null(strstr(s, "{\"username\":\"bob\",\"documents\":0,"
	                          "\"last_sync\":0,\"devices\":[],\"bytes\":0,"
	                          "\"history\":0,\"admin\":true}]"));
	assert_null(strstr(s, "cat"));
	assert_null(strstr(s, "\"admin\":true},{"));
	assert_int_equal(asked, 2); /* the users listed only */
	free(s);
	/* Without a callback: the tables' own flag. */
	db_user_find(&db, S("ann"))->admin = true;
	s = render(&db, NULL, NULL, NULL);
	assert_non_null(strstr(s, "\"admin\":true},{\"username\":\"bob\""));
	assert_null(strstr(s, "\"history\":0,\"admin\":true}]"));
	free(s);
	db_release(&db);
}

static void
test_userlist__pages(void **state)
{
	struct db db;
	struct store_page page = {1, false, 0, STR_NULL};
	char *s;

	(void)state;
	fill(&db);
	s = render(&db, &page, NULL, NULL);
	assert_true(strncmp(s, "{\"users\":[{\"username\":\"ann\"", 27) == 0);
	assert_null(strstr(s, "bob"));
	assert_null(strstr(s, "\"next\":null"));
	assert_non_null(strstr(s, "\"next\":\"u"));
	free(s);
	page.after = true;
	page.id = S("ann");
	s = render(&db, &page, NULL, NULL);
	assert_true(strncmp(s, "{\"users\":[{\"username\":\"bob\"", 27) == 0);
	assert_non_null(strstr(s, "}],\"next\":null}"));
	free(s);
	db_release(&db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_userlist__all),
	    cmocka_unit_test(test_userlist__pages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
