/*
 * store_merge.c: merging an imported document's history and device
 * positions into ours (see store_merge.h for the rules).
 *
 * Not here: deciding which current state wins (the importers), journaling
 * (filestore_admin.c), Redis (redis_worker.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_merge.h"
#include "xmalloc.h"

static struct str
doc_field(const struct db_doc *d, enum db_field f)
{
	return (struct str){db_doc_field(d, f), d->len[f]};
}

/* A position for the merge: strings never NULL. */
struct db_put
store_merge_entry(const struct db_entry *e)
{
	struct db_put p;

	memset(&p, 0, sizeof(p));
	p.percentage = e->percentage;
	p.timestamp = e->timestamp;
	p.progress = (struct str){db_entry_progress(e), e->len[0]};
	p.device = (struct str){db_entry_device(e), e->len[1]};
	p.device_id = (struct str){db_entry_device_id(e), e->len[2]};
	return p;
}

/* Devices are told apart by device_id, or by name when they sent none. */
static bool
same_device(const struct db_put *a, struct str device, struct str device_id)
{
	if (a->device_id.len > 0 || device_id.len > 0)
		return str_eq(a->device_id, device_id);
	return str_eq(a->device, device);
}

static bool
same_entry(const struct db_put *a, const struct db_put *b)
{
	return a->timestamp == b->timestamp && a->percentage == b->percentage &&
	       str_eq(a->progress, b->progress) &&
	       str_eq(a->device, b->device) &&
	       str_eq(a->device_id, b->device_id);
}

/*
 * Whether device position p would change d's device list; with apply,
 * change it.
 */
static bool
merge_device(struct db_doc *d, const struct db_put *p, bool apply)
{
	const struct db_list *l = d->devices;
	struct db_put e;
	int64_t oldest = INT64_MAX;
	bool known = false;
	uint32_t i;

	if (same_device(
	        p, doc_field(d, DB_F_DEVICE), doc_field(d, DB_F_DEVICE_ID)))
		return false;
	for (i = 0; l != NULL && i < l->n; i++) {
		e = store_merge_entry(l->e[i]);
		if (same_device(&e, p->device, p->device_id)) {
			if (e.timestamp >= p->timestamp)
				return false;
			known = true;
			break;
		}
		if (e.timestamp < oldest)
			oldest = e.timestamp;
	}
	if (!known && l != NULL && l->n >= DB_MAX_DEVICES &&
	    p->timestamp <= oldest)
		return false;
	if (apply)
		db_doc_add_device(NULL, d, p);
	return true;
}

/* A history entry and its place in its list, for a stable sort. */
struct hist_item {
	struct db_put p;
	size_t idx;
};

static int
cmp_item(const void *a, const void *b)
{
	const struct hist_item *x = a, *y = b;

	if (x->p.timestamp != y->p.timestamp)
		return x->p.timestamp < y->p.timestamp ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Whether v (n, sorted by timestamp) holds an entry equal to p. */
static bool
has_entry(const struct hist_item *v, size_t n, const struct db_put *p)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v[mid].p.timestamp < p->timestamp)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && v[lo].p.timestamp == p->timestamp; lo++)
		if (same_entry(&v[lo].p, p))
			return true;
	return false;
}

/*
 * The history entries h (n, any order), sorted by timestamp (stable):
 * an array to free.
 */
static struct hist_item *
hist_sorted(const struct db_put *h, size_t n)
{
	struct hist_item *v = xmalloc((n + 1) * sizeof(*v));
	size_t i;

	for (i = 0; i < n; i++) {
		v[i].p = h[i];
		v[i].idx = i;
	}
	qsort(v, n, sizeof(*v), cmp_item);
	return v;
}

/* Replace d's history by the n entries of v, in that order. */
static void
history_set(struct db_doc *d, const struct db_put *v, size_t n)
{
	struct db scratch;
	struct db_user *su;
	struct db_doc *sd;
	struct db_list *l;
	struct db_put p;
	size_t i;

	/* Built in a scratch document, which then frees the old list. */
	db_init(&scratch);
	su = db_user_add(&scratch, STR_LIT("import"), STR_NULL);
	memset(&p, 0, sizeof(p));
	p.document = STR_LIT("import");
	sd = db_doc_load(&scratch, su, &p);
	for (i = 0; i < n; i++)
		db_doc_add_history(NULL, sd, &v[i], 0);
	l = d->history;
	d->history = sd->history;
	sd->history = l;
	db_release(&scratch);
}

