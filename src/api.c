/*
 * api.c: the KOReader sync protocol (docs/protocol.md §3.1, §4, §9) on
 * top of the router, the credential rules and the store.
 *
 * Order of checks for every request, as the reference server does it
 * (§2.2) with our choices (§9):
 *   1. a body, when there is one, must be a JSON object (400/103, 400/104);
 *   2. with strict_accept, the Accept header (412/100, 101, 102);
 *   3. routing (the path the front router normalised, front.h):
 *      404 unknown path, 405 wrong method (with Allow), OPTIONS
 *      on a known path is a CORS preflight (204);
 *   4. registration switched off (402/2005), then too many registrations
 *      from the client's address (402/2007), for POST /users/create;
 *   5. credentials (401/2001; missing, malformed, unknown or wrong alike,
 *      and, without the key being looked at, a name or address over its
 *      failed-login limit: see ratelimit.h; with several instances on
 *      one Redis every instance counts every instance's failures and
 *      registrations, pubsub.h);
 *   6. the document (403/2004), then the other fields (403/2003).
 * Because the store verifies the credentials inside each operation, a
 * request whose fields are invalid first asks the store to verify the
 * credentials alone, so a wrong key still answers 401 before any 403.
 *
 * Every answer is JSON with Access-Control-Allow-Origin: *; errors are
 * {"code":N,"message":"..."} from one table. Nothing here answers 200 for
 * a change the store did not confirm.
 *
 * Memory: per-request state lives in http_alloc() memory; response bodies
 * are built in one buffer owned by struct api (the loop is single-threaded
 * and http_reply() copies the body), so a request costs no malloc here.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "auth.h"
#include "config.h"
#include "json.h"
#include "metrics.h"
#include "policy.h"
#include "ratelimit.h"
#include "router.h"
#include "pubsub.h"
#include "store.h"
#include "xmalloc.h"

enum api_error {
	API_OK = 0,
	API_ERR_ACCEPT_MISSING,
	API_ERR_ACCEPT_FORMAT,
	API_ERR_ACCEPT_VERSION,
	API_ERR_BODY_JSON,
	API_ERR_BODY_HASH,
	API_ERR_UNAVAILABLE,
	API_ERR_SERVER,
	API_ERR_UNAUTHORIZED,
	API_ERR_USER_EXISTS,
	API_ERR_INVALID,
	API_ERR_DOCUMENT,
	API_ERR_REGISTRATION_OFF,
	API_ERR_ACCOUNT_NOT_FOUND,
	API_ERR_NOT_FOUND,
	API_ERR_METHOD,
	API_ERR_REGISTER_LIMITED,
	API_ERR_USER_LIMIT,
	API_ERR__COUNT,
};

/* Status, code and message of each error (docs/protocol.md §4). */
static const struct api_error_info {
	int status;
	int code;
	const char *message;
} api_errors[API_ERR__COUNT] = {
    [API_OK] = {200, 0, ""},
    [API_ERR_ACCEPT_MISSING] = {412, 100, "Accept header not set."},
    [API_ERR_ACCEPT_FORMAT] = {412, 101, "Invalid Accept header format."},
    [API_ERR_ACCEPT_VERSION] = {412, 102,
        "Unsupported version specified in the Accept header."},
    [API_ERR_BODY_JSON] = {400, 103, "Could not parse JSON in body."},
    [API_ERR_BODY_HASH] = {400, 104, "Body should be a JSON hash."},
    [API_ERR_UNAVAILABLE] = {502, 1000, "Cannot connect to redis server."},
    [API_ERR_SERVER] = {502, 2000, "Unknown server error."},
    [API_ERR_UNAUTHORIZED] = {401, 2001, "Unauthorized"},
    [API_ERR_USER_EXISTS] = {402, 2002, "Username is already registered."},
    [API_ERR_INVALID] = {403, 2003, "Invalid request"},
    [API_ERR_DOCUMENT] = {403, 2004, "Field 'document' not provided."},
    [API_ERR_REGISTRATION_OFF] = {402, 2005, "User registration is disabled."},
    [API_ERR_ACCOUNT_NOT_FOUND] = {404, 2006, "Account not found."},
    [API_ERR_NOT_FOUND] = {404, 404, "Not found."},
    [API_ERR_METHOD] = {405, 405, "Method not allowed."},
    /* 402 because KOReader shows the message of a 402 (docs/security.md). */
    [API_ERR_REGISTER_LIMITED] = {402, 2007,
        "Too many registrations, try again later."},
    /* A per-user limit (user_max_*, docs/security.md); nothing changed. */
    [API_ERR_USER_LIMIT] = {507, 2008,
        "Storage limit of this account reached."},
};

