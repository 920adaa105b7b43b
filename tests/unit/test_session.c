/*
 * test_session.c: the web interface's sessions (session.c) and the links
 * of merged documents (db.c): tokens are random and found only by their
 * exact value, sessions expire, the CSRF check takes only the session's
 * own token, a user's sessions end together (except the one kept), a full
 * table refuses rather than end another user's session, one user's
 * sessions are capped (the oldest goes), its count and the lists ordered
 * by expiry follow every change; the asynchronous calls on the
 * in-memory table (as the web interface uses them with the file store) answer
 * at once and act as the synchronous ones, a Redis-less store keeps sessions in
 * memory; links resolve, chain to one canonical id, follow pushes and are
 * removed with their document's links.
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
#include "session.h"

/* The history setting the tests' changes apply with. */
static struct db_history hs;

static struct str
S(const char *s) {
	return str_from(s);
}

static void
test_session__create_find_expire(void **state)
{
	struct sessions *ss = sessions_new(1000, 10);
	char t1[SESSION_TOKEN_LEN + 1], t2[SESSION_TOKEN_LEN + 1];
	struct session *a, *b;
	char other[SESSION_TOKEN_LEN + 1];

	(void)state;
	a = session_create(ss, S("ann"), 100, t1);
	b = session_create(ss, S("bob"), 100, t2);
	assert_int_equal(strlen(t1), SESSION_TOKEN_LEN);
	assert_string_not_equal(t1, t2);
	assert_ptr_equal(session_find(ss, S(t1), 200), a);
	assert_ptr_equal(session_find(ss, S(t2), 200), b);
	assert_string_equal(a->user, "ann");
	/* One character off, shorter, longer: nothing. */
	memcpy(other, t1, sizeof(other));
	other[5] = other[5] == 'A' ? 'B' : 'A';
	assert_null(session_find(ss, S(other), 200));
	assert_null(
	    session_find(ss, (struct str){t1, SESSION_TOKEN_LEN - 1}, 200));
	assert_null(session_find(ss, S(""), 200));
	/* Expired at 100 + 1000: gone, and removed from the table. */
	assert_null(session_find(ss, S(t1), 1100));
	assert_int_equal(sessions_count(ss), 1);
	sessions_free(ss);
}

static void
test_session__csrf(void **state)
{
	struct sessions *ss = sessions_new(1000, 10);
	char t1[SESSION_TOKEN_LEN + 1], t2[SESSION_TOKEN_LEN + 1];
	struct session *a, *b;

	(void)state;
	a = session_create(ss, S("ann"), 0, t1);
	b = session_create(ss, S("ann"), 0, t2);
	assert_true(session_csrf_ok(a, S(a->csrf)));
	assert_false(session_csrf_ok(a, S(b->csrf)));
	assert_false(session_csrf_ok(a, S(t1))); /* the cookie is no token */
	assert_false(session_csrf_ok(a, S("")));
	assert_string_not_equal(a->csrf, t1);
	sessions_free(ss);
}

static void
test_session__destroy_user_and_room(void **state)
{
	struct sessions *ss = sessions_new(1000, 3);
	char t[4][SESSION_TOKEN_LEN + 1];
	struct session *a1, *a2;

	(void)state;
	a1 = session_create(ss, S("ann"), 0, t[0]);
	a2 = session_create(ss, S("ann"), 1, t[1]);
	session_create(ss, S("bob"), 2, t[2]);
	session_destroy_user(ss, S("ann"), a2);
	assert_null(session_find(ss, S(t[0]), 10));
	assert_ptr_equal(session_find(ss, S(t[1]), 10), a2);
	assert_non_null(session_find(ss, S(t[2]), 10));
	(void)a1;
	/* Full (3) of live sessions of others: no one is signed out. */
	session_create(ss, S("cat"), 5, t[0]);
	assert_null(session_create(ss, S("dan"), 6, t[3]));
	assert_int_equal(sessions_count(ss), 3);
	assert_ptr_equal(session_find(ss, S(t[1]), 10), a2);
	/* ...but expired sessions make room (a2 expires at 1001). */
	assert_non_null(session_create(ss, S("dan"), 1001, t[3]));
	assert_null(session_find(ss, S(t[1]), 1001));
	assert_non_null(session_find(ss, S(t[3]), 1001));
	session_destroy_user(ss, S("bob"), NULL);
	assert_int_equal(sessions_count(ss), 2);
	sessions_free(ss);
}

/* One user's sessions are capped: the oldest of that user goes. */
static void
test_session__per_user_cap(void **state)
{
	struct sessions *ss = sessions_new(100000, SESSION_MAX_PER_USER + 10);
	char tb[SESSION_TOKEN_LEN + 1], t0[SESSION_TOKEN_LEN + 1];
	char t[SESSION_TOKEN_LEN + 1];
	struct session *first;
	uint64_t i;

	(void)state;
	assert_non_null(session_create(ss, S("bob"), 0, tb));
	first = session_create(ss, S("ann"), 1, t0);
	for (i = 2; i < 3 * SESSION_MAX_PER_USER; i++)
		assert_non_null(session_create(ss, S("ann"), i, t));
	/* ann's 100 newest and bob's one. */
	assert_int_equal(sessions_count(ss), SESSION_MAX_PER_USER + 1);
	assert_non_null(session_find(ss, S(tb), 1000));
	assert_non_null(session_find(ss, S(t), 1000));
	assert_null(session_find(ss, S(t0), 1000));
	(void)first;
	sessions_free(ss);
}

