/*
 * keyhash.c: argon2id on the thread pool with bounded concurrency, and the
 * keyed digests (SipHash-2-4, 128 bits) of the verified-key cache (see
 * keyhash.h).
 *
 * Invariants: running <= max; a job is either in the FIFO queue or
 * submitted to libuv (then counted in running), never both; the plaintext
 * copy of a key is wiped (sodium_memzero) before its job is freed.
 */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fault.h"
#include "keyhash.h"
#include "xmalloc.h"

enum job_kind { JOB_VERIFY, JOB_HASH };

struct job {
	uv_work_t work;
	struct keyhash *k;
	enum job_kind kind;
	char *phc; /* verify: the stored string; hash: the result */
	char *key; /* plaintext copy, wiped after use */
	size_t key_len;
	enum keyhash_result res;
	keyhash_done_fn *done;
	void *arg;
	struct job *next;
};

struct keyhash {
	uv_loop_t *loop;
	unsigned max;
	unsigned running;
	unsigned queued;
	struct job *head, *tail;
	void (*drained)(void *arg);
	void *drained_arg;
};

/* The random per-process key of the cache digests (SipHash-2-4). */
static unsigned char digest_key[crypto_shorthash_siphashx24_KEYBYTES];
static pthread_once_t digest_once = PTHREAD_ONCE_INIT;

static void
digest_init(void)
{
	if (sodium_init() < 0)
		abort();
	randombytes_buf(digest_key, sizeof(digest_key));
}

void
keyhash_digest(struct str key, unsigned char out[KEYHASH_DIGEST_BYTES])
{
	pthread_once(&digest_once, digest_init);
	crypto_shorthash_siphashx24(out,
	    (const unsigned char *)(key.p ? key.p : ""), key.len, digest_key);
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
	pthread_once(&digest_once, digest_init);
	return crypto_pwhash_str(out, key.p ? key.p : "", key.len,
	    KEYHASH_OPSLIMIT, KEYHASH_MEMLIMIT);
}

bool
keyhash_check_sync(const char *stored, struct str key)
{
	unsigned char a[KEYHASH_DIGEST_BYTES], b[KEYHASH_DIGEST_BYTES];

	if (key.len == 0)
		return false;
	if (keyhash_is_phc(stored))
		return crypto_pwhash_str_verify(stored, key.p, key.len) == 0;
	keyhash_digest(str_from(stored), a);
	keyhash_digest(key, b);
	return keyhash_digest_eq(a, b);
}

/*
 * The pool
 */

struct keyhash *
keyhash_new(uv_loop_t *loop, unsigned concurrency)
{
	struct keyhash *k = xcalloc(1, sizeof(*k));

	pthread_once(&digest_once, digest_init);
	k->loop = loop;
	k->max = concurrency ? concurrency : 1;
	return k;
}

void
keyhash_free(struct keyhash *k)
{
	if (k == NULL)
		return;
	assert(k->running == 0 && k->head == NULL);
	free(k);
}

static void
job_free(struct job *j)
{
	if (j->key != NULL) {
		sodium_memzero(j->key, j->key_len);
		free(j->key);
	}
	free(j->phc);
	free(j);
}

/*
 * Whether argon2's memory (KEYHASH_MEMLIMIT) can be had now. libsodium
 * reports a verification that could not allocate exactly as a wrong key
 * (-1, errno EINVAL), which the store would cache as a bad key and answer
 * 401 (KOReader does not retry that). So a job first checks that the memory
 * can be allocated, and a mismatch is believed only if it still can:
 * otherwise the job fails (the client gets a 5xx and retries). This is
 * also the fault-injection point FAULT_MALLOC (fault.h).
 */
static bool
argon2_memory_ok(bool inject)
{
	void *p;

	if (inject && fault_check(FAULT_MALLOC) != 0)
		return false;
	p = malloc((size_t)KEYHASH_MEMLIMIT);
	free(p);
	return p != NULL;
}

static void
work_cb(uv_work_t *w)
{
	struct job *j = w->data;
	char out[KEYHASH_PHC_MAX];

	if (!argon2_memory_ok(true)) {
		j->res = KEYHASH_FAILED;
		return;
	}
	if (j->kind == JOB_VERIFY) {
		if (crypto_pwhash_str_verify(j->phc, j->key, j->key_len) == 0)
			j->res = KEYHASH_OK;
		else
			j->res = argon2_memory_ok(false) ? KEYHASH_MISMATCH
			                                 : KEYHASH_FAILED;
		return;
	}
	if (crypto_pwhash_str(out, j->key, j->key_len, KEYHASH_OPSLIMIT,
	        KEYHASH_MEMLIMIT) != 0) {
		j->res = KEYHASH_FAILED;
		return;
	}
	j->phc = strdup(out);
	j->res = j->phc ? KEYHASH_OK : KEYHASH_FAILED;
}