#define API_CORS "Access-Control-Allow-Origin: *\r\n"
#define API_PREFLIGHT                                                          \
	"Access-Control-Allow-Headers: accept, content-type, authorization, "  \
	"x-auth-user, x-auth-key\r\n"                                          \
	"Access-Control-Max-Age: 86400\r\n"

struct api {
	struct store *st;
	const struct config *cfg;
	struct ratelimit *rl;         /* brute-force limits (borrowed) */
	struct metrics *metrics;      /* failed authentications; or NULL */
	struct buf out;               /* response bodies, reused */
	char *errors[API_ERR__COUNT]; /* prebuilt error bodies */
	size_t error_len[API_ERR__COUNT];
};

/* One request in flight (http_alloc memory, gone after the reply). */
struct api_call {
	struct api *api;
	struct http_request *req;
	const struct json_value *body; /* NULL: no body */
	struct str param;              /* route parameter, percent-encoded */
	struct auth_cred cred;
	struct store_push push;
	struct str new_key;
	struct str document;
	enum api_error pending; /* answer once the credentials are verified */
	bool rl_auth; /* the credentials went to the store: count the result */
};

/*
 * Answers
 */

static void
api_send(struct api_call *c, int status, const struct buf *b)
{
	if (c->rl_auth)
		ratelimit_auth_ok(
		    c->api->rl, c->cred.user, c->req->peer, ratelimit_now_ms());
	http_reply_ex(c->req, status, NULL, API_CORS, b->data, b->len);
}

/* Answer with error e. Returns 0 so handlers can end with it. */
static int
api_fail(struct api_call *c, enum api_error e)
{
	assert(e > API_OK && e < API_ERR__COUNT);
	if (e == API_ERR_UNAUTHORIZED)
		metrics_auth_failed(c->api->metrics);
	if (c->rl_auth && e == API_ERR_UNAUTHORIZED)
		ratelimit_auth_failed(
		    c->api->rl, c->cred.user, c->req->peer, ratelimit_now_ms());
	http_reply_ex(c->req, api_errors[e].status, NULL, API_CORS,
	    c->api->errors[e], c->api->error_len[e]);
	return 0;
}

/* The error for a store result other than STORE_OK. */
static enum api_error
api_store_error(enum store_result r)
{
	switch (r) {
	case STORE_OK:
		break;
	case STORE_ERR_AUTH:
	case STORE_ERR_NOTFOUND:
		return API_ERR_UNAUTHORIZED;
	case STORE_ERR_EXISTS:
		return API_ERR_USER_EXISTS;
	case STORE_ERR_IO:
		return API_ERR_SERVER;
	case STORE_ERR_UNAVAILABLE:
		return API_ERR_UNAVAILABLE;
	case STORE_ERR_LIMIT:
		return API_ERR_USER_LIMIT;
	}
	return API_ERR_SERVER;
}

/* Start a response body: an object in api->out. */
static struct json_out
api_begin(struct api_call *c)
{
	struct json_out o;

	buf_reset(&c->api->out);
	json_out_init(&o, &c->api->out, false);
	json_obj_begin(&o);
	return o;
}

/* Finish the object begun with api_begin and send it. */
static int
api_finish(struct api_call *c, struct json_out *o, int status)
{
	json_obj_end(o);
	api_send(c, status, &c->api->out);
	return 0;
}

/*
 * Input rules (pure functions)
 */

static void *
api_json_alloc(void *ctx, size_t size)
{
	return http_alloc(ctx, size);
}

/*
 * Strict Accept (docs/protocol.md §2.2 step 2): the reference matches the Lua
 * pattern ^application/vnd.koreader.v(%d+)(.*)+json$, in which '.' is any
 * character and '+' before "json" is literal. The greedy digit run is the
 * major version; it must read as 1 ("v01" does).
 */