/*
 * Whether the history entries h (n, any order) would change d's history;
 * with apply, change it.
 */
static bool
merge_history(const struct db_history *hs, struct db_doc *d,
    const struct db_put *h, size_t n, bool apply)
{
	const struct db_list *l = d->history;
	size_t nl = l != NULL ? l->n : 0, nn = 0, total, start, i, j, k;
	struct hist_item *ours, *imp;
	struct db_put *all = NULL;
	bool changed = false;

	if (!hs->keep || n == 0)
		return false;
	ours = xmalloc((nl + 1) * sizeof(*ours));
	for (i = 0; i < nl; i++) {
		ours[i].p = store_merge_entry(l->e[i]);
		ours[i].idx = i;
	}
	qsort(ours, nl, sizeof(*ours), cmp_item);
	imp = hist_sorted(h, n);
	/* Keep what we do not have, once. */
	for (i = 0; i < n; i++) {
		if (has_entry(ours, nl, &imp[i].p))
			continue;
		for (k = nn;
		     k > 0 && imp[k - 1].p.timestamp == imp[i].p.timestamp; k--)
			if (same_entry(&imp[k - 1].p, &imp[i].p))
				break;
		if (k > 0 && imp[k - 1].p.timestamp == imp[i].p.timestamp)
			continue;
		imp[nn++] = imp[i];
	}
	if (nn == 0)
		goto out;
	/* Merge by timestamp, ours first on a tie; keep the newest. */
	total = nl + nn;
	start = hs->limit != 0 && total > hs->limit ? total - hs->limit : 0;
	all = xmalloc(total * sizeof(*all));
	for (i = j = k = 0; k < total; k++) {
		if (j < nn &&
		    (i == nl || imp[j].p.timestamp < l->e[i]->timestamp)) {
			changed |= k >= start;
			all[k] = imp[j++].p;
		} else {
			all[k] = store_merge_entry(l->e[i++]);
		}
	}
	if (changed && apply)
		history_set(d, all + start, total - start);
out:
	free(all);
	free(ours);
	free(imp);
	return changed;
}

void
store_merge_lists_of(const struct db_history *hs, const struct db_doc *from,
    struct db_put **h, size_t *nh, struct db_put **dv, size_t *nd)
{
	const struct db_list *hl = hs->keep ? from->history : NULL;
	const struct db_list *dl = from->devices;
	struct hist_item *sorted;
	size_t i, n = hl != NULL ? hl->n : 0;

	*nd = dl != NULL ? dl->n : 0;
	*h = xmalloc((n + 1) * sizeof(**h));
	*dv = xmalloc((*nd + 1) * sizeof(**dv));
	/* By timestamp; only the newest history_limit can be kept. */
	for (i = 0; i < n; i++)
		(*h)[i] = store_merge_entry(hl->e[i]);
	sorted = hist_sorted(*h, n);
	if (hs->limit != 0 && n > hs->limit) {
		memmove(sorted, sorted + n - hs->limit,
		    hs->limit * sizeof(*sorted));
		n = hs->limit;
	}
	for (i = 0; i < n; i++)
		(*h)[i] = sorted[i].p;
	free(sorted);
	*nh = n;
	for (i = 0; i < *nd; i++)
		(*dv)[i] = store_merge_entry(dl->e[i]);
}

bool
store_merge_lists(const struct db_history *hs, struct db_user *u,
    struct db_doc *d, const struct db_put *h, size_t nh,
    const struct db_put *dv, size_t nd, bool apply)
{
	uint64_t bytes = db_doc_bytes(d);
	uint32_t hist = db_doc_history(d);
	bool changed = false;
	size_t i;

	for (i = 0; i < nd; i++)
		if (merge_device(d, &dv[i], apply))
			changed = true;
	if (merge_history(hs, d, h, nh, apply))
		changed = true;
	if (changed && apply)
		db_user_account(u, bytes, hist, d);
	return changed;
}