/*
 * The user's count and lists follow every change: sessions created out of
 * expiry order (a clock that went back) still expire and are capped by
 * expiry; a user whose sessions all ended starts from zero.
 */
static void
test_session__counts_and_order(void **state)
{
	struct sessions *ss = sessions_new(1000, 3 * SESSION_MAX_PER_USER);
	char ta[SESSION_TOKEN_LEN + 1], tb[SESSION_TOKEN_LEN + 1];
	char tc[SESSION_TOKEN_LEN + 1], t[SESSION_TOKEN_LEN + 1];
	char tlow[SESSION_TOKEN_LEN + 1];
	uint64_t i;

	(void)state;
	/* ann expires at 1500 and 1100, bob at 1300 */
	assert_non_null(session_create(ss, S("ann"), 500, ta));
	assert_non_null(session_create(ss, S("ann"), 100, tb));
	assert_non_null(session_create(ss, S("bob"), 300, tc));
	/* at 1200 only ann's second one has expired */
	assert_non_null(session_create(ss, S("cat"), 200, t));
	session_destroy_user(ss, S("cat"), NULL);
	assert_non_null(session_create(ss, S("dan"), 1200, t));
	assert_int_equal(sessions_count(ss), 3);
	assert_non_null(session_find(ss, S(ta), 1200));
	assert_null(session_find(ss, S(tb), 1200));
	assert_non_null(session_find(ss, S(tc), 1200));
	sessions_free(ss);

	/* the cap drops the session expiring first, not the first made */
	ss = sessions_new(100000, 3 * SESSION_MAX_PER_USER);
	for (i = SESSION_MAX_PER_USER; i > 0; i--)
		assert_non_null(
		    session_create(ss, S("ann"), i, i == 1 ? tlow : t));
	assert_non_null(session_create(ss, S("ann"), 1000, ta));
	assert_int_equal(sessions_count(ss), SESSION_MAX_PER_USER);
	assert_null(session_find(ss, S(tlow), 2000));
	assert_non_null(session_find(ss, S(t), 2000));
	/* every one ended: ann starts again from zero */
	session_destroy_user(ss, S("ann"), NULL);
	assert_int_equal(sessions_count(ss), 0);
	assert_non_null(session_create(ss, S("ann"), 3000, tlow));
	for (i = 1; i < SESSION_MAX_PER_USER; i++)
		assert_non_null(session_create(ss, S("ann"), 3000 + i, t));
	assert_int_equal(sessions_count(ss), SESSION_MAX_PER_USER);
	assert_non_null(session_find(ss, S(tlow), 4000));
	/* one kept: the others end, the kept one counts */
	session_destroy_user(ss, S("ann"), session_find(ss, S(t), 4000));
	assert_int_equal(sessions_count(ss), 1);
	assert_non_null(session_find(ss, S(t), 4000));
	for (i = 1; i < SESSION_MAX_PER_USER; i++)
		assert_non_null(session_create(ss, S("ann"), 5000 + i, tb));
	assert_int_equal(sessions_count(ss), SESSION_MAX_PER_USER);
	assert_non_null(session_find(ss, S(t), 6000));
	session_destroy(ss, session_find(ss, S(tb), 6000));
	assert_int_equal(sessions_count(ss), SESSION_MAX_PER_USER - 1);
	sessions_free(ss);
}

struct got {
	int calls;
	enum session_result r;
	char user[32];
	char csrf[SESSION_TOKEN_LEN + 1];
	char token[SESSION_TOKEN_LEN + 1];
};

static void
got_session(void *arg, enum session_result r, const struct session *s)
{
	struct got *g = arg;

	g->calls++;
	g->r = r;
	g->user[0] = '\0';
	if (s != NULL) {
		snprintf(g->user, sizeof(g->user), "%s", s->user);
		memcpy(g->csrf, s->csrf, sizeof(g->csrf));
	}
}

static void
got_token(void *arg, enum session_result r, const struct session *s,
    const char *token)
{
	struct got *g = arg;

	got_session(arg, r, s);
	snprintf(g->token, sizeof(g->token), "%s", token ? token : "");
}

static void
got_done(void *arg, enum session_result r)
{
	struct got *g = arg;

	g->calls++;
	g->r = r;
}

