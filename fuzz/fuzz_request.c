/*
 * fuzz_request.c: whole HTTP requests, from bytes on the wire through
 * request assembly (http_parse_feed), the path's normalisation as the
 * front router does it (router_base, router_normalize), routing and the
 * handlers (api_handle) to the answers, against the in-memory store.
 *
 * Input: one control byte, then the bytes a client sends on one connection
 * (any number of pipelined requests). The control byte picks the options
 * (bit 0 strict_accept, bit 1 base_path "/kosync", bit 2
 * disable_registration, bit 3 store_history) and, in its high nibble, how
 * the bytes arrive: 0 all at once, else in pieces of 1, 2, 3, 5, 8, ...
 * bytes. Each piece is appended to a fresh heap copy of the unconsumed
 * input, as server.c's read buffer would be (moved between calls), so ASan
 * catches a parser that keeps a stale pointer or reads past what arrived.
 *
 * The harness plays server.c: it feeds the parser, hands every complete
 * request to api_handle with a reply sink of its own (this file defines
 * http_reply_ex/http_reply, so server.c is not linked), and stops at the
 * first transport error, as the server closes the connection then. Each
 * input starts with a new store, so a crash never depends on earlier
 * inputs.
 *
 * keyhash.c is replaced too: argon2id takes ~17 ms a hash, which would bring
 * the fuzzer to a crawl. The fake "hashes" a key into "$argon2id$fake$"
 * followed by it and runs the jobs in FIFO order when the harness pumps
 * them, after the handler returned, as the thread pool would.
 *
 * Checks (besides ASan/UBSan): every request is answered exactly once;
 * the status is one the protocol knows and never 5xx (the memory store
 * cannot fail); every JSON answer is a JSON object; extra header lines end
 * in CRLF and hold no other CR or LF (no header injection).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>
#include <uv.h>

#include "api.h"
#include "buf.h"
#include "config.h"
#include "http.h"
#include "json.h"
#include "keyhash.h"
#include "log.h"
#include "ratelimit.h"
#include "router.h"
#include "server.h"
#include "store.h"

#include "fuzz.h"

/*
 * The reply side of server.c
 */

static struct {
	struct http_request *req; /* the request with the handler */
	unsigned replies;         /* answers to it so far */
	struct buf out;           /* what would go on the wire */
	bool trace;               /* FUZZ_TRACE set: print every answer */
} sink;

static bool
status_known(int status)
{
	switch (status) {
	case 200:
	case 201:
	case 204:
	case 400:
	case 401:
	case 402:
	case 403:
	case 404:
	case 405:
	case 412:
		return true;
	default:
		return false;
	}
}

/* Complete header lines, each ending in CRLF, no other CR or LF. */
static void
check_extra_headers(const char *h)
{
	size_t i, n = strlen(h);

	FUZZ_CHECK(n >= 2 && h[n - 2] == '\r' && h[n - 1] == '\n');
	for (i = 0; i < n; i++) {
		if (h[i] == '\r') {
			FUZZ_CHECK(i + 1 < n && h[i + 1] == '\n');
			FUZZ_CHECK(i + 2 == n ||
			           (h[i + 2] != ' ' && h[i + 2] != '\t' &&
			               h[i + 2] != '\r'));
		} else if (h[i] == '\n') {
			FUZZ_CHECK(i > 0 && h[i - 1] == '\r');
		}
	}
}

void
http_reply_ex(struct http_request *req, int status, const char *content_type,
    const char *extra_headers, const char *body, size_t len)
{
	struct fuzz_arena a = {NULL, 0, 0};
	const struct json_value *v;

	FUZZ_CHECK(req == sink.req);
	FUZZ_CHECK(sink.replies == 0);
	sink.replies++;
	if (!status_known(status)) {
		fprintf(stderr, "unexpected status %d\n", status);
		abort();
	}
	if (extra_headers != NULL)
		check_extra_headers(extra_headers);
	if (content_type == NULL && status != 204) {
		v = json_parse(body, len, fuzz_alloc, &a, NULL);
		if (v == NULL || v->type != JSON_OBJECT) {
			fprintf(stderr,
			    "status %d body is not a JSON object: "
			    "%.*s\n",
			    status, (int)(len > 300 ? 300 : len), body);
			abort();
		}
		fuzz_arena_free(&a);
	}
	if (sink.trace)
		fprintf(stderr, "%.*s %.*s -> %d %.*s\n",
		    (int)req->method_name.len, req->method_name.p,
		    (int)req->target.len, req->target.p, status, (int)len,
		    body);
	buf_reset(&sink.out);
	http_format_response(&sink.out, status, content_type, extra_headers,
	    body, len, req->method == HTTP_M_HEAD, req->keep_alive);
	http_request_reset(req);
	req->log_user = STR_NULL;
}