static enum api_error
api_accept_check(const struct str *accept, size_t count)
{
	static const char pre[] = "application/vnd?koreader?v";
	const char *p;
	size_t i, n, d, len;

	if (accept == NULL || count == 0)
		return API_ERR_ACCEPT_MISSING;
	if (count > 1)
		return API_ERR_ACCEPT_FORMAT;
	p = accept->p;
	len = accept->len;
	n = sizeof(pre) - 1;
	if (len < n)
		return API_ERR_ACCEPT_FORMAT;
	for (i = 0; i < n; i++)
		if (pre[i] != '?' && p[i] != pre[i])
			return API_ERR_ACCEPT_FORMAT;
	for (d = i; d < len && p[d] >= '0' && p[d] <= '9'; d++)
		;
	if (d == i || len - d < 5 || memcmp(p + len - 5, "+json", 5) != 0)
		return API_ERR_ACCEPT_FORMAT;
	while (i < d - 1 && p[i] == '0')
		i++;
	if (d - i != 1 || p[i] != '1')
		return API_ERR_ACCEPT_VERSION;
	return API_OK;
}

/*
 * The document rule, the same for PUT bodies and GET paths (§9.8):
 * store_document_valid (no ':', '/', control characters, invalid UTF-8,
 * "." or "..").
 */
static bool
api_document_valid(struct str d)
{
	return store_document_valid(d, false);
}

/*
 * progress, device and device_id: a JSON string, byte for byte, or a
 * number written as Lua's tostring() does (%.14g: 56 -> "56"), for clients
 * from before March 2022. Anything else (null, booleans, objects, arrays)
 * is refused (§9.5). Returns 0 or -1.
 */
static int
api_text_field(const struct json_value *v, struct str *out,
    json_alloc_fn *alloc, void *ctx)
{
	double d;
	char *p;
	int n;

	if (v == NULL)
		return -1;
	if (v->type == JSON_STRING) {
		*out = v->text;
	} else if (v->type == JSON_NUMBER) {
		if (json_number(v, false, &d) == -1)
			return -1;
		p = alloc(ctx, 32);
		n = snprintf(p, 32, "%.14g", d);
		if (n < 0 || n >= 32)
			return -1;
		out->p = p;
		out->len = (size_t)n;
	} else {
		return -1;
	}
	return out->len <= STORE_MAX_FIELD ? 0 : -1;
}

/* A metadata member: a string within the limit, else absent. */
static struct str
api_metadata_field(const struct json_value *md, const char *name)
{
	const struct json_value *v = json_get(md, name);

	if (v == NULL || v->type != JSON_STRING ||
	    v->text.len > STORE_MAX_METADATA)
		return STR_NULL;
	return v->text;
}

/*
 * A push's own "timestamp": a number of seconds after 1970 and before
 * 2^40, else 0 (none; a string or milliseconds are not guessed at).
 */
static int64_t
api_client_ts(const struct json_value *v)
{
	double d;

	if (v == NULL || v->type != JSON_NUMBER ||
	    json_number(v, false, &d) != 0 || !(d >= 1 && d < 1099511627776.0))
		return 0;
	return (int64_t)d;
}

/* Who pushes or pulls, for the account's progress policy (policy.h). */
static uint64_t
api_client(const struct api_call *c)
{
	const struct str *agent = http_header_get(c->req, "user-agent", NULL);

	return policy_client(
	    str_from(c->req->peer), agent != NULL ? *agent : STR_NULL);
}

/*
 * Read a progress push from body into out. Returns API_OK,
 * API_ERR_DOCUMENT or API_ERR_INVALID. Rules (§5, §9.4 to §9.7, §9.20):
 *   - document: see api_document_valid; absent or null is 2004;
 *   - percentage: a number or a numeric string (Lua tonumber), finite; no
 *     range check, as the reference server;
 *   - progress, device: required, see api_text_field;
 *   - device_id: optional (absent or null keeps the stored one);
 *   - metadata: an object gives filename/title/authors; otherwise none,
 *     and the store keeps what it had;
 *   - timestamp is not stored (the server writes its own); a number of
 *     seconds is read as the client's time, for the account's progress
 *     policy (docs/policy.md); unknown members are ignored.
 */
