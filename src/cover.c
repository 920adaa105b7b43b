/*
 * cover.c: cover thumbnails on stb (cover.h).
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>
#include <stb/stb_image_write.h>

#include "cover.h"

struct jpeg_out {
	struct buf *b;
	bool full;
};

static void
jpeg_write(void *ctx, void *data, int size)
{
	struct jpeg_out *o = ctx;

	if (o->full || size < 0)
		return;
	if (o->b->len + (size_t)size > COVER_MAX_OUTPUT) {
		o->full = true;
		return;
	}
	buf_add(o->b, data, (size_t)size);
}

/*
 * Whether img starts as a JPEG, PNG, GIF or BMP does: stb_image also
 * reads PSD, TGA (which has no signature), HDR, PIC and PNM, formats no
 * book cover comes in, and their decoders are left out of reach.
 */
static bool
known_format(const unsigned char *p, size_t len)
{
	return (len >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff) ||
	       (len >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0) ||
	       (len >= 6 && (memcmp(p, "GIF87a", 6) == 0 ||
	                        memcmp(p, "GIF89a", 6) == 0)) ||
	       (len >= 2 && p[0] == 'B' && p[1] == 'M');
}

int
cover_thumbnail(const void *img, size_t len, int max_w, int max_h,
    struct buf *out, struct buf *why)
{
	unsigned char *pix = NULL, *small = NULL;
	struct jpeg_out jo = {out, false};
	int w, h, comp, tw, th, rc = -1;
	double sw, sh, s;

	buf_reset(out);
	if (max_w < 1 || max_h < 1 || max_w > COVER_MAX_SIDE ||
	    max_h > COVER_MAX_SIDE) {
		buf_addf(why, "a thumbnail is from 1 to %d pixels a side",
		    COVER_MAX_SIDE);
		return -1;
	}
	if (len == 0 || len > INT_MAX || !known_format(img, len) ||
	    !stbi_info_from_memory(img, (int)len, &w, &h, &comp)) {
		buf_adds(why, "not an image kosyncd can read");
		return -1;
	}
	if (w < 1 || h < 1 || (uint64_t)w * (uint64_t)h > COVER_MAX_PIXELS) {
		buf_addf(why,
		    "the image is too large (%d x %d pixels, at most "
		    "%llu)",
		    w, h, (unsigned long long)COVER_MAX_PIXELS);
		return -1;
	}
	pix = stbi_load_from_memory(img, (int)len, &w, &h, &comp, 3);
	if (pix == NULL || w < 1 || h < 1 ||
	    (uint64_t)w * (uint64_t)h > COVER_MAX_PIXELS) {
		buf_adds(why, "the image cannot be decoded");
		goto out;
	}
	sw = (double)max_w / w;
	sh = (double)max_h / h;
	s = sw < sh ? sw : sh;
	if (s >= 1) {
		tw = w;
		th = h;
	} else {
		tw = (int)(w * s + 0.5);
		th = (int)(h * s + 0.5);
		tw = tw < 1 ? 1 : tw > max_w ? max_w : tw;
		th = th < 1 ? 1 : th > max_h ? max_h : th;
	}
	if (tw != w || th != h) {
		small = malloc((size_t)tw * (size_t)th * 3);
		if (small == NULL ||
		    !stbir_resize_uint8(pix, w, h, 0, small, tw, th, 0, 3)) {
			buf_adds(why, "the image cannot be scaled");
			goto out;
		}
	}
	if (!stbi_write_jpg_to_func(jpeg_write, &jo, tw, th, 3,
	        small != NULL ? small : pix, COVER_JPEG_QUALITY) ||
	    jo.full) {
		buf_reset(out);
		buf_adds(why, "the thumbnail cannot be written");
		goto out;
	}
	rc = 0;
out:
	stbi_image_free(pix);
	free(small);
	return rc;
}
