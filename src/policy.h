/*
 * policy.h: an account's progress policy (docs/policy.md): its names, the
 * decision whether a push becomes the current position or is held back in
 * the history, and the table of recent pulls the "guard" policy reads.
 *
 *   latest    every push becomes current (what the reference server does);
 *   furthest  a push behind the current position (by percentage) is held;
 *   guard     a stale replay is held: a push behind the current position,
 *             whose client timestamp is older than the current one's, from
 *             a device that has not pulled the document since the current
 *             position was written (KOReader's offline queue draining).
 *
 * The decision is a pure function of its inputs (policy_decide); a backend
 * gathers them and records the verdict with the push, so that a replay of
 * the journal never decides again.
 *
 * The pull table (struct policy_pulls) remembers when each (account,
 * document, device) pulled last, in memory only, in a fixed number of
 * slots: a slot taken over by another key, and everything before the
 * table was made (the process start), is forgotten, and a forgotten pull
 * counts as a pull (policy_pulled_since), so that guard only holds a push
 * when it knows the device has not pulled.
 *
 * Layer formats (src/LAYERS): it uses db.h's constants and the core.
 */
#ifndef KOSYNCD_POLICY_H
#define KOSYNCD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "db.h"

/* Slots of the pull table (16 bytes each; docs/security.md). */
#define POLICY_PULL_SLOTS 16384u

/* "latest", "furthest", "guard"; NULL for another value. */
const char *policy_name(unsigned policy);
/* The policy s names (enum db_policy), or -1. */
int policy_parse(struct str s);
/* Why a held entry was held, for people: "furthest", "guard" or "". */
const char *policy_held_name(unsigned held);

/* What policy_decide looks at. */
struct policy_case {
	bool has_current;      /* the document has a current position */
	double cur_percentage; /* its percentage */
	int64_t cur_timestamp; /* when it was written (server time) */
	double percentage;     /* the push's */
	int64_t client_ts;     /* the push's own timestamp, 0: none sent */
	bool pulled;           /* the device pulled since cur_timestamp (or
	                          it cannot be known) */
};

/*
 * The verdict on a push under policy (enum db_policy): 0 (it becomes the
 * current position) or the DB_HELD_* bit saying why it is held back.
 */
unsigned policy_decide(unsigned policy, const struct policy_case *c);

/*
 * Who pulls and pushes: a 64-bit fingerprint of the client address and
 * its User-Agent (a pull carries no device id, and which key signed in is
 * known only after the push was decided). Devices behind one address with
 * one User-Agent count as one (a pull by one counts for all), which only
 * ever makes guard hold less.
 */
uint64_t policy_client(struct str address, struct str agent);

struct policy_pulls;

/* A table whose knowledge starts at now (earlier pulls are forgotten). */
struct policy_pulls *policy_pulls_new(int64_t now);
void policy_pulls_free(struct policy_pulls *t);
/* client pulled user's document at when. */
void policy_pulls_note(struct policy_pulls *t, struct str user,
    struct str document, uint64_t client, int64_t when);
/*
 * Whether client pulled user's document at or after since: true when the
 * table says so, and when it may have forgotten (since is not after its
 * start or after a pull it dropped for room).
 */
bool policy_pulled_since(const struct policy_pulls *t, struct str user,
    struct str document, uint64_t client, int64_t since);

#endif
