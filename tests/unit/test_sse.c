/*
 * test_sse.c: the web interface's event stream (sse.c) without sockets:
 * a request without Last-Event-ID waits from now and is answered by its
 * user's next event only; one with an older id gets what it missed at
 * once (at most the SSE_RING latest); an id from before a restart counts
 * as now; every answer ends with the id to send next; a held request is
 * answered empty when its time is up; past SSE_MAX_WAITERS and after
 * sse_shutdown requests are answered at once.
 *
 * The answers are caught: http_reply_ex is renamed for the included sse.c
 * (which is why http.h must not be included before it).
 *
 * UNIT_INCLUDES: src/sse.c
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define http_reply_ex sse_test_reply
#include "../../src/sse.c"

/* The answers made, in order. */
#define MAX_ANSWERS (SSE_MAX_WAITERS + 8)
static struct {
	const struct http_request *req;
	int status;
	char type[64];
	const char *extra;
	char *body;
} answers[MAX_ANSWERS];
static size_t nanswers;

void
sse_test_reply(struct http_request *req, int status, const char *content_type,
    const char *extra_headers, const char *body, size_t len)
{
	assert_true(nanswers < MAX_ANSWERS);
	answers[nanswers].req = req;
	answers[nanswers].status = status;
	snprintf(answers[nanswers].type, sizeof(answers[nanswers].type), "%s",
	    content_type);
	answers[nanswers].extra = extra_headers;
	answers[nanswers].body = xmemdup0(body, len);
	nanswers++;
}

static int
teardown(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < nanswers; i++)
		free(answers[i].body);
	nanswers = 0;
	return 0;
}

/* Requests are only compared by address here. */
static struct http_request *reqs;

static struct http_request *
req(size_t i)
{
	if (reqs == NULL)
		reqs = xcalloc(MAX_ANSWERS, sizeof(*reqs));
	return &reqs[i];
}

static void
publish(struct sse *s, const char *user, const char *doc, int64_t ts)
{
	sse_publish(s, str_from(user), str_from(doc), ts, "push");
}

static struct sse *
setup_sse(uv_loop_t *loop)
{
	assert_int_equal(uv_loop_init(loop), 0);
	return sse_new(loop);
}

static void
teardown_sse(uv_loop_t *loop, struct sse *s)
{
	sse_shutdown(s);
	sse_free(s);
	uv_run(loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(loop), 0);
}

/* How many events (lines "event: change") the body holds. */
static int
events_in(const char *body)
{
	int n = 0;

	for (; (body = strstr(body, "event: change\n")) != NULL; body++)
		n++;
	return n;
}

static void
test_sse__wait_from_now(void **state)
{
	uv_loop_t loop;
	struct sse *s = setup_sse(&loop);

	(void)state;
	publish(s, "ann", "old", 1);
	/* no Last-Event-ID: from now, so the old event is not news */
	sse_wait(s, req(0), STR_LIT("ann"), 0, "X-A: 1\r\n");
	assert_int_equal(nanswers, 0);
	/* another user's event does not wake ann's request */
	publish(s, "bob", "b", 2);
	assert_int_equal(nanswers, 0);
	publish(s, "ann", "d\"1", 3);
	assert_int_equal(nanswers, 1);
	assert_ptr_equal(answers[0].req, req(0));
	assert_int_equal(answers[0].status, 200);
	assert_string_equal(
	    answers[0].type, "text/event-stream; charset=utf-8");
	assert_string_equal(answers[0].extra, "X-A: 1\r\n");
	assert_string_equal(answers[0].body,
	    "retry: 300\n"
	    "id: 3\nevent: change\n"
	    "data: {\"kind\":\"push\",\"document\":\"d\\\"1\",\"timestamp\":3}"
	    "\n\n"
	    "id: 3\n\n");
	/* answered once: the next event finds nobody waiting */
	publish(s, "ann", "d2", 4);
	assert_int_equal(nanswers, 1);
	teardown_sse(&loop, s);
}

