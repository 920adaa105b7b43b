/*
 * admin.c: administration operations (see admin.h).
 *
 * Each operation parses its request, calls one store operation and turns
 * the store's answer into a status and a JSON body. An operation in flight
 * is a struct admin_call holding copies of what it needs; it answers once
 * and frees itself.
 *
 * Not here: how the request arrived (the control socket's server, or the
 * command itself when it works offline), what the commands print.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "admin.h"
#include "auth.h"
#include "config.h"
#include "http.h"
#include "json.h"
#include "md5.h"
#include "policy.h"
#include "snapshot.h"
#include "store.h"
#include "xmalloc.h"

struct admin {
	struct store *st;
	struct config *cfg;
};

struct admin_call {
	struct admin *a;
	admin_done_fn *done;
	void *arg;
	char *user; /* the user name acted on, NUL-terminated */
	size_t user_len;
	int ok_status;
	bool admin; /* user-add --admin, user-admin: the flag wanted */
	bool flag;  /* user-admin: the answer always says "admin" */
	/* device-add: the generated password, answered once */
	char password[AUTH_DEVICE_PASSWORD_LEN + 1];
};

struct admin *
admin_new(struct store *st, struct config *cfg)
{
	struct admin *a = xcalloc(1, sizeof(*a));

	a->st = st;
	a->cfg = cfg;
	return a;
}

void
admin_free(struct admin *a)
{
	free(a);
}

/* Answer {"code":status,"message":msg}. */
static void
fail(admin_done_fn *done, void *arg, int status, const char *msg)
{
	struct buf out = BUF_INIT;

	http_error_format(&out, status, msg);
	done(arg, status, out.data, out.len);
	buf_release(&out);
}

/* A call on user's account, answering 200 unless told otherwise. */
static struct admin_call *
call_new(struct admin *a, struct str user, admin_done_fn *done, void *arg)
{
	struct admin_call *c = xcalloc(1, sizeof(*c));

	c->a = a;
	c->done = done;
	c->arg = arg;
	c->user = xmemdup0(user.p, user.len);
	c->user_len = user.len;
	c->ok_status = 200;
	return c;
}

static void
call_free(struct admin_call *c)
{
	sodium_memzero(c->password, sizeof(c->password));
	free(c->user);
	free(c);
}

/* Status and message for a store result other than STORE_OK. */
static int
store_status(enum store_result r, const char **msg)
{
	switch (r) {
	case STORE_OK:
		break;
	case STORE_ERR_AUTH:
	case STORE_ERR_NOTFOUND:
		*msg = "no such user";
		return 404;
	case STORE_ERR_EXISTS:
		*msg = "a user of that name exists";
		return 409;
	case STORE_ERR_IO:
		*msg = "the change could not be made durable (see the "
		       "server's log)";
		return 500;
	case STORE_ERR_LIMIT:
		*msg = "a per-user limit would be passed (user_max_*)";
		return 507;
	case STORE_ERR_UNAVAILABLE:
		break;
	}
	*msg = "not available (the storage backend does not support it, or "
	       "kosyncd is stopping)";
	return 503;
}

/*
 * User operations
 */

/* Answer {"username"[,"admin":true]} with the call's success status. */
static void
user_answer(struct admin_call *c)
{
	struct buf out = BUF_INIT;
	struct json_out o;

	json_out_init(&o, &out, false);
	json_obj_begin(&o);
	json_key(&o, "username");
	json_strn(&o, c->user, c->user_len);
	if (c->admin || c->flag) {
		json_key(&o, "admin");
		json_bool(&o, c->admin);
	}
	json_obj_end(&o);
	c->done(c->arg, c->ok_status, out.data, out.len);
	buf_release(&out);
	call_free(c);
}

/* The administrator flag was set (user-add --admin, user-admin). */
static void
admin_set_cb(void *arg, const struct store_reply *r)
{
	struct admin_call *c = arg;
	const char *msg;
	int status;

	if (r->result != STORE_OK) {
		status = store_status(r->result, &msg);
		if (c->ok_status == 201)
			fail(c->done, c->arg, status == 404 ? 500 : status,
			    "the user was added, but not made an "
			    "administrator");
		else
			fail(c->done, c->arg, status, msg);
		call_free(c);
		return;
	}
	user_answer(c);
}