static enum api_error
api_push_read(const struct json_value *body, struct store_push *out,
    json_alloc_fn *alloc, void *ctx)
{
	const struct json_value *v;

	memset(out, 0, sizeof(*out));
	if (body == NULL)
		return API_ERR_INVALID;
	v = json_get(body, "document");
	if (v == NULL || v->type != JSON_STRING || !api_document_valid(v->text))
		return API_ERR_DOCUMENT;
	out->document = v->text;
	if (json_number(json_get(body, "percentage"), true, &out->percentage) ==
	    -1)
		return API_ERR_INVALID;
	if (api_text_field(
	        json_get(body, "progress"), &out->progress, alloc, ctx) == -1 ||
	    api_text_field(
	        json_get(body, "device"), &out->device, alloc, ctx) == -1)
		return API_ERR_INVALID;
	v = json_get(body, "device_id");
	if (v != NULL && v->type != JSON_NULL &&
	    api_text_field(v, &out->device_id, alloc, ctx) == -1)
		return API_ERR_INVALID;
	v = json_get(body, "metadata");
	if (v != NULL && v->type == JSON_OBJECT) {
		out->has_metadata = true;
		out->filename = api_metadata_field(v, "filename");
		out->title = api_metadata_field(v, "title");
		out->authors = api_metadata_field(v, "authors");
	}
	out->client_ts = api_client_ts(json_get(body, "timestamp"));
	return API_OK;
}

/* A string member of body that passes ok(), or a NULL slice. */
static struct str
api_string_member(
    const struct json_value *body, const char *name, bool (*ok)(struct str))
{
	const struct json_value *v = json_get(body, name);

	if (v == NULL || v->type != JSON_STRING || !ok(v->text))
		return STR_NULL;
	return v->text;
}

/*
 * Store callbacks
 */

/* After a credentials-only check: answer the pending field error. */
static void
api_pending_cb(void *arg, const struct store_reply *r)
{
	struct api_call *c = arg;

	if (r->result != STORE_OK) {
		api_fail(c, api_store_error(r->result));
		return;
	}
	ratelimit_auth_ok(
	    c->api->rl, c->cred.user, c->req->peer, ratelimit_now_ms());
	api_fail(c, c->pending);
}

/* Verify the credentials, then answer e (a 403 that comes after 401). */
static int
api_fail_after_auth(struct api_call *c, enum api_error e)
{
	c->pending = e;
	store_user_auth(
	    c->api->st, c->cred.user, c->cred.key, api_pending_cb, c);
	return 0;
}

/* A device credential signed in: record its use (docs/devices.md). */
static void
api_note_device(struct api_call *c, const struct store_reply *r,
    const struct store_push *push)
{
	if (r->devcred != NULL)
		store_device_note(c->api->st, c->cred.user, r->devcred,
		    push != NULL            ? STORE_DEVICE_PUSH
		    : c->document.p != NULL ? STORE_DEVICE_PULL
		                            : STORE_DEVICE_AUTH,
		    c->req->peer, http_header_get(c->req, "user-agent", NULL),
		    push, c->document);
}

static void
api_create_cb(void *arg, const struct store_reply *r)
{
	struct api_call *c = arg;
	struct json_out o;

	if (r->result != STORE_OK) {
		api_fail(c, api_store_error(r->result));
		return;
	}
	o = api_begin(c);
	json_key(&o, "username");
	json_strn(&o, c->cred.user.p, c->cred.user.len);
	api_finish(c, &o, 201);
}

static void
api_auth_cb(void *arg, const struct store_reply *r)
{
	struct api_call *c = arg;
	struct json_out o;

	if (r->result != STORE_OK) {
		api_fail(c, api_store_error(r->result));
		return;
	}
	api_note_device(c, r, NULL);
	o = api_begin(c);
	json_key(&o, "authorized");
	json_str(&o, "OK");
	api_finish(c, &o, 200);
}

static void
api_put_cb(void *arg, const struct store_reply *r)
{
	struct api_call *c = arg;
	struct json_out o;

	if (r->result != STORE_OK) {
		api_fail(c, api_store_error(r->result));
		return;
	}
	api_note_device(c, r, &c->push);
	o = api_begin(c);
	json_key(&o, "document");
	json_strn(&o, c->push.document.p, c->push.document.len);
	json_key(&o, "timestamp");
	json_int(&o, r->timestamp);
	api_finish(c, &o, 200);
}

