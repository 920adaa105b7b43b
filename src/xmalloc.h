/*
 * xmalloc.h: allocation that cannot fail.
 *
 * Every allocation in kosyncd goes through these wrappers. They abort the
 * process with a message when memory is exhausted; per-connection and
 * per-request size caps bound what one client can make us allocate, so this
 * is only reached when the machine itself is out of memory.
 *
 * In test builds (KOSYNCD_TESTING) a fault injector can make the Nth
 * allocation fail; see fault.h.
 *
 * Layer core (src/LAYERS): a low-level primitive. It uses no other header of
 * kosyncd, so that any module may use it.
 */
#ifndef KOSYNCD_XMALLOC_H
#define KOSYNCD_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
/* Copy len bytes of s into a new NUL-terminated string. */
char *xmemdup0(const char *s, size_t len);

#endif