/* Set the flag of the call's user to c->admin. */
static void
admin_set(struct admin_call *c)
{
	struct store_web_change ch;

	memset(&ch, 0, sizeof(ch));
	ch.kind = STORE_WEB_ADMIN;
	ch.admin = c->admin;
	store_web_change(
	    c->a->st, (struct str){c->user, c->user_len}, &ch, admin_set_cb, c);
}

static void
user_cb(void *arg, const struct store_reply *r)
{
	struct admin_call *c = arg;
	const char *msg;
	int status;

	if (r->result != STORE_OK) {
		status = store_status(r->result, &msg);
		fail(c->done, c->arg, status, msg);
		call_free(c);
		return;
	}
	if (c->ok_status == 200) /* a key change or a deletion */
		store_account_changed(
		    c->a->st, (struct str){c->user, c->user_len});
	if (!c->admin) {
		user_answer(c);
		return;
	}
	admin_set(c);
}

/* Whether name is one the protocol could register. */
static bool
valid_name(struct str name)
{
	return name.p != NULL && name.len > 0 &&
	       name.len <= STORE_MAX_USERNAME &&
	       memchr(name.p, ':', name.len) == NULL &&
	       json_utf8_valid(name.p, name.len);
}

static void
run_user(struct admin *a, const char *op, struct str body, admin_done_fn *done,
    void *arg)
{
	struct json_arena ar = JSON_ARENA_INIT;
	const struct json_value *root;
	struct admin_call *c;
	const struct json_value *adm;
	struct str user, key;
	bool flag = strcmp(op, "user-admin") == 0;
	bool needs_key = strcmp(op, "user-del") != 0 && !flag;

	root = json_parse(body.p, body.len, json_arena_alloc, &ar, NULL);
	if (root == NULL || root->type != JSON_OBJECT) {
		fail(done, arg, 400, "the request is not a JSON object");
		goto out;
	}
	user = json_get_str(root, "username");
	key = json_get_str(root, "key");
	/* Registering is the protocol's rule; others act on any name. */
	if (strcmp(op, "user-add") == 0 && !auth_username_registrable(user)) {
		fail(done, arg, 400, AUTH_USERNAME_RULE);
		goto out;
	}
	if (!valid_name(user)) {
		fail(done, arg, 400,
		    "invalid user name (1 to 255 bytes of UTF-8, no ':')");
		goto out;
	}
	if (needs_key &&
	    (key.p == NULL || key.len == 0 || key.len > STORE_MAX_KEY)) {
		fail(done, arg, 400, "invalid key");
		goto out;
	}
	adm = json_get(root, "admin");
	if (flag && (adm == NULL ||
	                (adm->type != JSON_TRUE && adm->type != JSON_FALSE))) {
		fail(done, arg, 400, "admin must be true or false");
		goto out;
	}
	c = call_new(a, user, done, arg);
	c->admin = adm != NULL && adm->type == JSON_TRUE &&
	           (flag || strcmp(op, "user-add") == 0);
	if (flag) {
		c->flag = true;
		admin_set(c);
	} else if (strcmp(op, "user-add") == 0) {
		c->ok_status = 201;
		store_user_create(a->st, user, key, user_cb, c);
	} else if (strcmp(op, "user-passwd") == 0) {
		store_admin_user_set_key(a->st, user, key, user_cb, c);
	} else {
		store_admin_user_delete(a->st, user, user_cb, c);
	}
out:
	json_arena_release(&ar);
}

/*
 * Device credentials
 */

static store_text_cb text_cb;

static void
device_cb(void *arg, const struct store_reply *r)
{
	struct admin_call *c = arg;
	struct buf out = BUF_INIT;
	struct json_out o;
	const char *msg;
	int status;

	if (r->result != STORE_OK) {
		if (r->result == STORE_ERR_NOTFOUND)
			fail(c->done, c->arg, 404, "no such device credential");
		else if (r->result == STORE_ERR_LIMIT)
			fail(c->done, c->arg, 507,
			    "the account has the most device credentials it "
			    "may have (50); revoke one first");
		else {
			status = store_status(r->result, &msg);
			fail(c->done, c->arg, status, msg);
		}
		call_free(c);
		return;
	}
	json_out_init(&o, &out, false);
	json_obj_begin(&o);
	json_key(&o, "username");
	json_strn(&o, c->user, c->user_len);
	if (r->devcred != NULL) {
		json_key(&o, "id");
		json_str(&o, r->devcred);
	}
	if (c->password[0] != '\0') {
		json_key(&o, "password");
		json_str(&o, c->password);
	}
	json_obj_end(&o);
	c->done(c->arg, c->ok_status, out.data, out.len);
	sodium_memzero(out.data, out.len);
	buf_release(&out);
	call_free(c);
}