static void
api_get_cb(void *arg, const struct store_reply *r)
{
	struct api_call *c = arg;
	const struct store_doc *d = r->doc;
	struct json_out o;

	if (r->result != STORE_OK) {
		api_fail(c, api_store_error(r->result));
		return;
	}
	api_note_device(c, r, NULL);
	if (r->note_pull)
		store_progress_pulled(
		    c->api->st, c->cred.user, c->document, api_client(c));
	o = api_begin(c);
	/* An unknown document is 200 {} (§9.1): never a percentage. */
	if (d != NULL) {
		json_key(&o, "document");
		json_strn(&o, c->document.p, c->document.len);
		json_key(&o, "percentage");
		json_double(&o, d->percentage);
		json_key(&o, "progress");
		json_str(&o, d->progress ? d->progress : "");
		json_key(&o, "device");
		json_str(&o, d->device ? d->device : "");
		if (d->device_id != NULL && d->device_id[0] != '\0') {
			json_key(&o, "device_id");
			json_str(&o, d->device_id);
		}
		json_key(&o, "timestamp");
		json_int(&o, d->timestamp);
	}
	api_finish(c, &o, 200);
}

static void
api_delete_cb(void *arg, const struct store_reply *r)
{
	struct api_call *c = arg;
	struct json_out o;

	if (r->result == STORE_ERR_NOTFOUND) {
		api_fail(c, API_ERR_ACCOUNT_NOT_FOUND);
		return;
	}
	if (r->result != STORE_OK) {
		api_fail(c, api_store_error(r->result));
		return;
	}
	store_account_changed(c->api->st, c->cred.user);
	o = api_begin(c);
	json_key(&o, "deleted");
	json_bool(&o, true);
	api_finish(c, &o, 200);
}

static void
api_password_cb(void *arg, const struct store_reply *r)
{
	struct api_call *c = arg;
	struct json_out o;

	if (r->result != STORE_OK) {
		api_fail(c, api_store_error(r->result));
		return;
	}
	store_account_changed(c->api->st, c->cred.user);
	o = api_begin(c);
	json_key(&o, "updated");
	json_bool(&o, true);
	api_finish(c, &o, 200);
}

/*
 * Handlers (one per route)
 */

static int
api_healthcheck(void *arg)
{
	struct api_call *c = arg;
	struct json_out o = api_begin(c);

	json_key(&o, "state");
	json_str(&o, "OK");
	return api_finish(c, &o, 200);
}

static int
api_users_create(void *arg)
{
	struct api_call *c = arg;

	if (c->api->cfg->disable_registration)
		return api_fail(c, API_ERR_REGISTRATION_OFF);
	if (c->body == NULL)
		return api_fail(c, API_ERR_INVALID);
	c->cred.user =
	    api_string_member(c->body, "username", auth_username_registrable);
	c->cred.key = api_string_member(c->body, "password", auth_key_valid);
	if (c->cred.user.p == NULL || c->cred.key.p == NULL)
		return api_fail(c, API_ERR_INVALID);
	c->req->log_user = c->cred.user;
	if (!ratelimit_register(c->api->rl, c->req->peer, ratelimit_now_ms()))
		return api_fail(c, API_ERR_REGISTER_LIMITED);
	store_user_create(
	    c->api->st, c->cred.user, c->cred.key, api_create_cb, c);
	return 0;
}

static int
api_users_auth(void *arg)
{
	struct api_call *c = arg;

	store_user_auth(c->api->st, c->cred.user, c->cred.key, api_auth_cb, c);
	return 0;
}

static int
api_progress_put(void *arg)
{
	struct api_call *c = arg;
	const struct str *agent;
	enum api_error e;

	e = api_push_read(c->body, &c->push, api_json_alloc, c->req);
	if (e != API_OK)
		return api_fail_after_auth(c, e);
	c->push.peer = str_from(c->req->peer);
	agent = http_header_get(c->req, "user-agent", NULL);
	c->push.agent = agent != NULL ? *agent : STR_NULL;
	store_progress_put(
	    c->api->st, c->cred.user, c->cred.key, &c->push, api_put_cb, c);
	return 0;
}

