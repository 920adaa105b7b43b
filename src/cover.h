/*
 * cover.h: a cover image made into a JPEG thumbnail, with stb (Debian's
 * libstb: stb_image decodes, stb_image_resize scales, stb_image_write
 * encodes JPEG). Only JPEG, PNG, GIF (its first frame) and BMP are
 * decoded: the other formats stb_image knows are refused by their first
 * bytes before stb sees them.
 *
 * The image's header is read first (stbi_info_from_memory) and an image
 * of more than COVER_MAX_PIXELS is refused before anything is decoded, so
 * a decode allocates at most COVER_MAX_PIXELS * 3 bytes (and a resize
 * and an encode much less). The thumbnail fits in max_w x max_h, keeps
 * the image's proportions, is never larger than the image, and is at most
 * COVER_MAX_OUTPUT bytes.
 *
 * Synchronous and stateless; the server runs it on a worker thread (a
 * large cover takes tens of milliseconds).
 *
 * Layer formats (src/LAYERS): on buf.h.
 */
#ifndef KOSYNCD_COVER_H
#define KOSYNCD_COVER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define COVER_MAX_PIXELS ((uint64_t)40 * 1000 * 1000) /* 120 MB decoded */
#define COVER_MAX_SIDE 4096         /* of a thumbnail asked for */
#define COVER_MAX_OUTPUT (4u << 20) /* bytes of a thumbnail */
#define COVER_JPEG_QUALITY 85

/*
 * Decode the len bytes at img, scale the picture to fit in max_w x max_h
 * (1..COVER_MAX_SIDE) and write it as a JPEG into out (replacing its
 * contents). Returns 0, or -1 with a one-line reason in why.
 */
int cover_thumbnail(const void *img, size_t len, int max_w, int max_h,
    struct buf *out, struct buf *why);

#endif
