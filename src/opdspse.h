/*
 * opdspse.h: the pages of a comic book archive (CBZ) for OPDS page
 * streaming (OPDS-PSE 1.0, as KOReader's "Page stream" reads it: page
 * numbers from 0, a maximum width). The pages are the archive's images
 * (by their extension: jpg, jpeg, png, gif, bmp, webp) in the order of
 * their names (byte order), folders included, as comic readers page them.
 *
 * Synchronous and stateless: the server runs these on a worker thread.
 * Read through bookzip.h (its limits: entries, ratio) and cover.h (its
 * pixel limit, when a page is scaled down).
 *
 * Layer formats (src/LAYERS): on bookzip and cover.
 */
#ifndef KOSYNCD_OPDSPSE_H
#define KOSYNCD_OPDSPSE_H

#include <stddef.h>

#include "bookzip.h"
#include "buf.h"

#define OPDSPSE_MAX_ENTRIES 20000    /* entries of an archive read */
#define OPDSPSE_MAX_RATIO 100        /* inflated / compressed, at most */
#define OPDSPSE_MAX_PAGE (32u << 20) /* bytes of one page inflated */
#define OPDSPSE_MAX_WIDTH 4096       /* a maxWidth above it: this */

/*
 * The number of pages of the archive in src, or -1 with a reason in why
 * (not a zip, over the limits).
 */
long opdspse_count(const struct bookzip_src *src, struct buf *why);

/*
 * Page n (from 0) of the archive in src into out, as it is stored (its
 * media type in *ctype: "image/jpeg", ...) or, when max_w > 0 and the
 * page is wider, scaled to max_w pixels wide as a JPEG. Returns 0, 1 for
 * no such page, or -1 with a reason in why.
 */
int opdspse_page(const struct bookzip_src *src, long n, int max_w,
    struct buf *out, const char **ctype, struct buf *why);

#endif