static int
api_progress_get(void *arg)
{
	struct api_call *c = arg;
	char *doc;
	long n;

	doc = http_alloc(c->req, c->param.len + 1);
	n = str_unescape(c->param, doc);
	if (n < 0)
		return api_fail_after_auth(c, API_ERR_DOCUMENT);
	doc[n] = '\0';
	c->document.p = doc;
	c->document.len = (size_t)n;
	if (!api_document_valid(c->document))
		return api_fail_after_auth(c, API_ERR_DOCUMENT);
	store_progress_get(
	    c->api->st, c->cred.user, c->cred.key, c->document, api_get_cb, c);
	return 0;
}

static int
api_users_delete(void *arg)
{
	struct api_call *c = arg;

	store_user_delete(
	    c->api->st, c->cred.user, c->cred.key, api_delete_cb, c);
	return 0;
}

static int
api_users_password(void *arg)
{
	struct api_call *c = arg;

	/* Any "username" in the body is ignored, as the reference does. */
	c->new_key = api_string_member(c->body, "password", auth_key_valid);
	if (c->body == NULL || c->new_key.p == NULL)
		return api_fail_after_auth(c, API_ERR_INVALID);
	store_user_set_key(c->api->st, c->cred.user, c->cred.key, c->new_key,
	    api_password_cb, c);
	return 0;
}

/*
 * The route table. GET /syncs/progress without a document is listed with
 * no handler so that it is an unknown route (404), never the pull handler
 * and never a 405 (§9.15).
 */
static const struct route api_routes[] = {
    {HTTP_M_GET, "/healthcheck", api_healthcheck, 0},
    {HTTP_M_POST, "/users/create", api_users_create, ROUTE_BODY},
    {HTTP_M_GET, "/users/auth", api_users_auth, ROUTE_AUTH},
    {HTTP_M_PUT, "/syncs/progress", api_progress_put, ROUTE_AUTH | ROUTE_BODY},
    {HTTP_M_GET, "/syncs/progress", NULL, 0},
    {HTTP_M_GET, "/syncs/progress/:document", api_progress_get, ROUTE_AUTH},
    {HTTP_M_DELETE, "/users/me", api_users_delete, ROUTE_AUTH},
    {HTTP_M_PUT, "/users/password", api_users_password,
        ROUTE_AUTH | ROUTE_BODY},
};

/* The metrics route of each row of api_routes (the hidden one: unused). */
static const enum metrics_route api_route_metrics[] = {
    METRICS_R_HEALTH,
    METRICS_R_CREATE,
    METRICS_R_AUTH,
    METRICS_R_PUSH,
    METRICS_R_OTHER,
    METRICS_R_PULL,
    METRICS_R_DELETE,
    METRICS_R_PASSWORD,
};
_Static_assert(sizeof(api_route_metrics) / sizeof(api_route_metrics[0]) ==
                   sizeof(api_routes) / sizeof(api_routes[0]),
    "a metrics route per API route");

/*
 * Dispatch
 */

/* Fill c->cred from the request's headers. Returns 0 or -1 (401). */
static int
api_credentials(struct api_call *c)
{
	struct http_request *req = c->req;
	struct auth_headers h;
	char *scratch = NULL, *user;
	size_t n;

	memset(&h, 0, sizeof(h));
	h.user = http_header_get(req, "x-auth-user", &h.nuser);
	h.key = http_header_get(req, "x-auth-key", &h.nkey);
	h.authorization =
	    http_header_get(req, "authorization", &h.nauthorization);
	if (h.user == NULL)
		h.nuser = 0;
	if (h.key == NULL)
		h.nkey = 0;
	if (h.authorization == NULL)
		h.nauthorization = 0;
	n = auth_scratch_size(&h);
	if (n > 0)
		scratch = http_alloc(req, n);
	if (auth_extract(&h, scratch, &c->cred) == -1)
		return -1;
	user = http_alloc(req, c->cred.user.len + 1);
	memcpy(user, c->cred.user.p, c->cred.user.len);
	user[c->cred.user.len] = '\0';
	req->log_user.p = user;
	req->log_user.len = c->cred.user.len;
	return 0;
}

/* 204 to a CORS preflight on a known path. */
static void
api_preflight(struct api_call *c, unsigned allow)
{
	char list[64], *hdr;
	size_t n, len;

	n = router_allow_list(allow, list, sizeof(list));
	len = 2 * n + 128 + sizeof(API_CORS API_PREFLIGHT);
	hdr = http_alloc(c->req, len);
	snprintf(hdr, len,
	    "Allow: %s\r\nAccess-Control-Allow-Methods: %s\r\n" API_CORS
	        API_PREFLIGHT,
	    list, list);
	http_reply_ex(c->req, 204, NULL, hdr, "", 0);
}

