/*
 * basicauth.c: HTTP Basic sign-in (see basicauth.h): extract the
 * credentials (auth.c), ask the limiter, then the store; count a failure
 * or clear the failures on success.
 *
 * The per-request state lives in http_alloc() memory.
 */
#include <string.h>

#include "auth.h"
#include "basicauth.h"
#include "ratelimit.h"

struct basicauth {
	struct http_request *req;
	struct store *st;
	struct ratelimit *rl;
	enum store_device_what what;
	struct auth_cred cred; /* user NUL-terminated in req's memory */
	basicauth_fn *cb;
	void *arg;
};

/* store_cb: the store's verdict on the credentials. */
static void
basicauth_checked(void *arg, const struct store_reply *rep)
{
	struct basicauth *a = arg;
	uint64_t now = ratelimit_now_ms();

	if (rep->result == STORE_OK) {
		ratelimit_auth_ok(a->rl, a->cred.user, a->req->peer, now);
		store_device_note(a->st, a->cred.user, rep->devcred, a->what,
		    a->req->peer, http_header_get(a->req, "user-agent", NULL),
		    NULL, STR_NULL);
		a->cb(a->arg, a->cred.user.p, 0, NULL);
		return;
	}
	if (rep->result == STORE_ERR_AUTH ||
	    rep->result == STORE_ERR_NOTFOUND) {
		ratelimit_auth_failed(a->rl, a->cred.user, a->req->peer, now);
		a->cb(a->arg, NULL, 401, "Wrong user name or password.");
		return;
	}
	a->cb(
	    a->arg, NULL, 503, "The account store is unavailable; try again.");
}

void
basicauth_check(struct http_request *req, struct store *st,
    struct ratelimit *rl, enum store_device_what what, basicauth_fn *cb,
    void *arg)
{
	struct basicauth *a = http_alloc(req, sizeof(*a));
	struct auth_headers h;
	char *scratch = NULL, *user;
	size_t n;

	memset(a, 0, sizeof(*a));
	a->req = req;
	a->st = st;
	a->rl = rl;
	a->what = what;
	a->cb = cb;
	a->arg = arg;
	memset(&h, 0, sizeof(h));
	h.authorization =
	    http_header_get(req, "authorization", &h.nauthorization);
	if (h.authorization == NULL)
		h.nauthorization = 0;
	n = auth_scratch_size(&h);
	if (n > 0)
		scratch = http_alloc(req, n);
	if (h.authorization == NULL ||
	    !str_has_prefix(*h.authorization, "Basic ") ||
	    auth_extract(&h, scratch, &a->cred) == -1) {
		cb(arg, NULL, 401,
		    "Sign in with your account's user name and password.");
		return;
	}
	user = http_alloc(req, a->cred.user.len + 1);
	memcpy(user, a->cred.user.p, a->cred.user.len);
	user[a->cred.user.len] = '\0';
	a->cred.user.p = user;
	req->log_user = a->cred.user;
	if (!ratelimit_auth_allowed(
	        rl, a->cred.user, req->peer, ratelimit_now_ms())) {
		cb(arg, NULL, 401,
		    "Too many failed sign-ins; try again later.");
		return;
	}
	store_user_auth(st, a->cred.user, a->cred.key, basicauth_checked, a);
}