static void start_next(struct keyhash *k);

static void
after_work_cb(uv_work_t *w, int status)
{
	struct job *j = w->data;
	struct keyhash *k = j->k;
	char *phc = NULL;

	k->running--;
	if (status != 0)
		j->res = KEYHASH_FAILED;
	if (j->kind == JOB_HASH && j->res == KEYHASH_OK) {
		phc = j->phc;
		j->phc = NULL;
	}
	j->done(j->arg, j->res, phc);
	job_free(j);
	start_next(k);
	if (k->drained != NULL && k->running == 0 && k->head == NULL) {
		void (*done)(void *) = k->drained;

		k->drained = NULL;
		done(k->drained_arg);
	}
}

static void
start_next(struct keyhash *k)
{
	struct job *j;

	while (k->running < k->max && k->head != NULL) {
		j = k->head;
		k->head = j->next;
		if (k->head == NULL)
			k->tail = NULL;
		k->queued--;
		j->work.data = j;
		if (uv_queue_work(k->loop, &j->work, work_cb, after_work_cb) !=
		    0) {
			j->done(j->arg, KEYHASH_FAILED, NULL);
			job_free(j);
			continue;
		}
		k->running++;
	}
}

static void
submit(struct keyhash *k, struct job *j)
{
	if (k->queued >= KEYHASH_MAX_QUEUED) {
		j->done(j->arg, KEYHASH_FAILED, NULL);
		job_free(j);
		return;
	}
	j->k = k;
	j->next = NULL;
	if (k->tail != NULL)
		k->tail->next = j;
	else
		k->head = j;
	k->tail = j;
	k->queued++;
	start_next(k);
}

static struct job *
job_new(enum job_kind kind, struct str key, keyhash_done_fn *done, void *arg)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->kind = kind;
	j->key = xmemdup0(key.p ? key.p : "", key.len);
	j->key_len = key.len;
	j->done = done;
	j->arg = arg;
	return j;
}

void
keyhash_verify(struct keyhash *k, const char *phc, struct str key,
    keyhash_done_fn *done, void *arg)
{
	struct job *j = job_new(JOB_VERIFY, key, done, arg);

	j->phc = xstrdup(phc);
	submit(k, j);
}

void
keyhash_hash(
    struct keyhash *k, struct str key, keyhash_done_fn *done, void *arg)
{
	submit(k, job_new(JOB_HASH, key, done, arg));
}

void
keyhash_drain(struct keyhash *k, void (*done)(void *arg), void *arg)
{
	struct job *j;

	while ((j = k->head) != NULL) {
		k->head = j->next;
		k->queued--;
		j->done(j->arg, KEYHASH_FAILED, NULL);
		job_free(j);
	}
	k->tail = NULL;
	if (k->running == 0) {
		done(arg);
		return;
	}
	k->drained = done;
	k->drained_arg = arg;
}

unsigned
keyhash_running(const struct keyhash *k)
{
	return k->running;
}

unsigned
keyhash_queued(const struct keyhash *k)
{
	return k->queued;
}

/*
 * Migration: hash many legacy keys on threads of our own.
 */

struct many {
	char **keys;
	size_t n;
	size_t next; /* guarded by lock */
	int failed;
	pthread_mutex_t lock;
};

static void *
many_thread(void *arg)
{
	struct many *m = arg;
	char out[KEYHASH_PHC_MAX];
	char *dup;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&m->lock);
		i = m->next++;
		pthread_mutex_unlock(&m->lock);
		if (i >= m->n)
			break;
		if (keyhash_is_phc(m->keys[i]))
			continue;
		if (keyhash_hash_sync(str_from(m->keys[i]), out) != 0 ||
		    (dup = strdup(out)) == NULL) {
			pthread_mutex_lock(&m->lock);
			m->failed = 1;
			pthread_mutex_unlock(&m->lock);
			continue;
		}
		sodium_memzero(m->keys[i], strlen(m->keys[i]));
		free(m->keys[i]);
		m->keys[i] = dup;
	}
	return NULL;
}

int
keyhash_hash_many(char **keys, size_t n, unsigned nthreads)
{
	struct many m = {keys, n, 0, 0, PTHREAD_MUTEX_INITIALIZER};
	pthread_t tid[16];
	unsigned i, started = 0;

	pthread_once(&digest_once, digest_init);
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > 16)
		nthreads = 16;
	if (nthreads > n)
		nthreads = n ? (unsigned)n : 1;
	for (i = 1; i < nthreads; i++)
		if (pthread_create(&tid[started], NULL, many_thread, &m) == 0)
			started++;
	many_thread(&m);
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	return m.failed ? -1 : 0;
}