/* 405 with an Allow header. */
static void
api_bad_method(struct api_call *c, unsigned allow)
{
	char list[64], *hdr;
	size_t n, len;
	enum api_error e = API_ERR_METHOD;

	n = router_allow_list(allow, list, sizeof(list));
	len = n + 16 + sizeof(API_CORS);
	hdr = http_alloc(c->req, len);
	snprintf(hdr, len, "Allow: %s\r\n" API_CORS, list);
	http_reply_ex(c->req, api_errors[e].status, NULL, hdr,
	    c->api->errors[e], c->api->error_len[e]);
}

void
api_handle(struct http_request *req, void *ctx)
{
	struct api *api = ctx;
	struct api_call *c;
	struct router_match m;
	const struct str *accept;
	enum api_error e;
	size_t count = 0;

	c = http_alloc(req, sizeof(*c));
	memset(c, 0, sizeof(*c));
	c->api = api;
	c->req = req;

	/* 1. The body, before anything else, as the reference does. */
	if (req->body.len > 0) {
		c->body = json_parse(
		    req->body.p, req->body.len, api_json_alloc, req, NULL);
		if (c->body == NULL) {
			api_fail(c, API_ERR_BODY_JSON);
			return;
		}
		/* Anything but an object, "[]" included (the reference
		 * passes an empty array on and then fails with a 500). */
		if (c->body->type != JSON_OBJECT) {
			api_fail(c, API_ERR_BODY_HASH);
			return;
		}
	}

	/* 2. Accept, in strict mode. A CORS preflight cannot carry it. */
	if (api->cfg->strict_accept && req->method != HTTP_M_OPTIONS) {
		accept = http_header_get(req, "accept", &count);
		e = api_accept_check(accept, accept != NULL ? count : 0);
		if (e != API_OK) {
			api_fail(c, e);
			return;
		}
	}

	/* 3. Routing, on the path the front router normalised. */
	switch (
	    router_find(api_routes, sizeof(api_routes) / sizeof(api_routes[0]),
	        req->method, req->route, &m)) {
	case ROUTER_NOT_FOUND:
		api_fail(c, API_ERR_NOT_FOUND);
		return;
	case ROUTER_BAD_METHOD:
		if (req->method == HTTP_M_OPTIONS)
			api_preflight(c, m.allow);
		else
			api_bad_method(c, m.allow);
		return;
	case ROUTER_FOUND:
		break;
	}
	c->param = m.param;
	req->metrics_route = 1 + (int)metrics_route_matched(
	                             api_route_metrics[m.route - api_routes],
	                             req->method, req->path, req->route);

	/* 5. Credentials (4, registration, is the create handler's). */
	if (m.route->flags & ROUTE_AUTH) {
		if (api_credentials(c) == -1) {
			api_fail(c, API_ERR_UNAUTHORIZED);
			return;
		}
		/* Over a failed-login limit: 401 without looking at the key. */
		if (!ratelimit_auth_allowed(
		        api->rl, c->cred.user, req->peer, ratelimit_now_ms())) {
			api_fail(c, API_ERR_UNAUTHORIZED);
			return;
		}
		c->rl_auth = true;
	}
	m.route->handler(c);
}

/*
 * Life cycle
 */

struct api *
api_new(struct store *st, const struct config *cfg, struct ratelimit *rl)
{
	struct api *api = xcalloc(1, sizeof(*api));
	size_t i;

	api->st = st;
	api->cfg = cfg;
	buf_init(&api->out);
	api->rl = rl;

	for (i = 1; i < API_ERR__COUNT; i++) {
		http_error_format(
		    &api->out, api_errors[i].code, api_errors[i].message);
		api->errors[i] = buf_detach(&api->out, &api->error_len[i]);
	}
	return api;
}

void
api_free(struct api *api)
{
	size_t i;

	if (api == NULL)
		return;
	for (i = 1; i < API_ERR__COUNT; i++)
		free(api->errors[i]);
	buf_release(&api->out);
	free(api);
}

void
api_set_metrics(struct api *api, struct metrics *m)
{
	api->metrics = m;
}