void
http_reply(struct http_request *req, int status, const char *body, size_t len)
{
	http_reply_ex(req, status, NULL, NULL, body, len);
}

/*
 * A fake keyhash.c: the same contract (callbacks on the loop, never before the
 * call returns, FIFO), no argon2.
 */
#define FAKE_PHC "$argon2id$fake$"

struct job {
	struct job *next;
	bool verify;
	char *phc;
	char *key;
	keyhash_done_fn *done;
	void *arg;
};

struct keyhash {
	struct job *head, *tail;
};

static struct keyhash *live_keys;

struct keyhash *
keyhash_new(uv_loop_t *loop, unsigned concurrency)
{
	struct keyhash *k = calloc(1, sizeof(*k));

	(void)loop;
	(void)concurrency;
	FUZZ_CHECK(k != NULL);
	live_keys = k;
	return k;
}

static void
job_free(struct job *j)
{
	free(j->phc);
	free(j->key);
	free(j);
}

void
keyhash_free(struct keyhash *k)
{
	struct job *j, *next;

	if (k == NULL)
		return;
	for (j = k->head; j != NULL; j = next) {
		next = j->next;
		job_free(j);
	}
	if (live_keys == k)
		live_keys = NULL;
	free(k);
}

static void
job_add(struct keyhash *k, bool verify, const char *phc, struct str key,
    keyhash_done_fn *done, void *arg)
{
	struct job *j = calloc(1, sizeof(*j));

	FUZZ_CHECK(j != NULL);
	j->verify = verify;
	j->phc = phc != NULL ? strdup(phc) : NULL;
	j->key = strndup(key.p != NULL ? key.p : "", key.len);
	j->done = done;
	j->arg = arg;
	if (k->tail != NULL)
		k->tail->next = j;
	else
		k->head = j;
	k->tail = j;
}

void
keyhash_verify(struct keyhash *k, const char *phc, struct str key,
    keyhash_done_fn *done, void *arg)
{
	job_add(k, true, phc, key, done, arg);
}

void
keyhash_hash(
    struct keyhash *k, struct str key, keyhash_done_fn *done, void *arg)
{
	job_add(k, false, NULL, key, done, arg);
}

/* Run every queued job (and the jobs they queue). */
static void
keyhash_pump(struct keyhash *k)
{
	struct job *j;
	size_t n;
	char *phc;

	while (k != NULL && (j = k->head) != NULL) {
		k->head = j->next;
		if (k->head == NULL)
			k->tail = NULL;
		if (j->verify) {
			n = strlen(FAKE_PHC);
			j->done(j->arg,
			    strncmp(j->phc, FAKE_PHC, n) == 0 &&
			            strcmp(j->phc + n, j->key) == 0
			        ? KEYHASH_OK
			        : KEYHASH_MISMATCH,
			    NULL);
		} else {
			phc = malloc(strlen(FAKE_PHC) + strlen(j->key) + 1);
			FUZZ_CHECK(phc != NULL);
			strcpy(phc, FAKE_PHC);
			strcat(phc, j->key);
			j->done(j->arg, KEYHASH_OK, phc);
		}
		job_free(j);
	}
}

void
keyhash_drain(struct keyhash *k, void (*done)(void *arg), void *arg)
{
	struct job *j;

	while ((j = k->head) != NULL) {
		k->head = j->next;
		j->done(j->arg, KEYHASH_FAILED, NULL);
		job_free(j);
	}
	k->tail = NULL;
	done(arg);
}

unsigned
keyhash_running(const struct keyhash *k)
{
	(void)k;
	return 0;
}

unsigned
keyhash_queued(const struct keyhash *k)
{
	const struct job *j;
	unsigned n = 0;

	for (j = k->head; j != NULL; j = j->next)
		n++;
	return n;
}

void
keyhash_digest(struct str key, unsigned char out[KEYHASH_DIGEST_BYTES])
{
	static const unsigned char salt[crypto_generichash_KEYBYTES] = {1};

	crypto_generichash(out, KEYHASH_DIGEST_BYTES,
	    (const unsigned char *)(key.p != NULL ? key.p : ""), key.len, salt,
	    sizeof(salt));
}

bool
keyhash_digest_eq(const unsigned char *a, const unsigned char *b)
{
	return sodium_memcmp(a, b, KEYHASH_DIGEST_BYTES) == 0;
}

bool
keyhash_is_phc(const char *stored)
{
	return strncmp(stored, "$argon2id$", 10) == 0;
}

int
keyhash_hash_sync(struct str key, char out[KEYHASH_PHC_MAX])
{
	(void)key;
	(void)out;
	abort(); /* the memory store never migrates */
}

bool
keyhash_check_sync(const char *stored, struct str key)
{
	(void)stored;
	(void)key;
	abort();
}