static void
test_sse__missed_events(void **state)
{
	uv_loop_t loop;
	struct sse *s = setup_sse(&loop);
	int i;

	(void)state;
	publish(s, "ann", "a", 1); /* id 1 */
	publish(s, "bob", "b", 2); /* id 2 */
	publish(s, "ann", "c", 3); /* id 3 */
	sse_wait(s, req(0), STR_LIT("ann"), 1, NULL);
	assert_int_equal(nanswers, 1);
	assert_string_equal(answers[0].body,
	    "retry: 300\n"
	    "id: 3\nevent: change\n"
	    "data: {\"kind\":\"push\",\"document\":\"c\",\"timestamp\":3}"
	    "\n\n"
	    "id: 3\n\n");
	/* up to date: held */
	sse_wait(s, req(1), STR_LIT("ann"), 3, NULL);
	assert_int_equal(nanswers, 1);
	/* an id from before a restart (larger than any): from now */
	sse_wait(s, req(2), STR_LIT("ann"), 1000, NULL);
	assert_int_equal(nanswers, 1);
	publish(s, "ann", "d", 4); /* id 4: both answered */
	assert_int_equal(nanswers, 3);
	assert_int_equal(events_in(answers[1].body), 1);
	assert_int_equal(events_in(answers[2].body), 1);
	assert_non_null(strstr(answers[2].body, "\"document\":\"d\""));
	/* a long absence: only the SSE_RING latest are kept */
	for (i = 0; i < SSE_RING + 5; i++)
		publish(s, "ann", "x", 10 + i);
	sse_wait(s, req(3), STR_LIT("ann"), 1, NULL);
	assert_int_equal(nanswers, 4);
	assert_int_equal(events_in(answers[3].body), SSE_RING);
	assert_null(strstr(answers[3].body, "\"timestamp\":14}"));
	assert_non_null(strstr(answers[3].body, "\"timestamp\":15}"));
	assert_non_null(strstr(answers[3].body, "id: 41\n\n"));
	teardown_sse(&loop, s);
}

static void
test_sse__held_until_due(void **state)
{
	uv_loop_t loop;
	struct sse *s = setup_sse(&loop);

	(void)state;
	sse_wait(s, req(0), STR_LIT("ann"), 0, NULL);
	sse_wait(s, req(1), STR_LIT("bob"), 0, NULL);
	on_tick(s->timer);
	assert_int_equal(nanswers, 0);
	/* ann's time is up (the newest waiter is first): empty answer */
	assert_ptr_equal(s->waiters->next->req, req(0));
	s->waiters->next->due = 0;
	on_tick(s->timer);
	assert_int_equal(nanswers, 1);
	assert_ptr_equal(answers[0].req, req(0));
	assert_string_equal(answers[0].body, "retry: 300\nid: 0\n\n");
	assert_int_equal(s->nwaiters, 1);
	teardown_sse(&loop, s);
	/* the shutdown answered bob */
	assert_int_equal(nanswers, 2);
	assert_ptr_equal(answers[1].req, req(1));
}

static void
test_sse__limits_and_shutdown(void **state)
{
	uv_loop_t loop;
	struct sse *s = setup_sse(&loop);
	size_t i;

	(void)state;
	for (i = 0; i < SSE_MAX_WAITERS; i++)
		sse_wait(s, req(i), STR_LIT("ann"), 0, NULL);
	assert_int_equal(nanswers, 0);
	/* one too many: answered at once, with no events */
	sse_wait(s, req(SSE_MAX_WAITERS), STR_LIT("bob"), 0, NULL);
	assert_int_equal(nanswers, 1);
	assert_ptr_equal(answers[0].req, req(SSE_MAX_WAITERS));
	assert_int_equal(events_in(answers[0].body), 0);
	/* shutdown answers every waiter, and later requests at once */
	sse_shutdown(s);
	assert_int_equal(nanswers, 1 + SSE_MAX_WAITERS);
	assert_int_equal(s->nwaiters, 0);
	sse_wait(s, req(SSE_MAX_WAITERS + 1), STR_LIT("ann"), 0, NULL);
	assert_int_equal(nanswers, 2 + SSE_MAX_WAITERS);
	teardown_sse(&loop, s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_sse__wait_from_now, teardown),
	    cmocka_unit_test_teardown(test_sse__missed_events, teardown),
	    cmocka_unit_test_teardown(test_sse__held_until_due, teardown),
	    cmocka_unit_test_teardown(test_sse__limits_and_shutdown, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	free(reqs);
	return rc;
}