static void
test_session__async_memory(void **state)
{
	struct sessions *ss = sessions_open(NULL, 60000, 10);
	struct got a = {0}, b = {0}, g = {0};
	char ta[SESSION_TOKEN_LEN + 1], tb[SESSION_TOKEN_LEN + 1];

	(void)state;
	assert_false(sessions_shared(ss));
	/* Each call answers before it returns. */
	sessions_start(ss, S("ann"), got_token, &a);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.r, SESSION_OK);
	assert_string_equal(a.user, "ann");
	assert_int_equal(strlen(a.token), SESSION_TOKEN_LEN);
	memcpy(ta, a.token, sizeof(ta));
	sessions_start(ss, S("ann"), got_token, &b);
	memcpy(tb, b.token, sizeof(tb));
	assert_string_not_equal(ta, tb);
	assert_int_equal(sessions_count(ss), 2);

	sessions_lookup(ss, S(ta), got_session, &g);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.r, SESSION_OK);
	assert_string_equal(g.user, "ann");
	assert_memory_equal(g.csrf, a.csrf, SESSION_TOKEN_LEN);
	sessions_lookup(ss, S("nonsense"), got_session, &g);
	assert_int_equal(g.r, SESSION_NONE);
	sessions_lookup(ss, STR_NULL, got_session, &g);
	assert_int_equal(g.r, SESSION_NONE);

	/* Every other session of ann ends; the one kept stays. */
	sessions_end_user(ss, S("ann"), S(tb), got_done, &g);
	assert_int_equal(g.r, SESSION_OK);
	sessions_lookup(ss, S(ta), got_session, &g);
	assert_int_equal(g.r, SESSION_NONE);
	sessions_lookup(ss, S(tb), got_session, &g);
	assert_int_equal(g.r, SESSION_OK);

	/* Sign-out; then again (nothing left): still fine; no callback. */
	g.calls = 0;
	sessions_end(ss, S(tb), got_done, &g);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.r, SESSION_OK);
	sessions_end(ss, S(tb), NULL, NULL);
	assert_int_equal(sessions_count(ss), 0);

	/* All of a user's sessions (keep: none). */
	sessions_start(ss, S("bob"), got_token, &a);
	sessions_start(ss, S("cat"), got_token, &b);
	sessions_end_user(ss, S("bob"), STR_NULL, NULL, NULL);
	sessions_lookup(ss, S(a.token), got_session, &g);
	assert_int_equal(g.r, SESSION_NONE);
	sessions_lookup(ss, S(b.token), got_session, &g);
	assert_int_equal(g.r, SESSION_OK);
	assert_string_equal(g.user, "cat");
	sessions_free(ss);
}

static void
test_db__links(void **state)
{
	struct db db;
	struct db_user *u;
	struct db_put p;
	struct db_doc *d;

	(void)state;
	db_init(&db);
	hs = (struct db_history){false, 0, 0};
	u = db_user_add(&db, S("u"), S("key"));
	memset(&p, 0, sizeof(p));
	p.document = S("A");
	p.percentage = 0.1;
	p.timestamp = 1;
	p.progress = S("pa");
	p.device = S("kobo");
	db_put(&db, u, &p, &hs);
	p.document = S("B");
	p.progress = S("pb");
	db_put(&db, u, &p, &hs);

	db_link_set(u, S("B"), S("A"));
	assert_true(str_eqs(db_link_resolve(u, S("B")), "A"));
	assert_true(str_eqs(db_link_resolve(u, S("A")), "A"));
	assert_string_equal(db_doc_field(db_doc_find(u, S("B")), DB_F_ID), "A");
	/* B's own record is still stored. */
	assert_non_null(db_doc_find_exact(u, S("B")));

	/* A push under B writes A. */
	p.document = S("B");
	p.percentage = 0.7;
	p.progress = S("pb2");
	d = db_put(&db, u, &p, &hs);
	assert_string_equal(db_doc_field(d, DB_F_ID), "A");
	assert_true(db_doc_find(u, S("A"))->percentage == 0.7);
	assert_true(db_doc_find_exact(u, S("B"))->percentage == 0.1);

	/* A link to A then goes to A, and C -> A when A is linked to... */
	db_link_set(u, S("C"), S("B"));
	assert_true(str_eqs(db_link_resolve(u, S("C")), "A"));
	/* Linking to itself does nothing. */
	db_link_set(u, S("A"), S("B"));
	assert_true(str_eqs(db_link_resolve(u, S("A")), "A"));
	assert_int_equal(u->nlinks, 2);

	assert_true(db_link_del(u, S("B")));
	assert_false(db_link_del(u, S("B")));
	assert_string_equal(db_doc_field(db_doc_find(u, S("B")), DB_F_ID), "B");
	db_link_del_to(u, S("A"));
	assert_int_equal(u->nlinks, 0);
	db_link_set(u, S("X"), S("A"));
	db_release(&db); /* frees the links too (ASan) */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_session__create_find_expire),
	    cmocka_unit_test(test_session__csrf),
	    cmocka_unit_test(test_session__destroy_user_and_room),
	    cmocka_unit_test(test_session__per_user_cap),
	    cmocka_unit_test(test_session__counts_and_order),
	    cmocka_unit_test(test_session__async_memory),
	    cmocka_unit_test(test_db__links),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