int
keyhash_hash_many(char **keys, size_t n, unsigned nthreads)
{
	(void)keys;
	(void)n;
	(void)nthreads;
	abort();
}

/*
 * The connection
 */

static uv_loop_t loop;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
	if (uv_loop_init(&loop) != 0)
		abort();
	log_init(false);
	buf_init(&sink.out);
	sink.trace = getenv("FUZZ_TRACE") != NULL;
	return 0;
}

/* Piece sizes for the high nibble of the control byte (0: everything). */
static const size_t pieces[16] = {
    0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 4096};

/* One complete request: dispatch it and pump the store until answered. */
static void
dispatch(struct http_request *req, struct api *api, struct str base)
{
	sink.req = req;
	sink.replies = 0;
	/* What front_handle does before it picks the protocol (front.c). */
	req->route = router_normalize(
	    req->path, base, http_alloc(req, req->path.len + 1));
	api_handle(req, api);
	keyhash_pump(live_keys);
	uv_run(&loop, UV_RUN_NOWAIT);
	keyhash_pump(live_keys);
	if (sink.replies != 1) {
		fprintf(stderr, "request answered %u times\n", sink.replies);
		abort();
	}
	sink.req = NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	struct store *st;
	struct api *api;
	struct str base;
	char base_buf[sizeof("/kosync") + 1];
	struct ratelimit_params rp;
	struct ratelimit *rl;
	struct http_parse *hp;
	struct http_request req;
	struct buf err;
	enum http_feed_result r;
	size_t start = 0, avail, piece, consumed, i;
	char *cur = NULL;
	int status = 0;
	uint8_t ctl;

	if (size < 1)
		return 0;
	ctl = data[0];
	data++;
	size--;

	config_init(&cfg);
	buf_init(&err);
	FUZZ_CHECK(
	    config_set(&cfg, "storage", "memory", CONFIG_SRC_FLAG, &err) == 0);
	FUZZ_CHECK(config_set(&cfg, "strict_accept", ctl & 1 ? "on" : "off",
	               CONFIG_SRC_FLAG, &err) == 0);
	FUZZ_CHECK(config_set(&cfg, "base_path", ctl & 2 ? "/kosync" : "",
	               CONFIG_SRC_FLAG, &err) == 0);
	FUZZ_CHECK(config_set(&cfg, "disable_registration",
	               ctl & 4 ? "true" : "false", CONFIG_SRC_FLAG, &err) == 0);
	FUZZ_CHECK(config_set(&cfg, "store_history", ctl & 8 ? "1" : "0",
	               CONFIG_SRC_FLAG, &err) == 0);
	buf_release(&err);
	st = store_open(&loop, &cfg);
	FUZZ_CHECK(st != NULL);
	ratelimit_params_config(&rp, &cfg);
	rl = ratelimit_new(&rp);
	api = api_new(st, &cfg, rl);
	base = router_base(cfg.base_path, base_buf);
	hp = http_parse_new(8192, 65536, 64);
	memset(&req, 0, sizeof(req));
	strcpy(req.peer, "127.0.0.1");

	piece = pieces[ctl >> 4];
	avail = piece == 0 || piece > size ? size : piece;
	for (;;) {
		/* The unconsumed bytes, moved to a new exact-size buffer. */
		free(cur);
		cur = malloc(avail - start + 1);
		FUZZ_CHECK(cur != NULL);
		memcpy(cur, data + start, avail - start);
		r = http_parse_feed(
		    hp, cur, avail - start, &req, &consumed, &status);
		if (r == HTTP_FEED_ERROR) {
			FUZZ_CHECK(status == 400 || status == 413 ||
			           status == 431 || status == 505);
			{
				struct buf eb = BUF_INIT;

				http_error_body(status, &eb);
				FUZZ_CHECK(eb.len > 0);
				buf_release(&eb);
			}
			break;
		}
		FUZZ_CHECK(consumed <= avail - start);
		if (r == HTTP_FEED_REQUEST) {
			FUZZ_CHECK(consumed > 0);
			FUZZ_CHECK(req.path.len <= req.target.len);
			FUZZ_CHECK(req.body.len <= 65536);
			for (i = 0; i < req.nheaders; i++)
				FUZZ_CHECK(req.headers[i].name.len > 0);
			dispatch(&req, api, base);
			start += consumed;
			if (!req.keep_alive)
				break;
			continue;
		}
		(void)http_parse_take_continue(hp);
		start += consumed;
		if (avail == size)
			break;
		avail =
		    piece == 0 || size - avail < piece ? size : avail + piece;
	}
	free(cur);

	http_request_release(&req);
	http_parse_free(hp);
	api_free(api);
	ratelimit_free(rl);
	store_close(st);
	config_release(&cfg);
	return 0;
}
