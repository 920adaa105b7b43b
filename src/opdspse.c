/*
 * opdspse.c: the pages of a CBZ (see opdspse.h): the archive's image
 * entries sorted by name; one inflated, and scaled by cover.h when the
 * reader asked for a narrower page.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cover.h"
#include "opdspse.h"

static const struct {
	const char *ext, *type;
} pse_types[] = {
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".png", "image/png"},
    {".gif", "image/gif"},
    {".bmp", "image/bmp"},
    {".webp", "image/webp"},
};

/*
 * The media type of an image entry by its name's extension, or NULL (not
 * an image, or the resource fork a Mac zips: "__MACOSX/", "._x.png").
 */
static const char *
page_type(const char *name)
{
	size_t n = strlen(name), i, e;
	const char *base = strrchr(name, '/');

	base = base != NULL ? base + 1 : name;
	if (strncmp(name, "__MACOSX/", 9) == 0 || strncmp(base, "._", 2) == 0)
		return NULL;
	for (i = 0; i < sizeof(pse_types) / sizeof(pse_types[0]); i++) {
		e = strlen(pse_types[i].ext);
		if (n > e && strcasecmp(name + n - e, pse_types[i].ext) == 0)
			return pse_types[i].type;
	}
	return NULL;
}

static int
by_name(const void *a, const void *b)
{
	const struct bookzip_entry *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/*
 * The image entries of z sorted by name, in a new array (*n of them), or
 * NULL when there is none.
 */
static const struct bookzip_entry **
pages(const struct bookzip *z, size_t *n)
{
	const struct bookzip_entry **v;
	size_t i, k = 0;

	v = calloc(z->n + 1, sizeof(const struct bookzip_entry *));
	if (v == NULL)
		return NULL;
	for (i = 0; i < z->n; i++)
		if (page_type(z->entries[i].name) != NULL)
			v[k++] = &z->entries[i];
	qsort(v, k, sizeof(const struct bookzip_entry *), by_name);
	*n = k;
	return v;
}

long
opdspse_count(const struct bookzip_src *src, struct buf *why)
{
	struct bookzip z;
	const struct bookzip_entry **v;
	size_t n = 0;

	if (bookzip_open(
	        &z, src, OPDSPSE_MAX_ENTRIES, OPDSPSE_MAX_RATIO, why) == -1)
		return -1;
	v = pages(&z, &n);
	free(v);
	bookzip_close(&z);
	return (long)n;
}

int
opdspse_page(const struct bookzip_src *src, long n, int max_w, struct buf *out,
    const char **ctype, struct buf *why)
{
	struct bookzip z;
	const struct bookzip_entry **v;
	struct buf img = BUF_INIT;
	size_t count = 0;
	int rc = -1;

	if (bookzip_open(
	        &z, src, OPDSPSE_MAX_ENTRIES, OPDSPSE_MAX_RATIO, why) == -1)
		return -1;
	v = pages(&z, &count);
	if (v == NULL || n < 0 || (size_t)n >= count) {
		rc = 1;
		goto out;
	}
	if (bookzip_read(&z, (size_t)(v[n] - z.entries), OPDSPSE_MAX_PAGE, &img,
	        why) == -1)
		goto out;
	*ctype = page_type(v[n]->name);
	if (max_w > OPDSPSE_MAX_WIDTH)
		max_w = OPDSPSE_MAX_WIDTH;
	/*
	 * cover.h never makes an image larger, so a page narrower than
	 * max_w comes back at its size, as a JPEG; one it cannot decode
	 * (WebP) goes as it is stored.
	 */
	if (max_w > 0 && cover_thumbnail(img.data, img.len, max_w,
	                     COVER_MAX_SIDE, out, why) == 0) {
		*ctype = "image/jpeg";
	} else {
		buf_reset(out);
		buf_add(out, img.data, img.len);
	}
	rc = 0;
out:
	buf_release(&img);
	free(v);
	bookzip_close(&z);
	return rc;
}
