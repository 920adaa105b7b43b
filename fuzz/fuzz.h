/*
 * fuzz.h: what the libFuzzer targets in fuzz/ share: an allocation arena
 * for json_parse() and a check that stops the run when an invariant fails.
 *
 * Header-only (each target is one translation unit linked against the
 * archive of src/); everything here is static.
 */
#ifndef KOSYNCD_FUZZ_H
#define KOSYNCD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken invariant: report it and abort, so libFuzzer keeps the input. */
#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
			    __FILE__, __LINE__, #cond);                        \
			abort();                                               \
		}                                                              \
	} while (0)

/* Every block of one parse, freed together (ASan sees each one). */
struct fuzz_arena {
	void **p;
	size_t n, cap;
};

static void *
fuzz_alloc(void *ctx, size_t size)
{
	struct fuzz_arena *a = ctx;
	void *p;

	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->p = realloc(a->p, a->cap * sizeof(*a->p));
		if (a->p == NULL)
			abort();
	}
	p = malloc(size ? size : 1);
	if (p == NULL)
		abort();
	a->p[a->n++] = p;
	return p;
}

static void
fuzz_arena_free(struct fuzz_arena *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->p[i]);
	free(a->p);
	a->p = NULL;
	a->n = a->cap = 0;
}

/* A NUL-terminated heap copy of data (so ASan sees reads past the end). */
static char *
fuzz_copy(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