/*
 * device-add {"username","label"}, device-rename {"username","id","label"},
 * device-revoke {"username","id"}, devices-only {"username","on"},
 * device-policy {"username","policy"} (docs/policy.md);
 * device-list {"username"} and device-audit {"username","id"} answer
 * store_device_list's and store_device_audit's JSON.
 */
static int
device_request(const char *op, const struct json_value *root,
    struct store_device_change *ch, const char **why)
{
	const struct json_value *on;
	int n;

	memset(ch, 0, sizeof(*ch));
	ch->id = json_get_str(root, "id");
	ch->label = json_get_str(root, "label");
	*why = AUTH_DEVICE_LABEL_RULE;
	if (strcmp(op, "device-add") == 0) {
		ch->kind = STORE_DEVICE_ADD;
		return auth_device_label_valid(ch->label) ? 0 : -1;
	}
	if (strcmp(op, "device-policy") == 0) {
		ch->kind = STORE_PROGRESS_POLICY;
		n = policy_parse(json_get_str(root, "policy"));
		*why = "policy must be latest, furthest or guard";
		if (n < 0)
			return -1;
		ch->policy = (uint8_t)n;
		return 0;
	}
	if (strcmp(op, "devices-only") == 0) {
		ch->kind = STORE_DEVICES_ONLY;
		on = json_get(root, "on");
		*why = "on must be true or false";
		if (on == NULL ||
		    (on->type != JSON_TRUE && on->type != JSON_FALSE))
			return -1;
		ch->on = on->type == JSON_TRUE;
		return 0;
	}
	ch->kind = strcmp(op, "device-rename") == 0 ? STORE_DEVICE_RENAME
	                                            : STORE_DEVICE_REVOKE;
	if (ch->kind == STORE_DEVICE_RENAME &&
	    !auth_device_label_valid(ch->label))
		return -1;
	*why = "invalid device credential id";
	return auth_device_id_valid(ch->id) ? 0 : -1;
}

/* device-audit: text_cb, with "no such device credential" for NOTFOUND. */
static void
audit_cb(void *arg, enum store_result r, const char *text, size_t len)
{
	struct admin_call *c = arg;

	if (r != STORE_ERR_NOTFOUND) {
		text_cb(arg, r, text, len);
		return;
	}
	fail(c->done, c->arg, 404, "no such device credential");
	call_free(c);
}

static void
run_device(struct admin *a, const char *op, struct str body,
    admin_done_fn *done, void *arg)
{
	struct json_arena ar = JSON_ARENA_INIT;
	const struct json_value *root;
	struct store_device_change ch;
	struct admin_call *c;
	char key[MD5_HEX_LEN + 1];
	const char *why;
	struct str user, id;

	root = json_parse(body.p, body.len, json_arena_alloc, &ar, NULL);
	if (root == NULL || root->type != JSON_OBJECT) {
		fail(done, arg, 400, "the request is not a JSON object");
		goto out;
	}
	user = json_get_str(root, "username");
	if (!valid_name(user)) {
		fail(done, arg, 400,
		    "invalid user name (1 to 255 bytes of UTF-8, no ':')");
		goto out;
	}
	c = call_new(a, user, done, arg);
	if (strcmp(op, "device-list") == 0) {
		store_device_list(a->st, user, text_cb, c);
		goto out;
	}
	if (strcmp(op, "device-audit") == 0) {
		id = json_get_str(root, "id");
		if (!auth_device_id_valid(id)) {
			call_free(c);
			fail(done, arg, 400, "invalid device credential id");
			goto out;
		}
		store_device_audit(a->st, user, id, audit_cb, c);
		goto out;
	}
	if (device_request(op, root, &ch, &why) != 0) {
		call_free(c);
		fail(done, arg, 400, why);
		goto out;
	}
	if (ch.kind == STORE_DEVICE_ADD) {
		c->ok_status = 201;
		auth_device_password(c->password);
		md5_hex(c->password, AUTH_DEVICE_PASSWORD_LEN, key);
		ch.key = (struct str){key, MD5_HEX_LEN};
	}
	store_device_change(a->st, user, &ch, device_cb, c);
	sodium_memzero(key, sizeof(key));
out:
	json_arena_release(&ar);
}

