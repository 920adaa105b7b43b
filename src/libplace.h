/*
 * libplace.h: where uploaded books are written (the uploads folder of
 * library_upload_path), shared by `kosyncd library add` and the web's
 * upload (libupload.h).
 *
 * An upload is written to a temporary file of its account's folder, made
 * durable (fsync), then linked under its own name (or "1-NAME", "2-NAME",
 * ... when the name is taken) and the folder fsynced: the library's scan
 * never sees half a book. A file whose partial MD5 is in the folder already
 * is not stored twice.
 *
 * Synchronous (file system calls): the server calls these on the thread
 * pool.
 */
#ifndef KOSYNCD_LIBPLACE_H
#define KOSYNCD_LIBPLACE_H

#include <stdint.h>

struct buf;
struct config;

/*
 * The uploads folder of user (NULL: "shared", every account's) into out:
 * <library_upload_path>/<user>, or <data_dir>/library/uploads/<user>.
 */
void libplace_dir(const struct config *cfg, const char *user, struct buf *out);

/* Make path and its parents (0700). Returns 0, or -1 with errno. */
int libplace_mkdirs(const char *path);

/*
 * Whether a regular file of dir has the partial MD5 pmd5: 0 with its path
 * in out, -1 when none.
 */
int libplace_find_same(const char *dir, const char *pmd5, struct buf *out);

/*
 * Link tmp (a file of dir, written and fsynced) into dir as name, or
 * "k-name" for the first k free, then unlink tmp and fsync dir; the new
 * path into out. Returns 0, or -1 with errno (tmp is unlinked either way).
 */
int libplace_link(
    const char *tmp, const char *dir, const char *name, struct buf *out);

/* The bytes of the regular files of dir (names starting with '.' left out). */
uint64_t libplace_usage(const char *dir);

#endif
