/*
 * test_webhook.c: webhook.c's bookkeeping without the network (the module
 * stopped, so nothing is delivered): the queue bound drops the oldest and
 * counts it in the log, a deleted webhook's waiting deliveries and log go,
 * the status lists no secret and the log newest first, the percentages
 * remembered for started/finished stay within their bounds, and which
 * answers are tried again.
 *
 * UNIT_INCLUDES: src/webhook.c
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/webhook.c"

static struct config cfg;

static struct webhook *
stopped(void)
{
	struct webhook *wh = webhook_new(NULL, NULL, &cfg);

	/* Stopped: kick() never connects, items stay queued. */
	wh->stopped = true;
	return wh;
}

static struct hook
hook_of(const char *id)
{
	struct hook h;

	memset(&h, 0, sizeof(h));
	snprintf(h.id, sizeof(h.id), "%s", id);
	snprintf(h.url, sizeof(h.url), "http://192.0.2.1/");
	snprintf(h.secret, sizeof(h.secret), "very-secret-value");
	h.events = HOOK_EV_PROGRESS;
	return h;
}

static void
test_webhook__queue_bound(void **state)
{
	struct webhook *wh;
	struct wh_account *a;
	struct hook_list l;
	struct buf body = BUF_INIT, out = BUF_INIT;
	struct json_out o;
	int i;

	(void)state;
	config_init(&cfg);
	cfg.webhook_queue = 3;
	wh = stopped();
	memset(&l, 0, sizeof(l));
	l.h[0] = hook_of("aaaa1111");
	l.h[1] = hook_of("bbbb2222");
	l.h[1].events = HOOK_EV_FINISHED;
	l.n = 2;
	buf_adds(&body, "{}");
	for (i = 0; i < 5; i++)
		queue_event(wh, str_from("ann"), &l, HOOK_EV_PROGRESS, &body);
	a = account_get(wh, str_from("ann"), false);
	assert_non_null(a);
	assert_int_equal(a->queued, 3);
	assert_int_equal(a->dropped, 2);
	assert_non_null(log_of(a, "aaaa1111", false));
	assert_int_equal(log_of(a, "aaaa1111", false)->n, 2);
	/* Not asked for: nothing queued, no log. */
	assert_null(log_of(a, "bbbb2222", false));

	json_out_init(&o, &out, false);
	json_obj_begin(&o);
	webhook_status(wh, str_from("ann"), &l, &o);
	json_obj_end(&o);
	assert_null(strstr(out.data, "very-secret-value"));
	assert_non_null(strstr(out.data, "\"error\":\"dropped: queue full\""));
	assert_non_null(strstr(out.data, "\"queued\":3,\"dropped\":2"));

	webhook_forget(wh, str_from("ann"), "aaaa1111");
	assert_int_equal(a->queued, 0);
	assert_null(a->head);
	assert_null(a->tail);
	assert_null(log_of(a, "aaaa1111", false));
	buf_release(&body);
	buf_release(&out);
	webhook_free(wh);
	config_release(&cfg);
}

static void
test_webhook__seen_bounds(void **state)
{
	struct webhook *wh;
	struct wh_account *a;
	char id[32];
	bool had;
	double before;
	int i;

	(void)state;
	config_init(&cfg);
	wh = stopped();
	a = account_get(wh, str_from("ann"), true);
	before = seen_swap(a, str_from("d1"), 0.5, &had);
	assert_false(had);
	before = seen_swap(a, str_from("d1"), 0.995, &had);
	assert_true(had);
	assert_true(before == 0.5);
	for (i = 0; i < WEBHOOK_SEEN_MAX + 5; i++) {
		snprintf(id, sizeof(id), "doc%d", i);
		(void)seen_swap(a, str_from(id), 0.1, &had);
	}
	assert_true(a->seen.n <= WEBHOOK_SEEN_MAX);
	assert_int_equal(wh->nseen, a->seen.n);
	webhook_free(wh);
	config_release(&cfg);
}

static void
test_webhook__retry_rule(void **state)
{
	(void)state;
	assert_true(worth_retry(0));
	assert_true(worth_retry(500));
	assert_true(worth_retry(503));
	assert_true(worth_retry(408));
	assert_true(worth_retry(429));
	assert_false(worth_retry(400));
	assert_false(worth_retry(404));
	assert_false(worth_retry(410));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_webhook__queue_bound),
	    cmocka_unit_test(test_webhook__seen_bounds),
	    cmocka_unit_test(test_webhook__retry_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