/*
 * Operations answering the store's text
 */

static void
text_cb(void *arg, enum store_result r, const char *text, size_t len)
{
	struct admin_call *c = arg;
	const char *msg;
	int status;

	if (r == STORE_OK) {
		c->done(c->arg, 200, text, len);
	} else {
		status = store_status(r, &msg);
		if (text != NULL && len > 0) {
			char *m = xmemdup0(text, len);

			fail(c->done, c->arg, status, m);
			free(m);
		} else {
			fail(c->done, c->arg, status, msg);
		}
	}
	call_free(c);
}

/* backup: the dump, written as a PEM backup into the data directory. */
static void
backup_cb(void *arg, enum store_result r, const char *text, size_t len)
{
	struct admin_call *c = arg;
	struct buf err = BUF_INIT, out = BUF_INIT;
	struct json_out o;
	char *path = NULL;

	if (r != STORE_OK) {
		text_cb(arg, r, text, len);
		return;
	}
	if (snapshot_backup(c->a->cfg->data_dir, text, len, SNAPSHOT_SCHEMA,
	        &path, &err) != 0) {
		fail(c->done, c->arg, 500, err.data);
	} else {
		json_out_init(&o, &out, false);
		json_obj_begin(&o);
		json_key(&o, "file");
		json_str(&o, path);
		json_obj_end(&o);
		c->done(c->arg, 200, out.data, out.len);
	}
	free(path);
	buf_release(&err);
	buf_release(&out);
	call_free(c);
}

void
admin_run(struct admin *a, const char *op, struct str body, admin_done_fn *done,
    void *arg)
{
	struct admin_call *c;

	if (strcmp(op, "user-add") == 0 || strcmp(op, "user-passwd") == 0 ||
	    strcmp(op, "user-del") == 0 || strcmp(op, "user-admin") == 0) {
		run_user(a, op, body, done, arg);
		return;
	}
	if (strncmp(op, "device", 6) == 0) {
		run_device(a, op, body, done, arg);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->a = a;
	c->done = done;
	c->arg = arg;
	if (strcmp(op, "user-list") == 0) {
		store_admin_user_list(a->st, NULL, text_cb, c);
	} else if (strcmp(op, "export") == 0) {
		store_admin_dump(a->st, text_cb, c);
	} else if (strcmp(op, "import") == 0) {
		store_admin_import(a->st, body.p, body.len, text_cb, c);
	} else if (strcmp(op, "compact") == 0) {
		store_admin_compact(a->st, text_cb, c);
	} else if (strcmp(op, "backup") == 0) {
		if (strcmp(a->cfg->storage, "file") != 0) {
			call_free(c);
			fail(done, arg, 503, "backup needs storage \"file\"");
			return;
		}
		store_admin_dump(a->st, backup_cb, c);
	} else {
		call_free(c);
		fail(done, arg, 404, "no such operation");
	}
}

/*
 * The control socket's handler
 */

static void
http_done(void *arg, int status, const char *body, size_t len)
{
	struct http_request *req = arg;

	http_reply(req, status, body, len);
}

void
admin_handle(struct http_request *req, void *ctx)
{
	struct admin *a = ctx;
	char op[32];
	struct str path = req->path;

	if (!str_has_prefix(path, "/admin/") || path.len - 7 >= sizeof(op)) {
		fail(http_done, req, 404, "no such operation");
		return;
	}
	if (req->method != HTTP_M_POST) {
		fail(http_done, req, 405, "use POST");
		return;
	}
	memcpy(op, path.p + 7, path.len - 7);
	op[path.len - 7] = '\0';
	admin_run(a, op, req->body, http_done, req);
}
