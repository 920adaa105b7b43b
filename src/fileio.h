/*
 * fileio.h: writing files durably, the one way kosyncd does it.
 *
 * Three steps, each once: write every byte (retrying after EINTR and short
 * writes), fsync, and for a new name fsync the directory that holds it.
 * fileio_replace() puts them together with a temporary file and a rename,
 * so a reader sees the old file or the new one, never a part (git's
 * lockfile.h calling sequence).
 *
 * Fault injection (fault.h): fileio_replace() asks FAULT_SNAPSHOT before it
 * fills and before it syncs the temporary file, and FAULT_RENAME before the
 * rename; the other functions inject nothing, their callers ask the point
 * that fits them.
 *
 * fileio_pread_full() is the one read that needs the same care (the book
 * readers read samples and ranges of a file at offsets).
 *
 * Not here: choosing names, modes or when to write (the callers), the
 * journal's appends (journal.c writes at an offset with pwrite).
 *
 * Layer core (src/LAYERS): a low-level primitive. It uses no other header of
 * kosyncd than fault.h, and should interact only with other low-level
 * primitives, so that any module may use it.
 */
#ifndef KOSYNCD_FILEIO_H
#define KOSYNCD_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Write the len bytes at p to fd, retrying after EINTR and short writes.
 * Returns 0, or -1 with errno (EIO when write(2) wrote nothing).
 */
int fileio_write_all(int fd, const void *p, size_t len);

/*
 * Read up to len bytes at offset off of fd into p with pread (the file
 * offset is unchanged), retrying after EINTR and short reads until len
 * bytes or the end of the file. Returns the count read (less than len only
 * at the end), or -1 with errno.
 */
ssize_t fileio_pread_full(int fd, void *p, size_t len, off_t off);

/* fsync the directory dir. Returns 0, or -1 with errno. */
int fileio_fsync_dir(const char *dir);

/*
 * fsync the directory holding path ("." for a bare name), so that a new
 * name at path is durable. Returns 0, or -1 with errno.
 */
int fileio_fsync_parent(const char *path);

/*
 * Create path (it must not exist) with mode 0600, write the len bytes at
 * data, fsync and close it. On failure the file is removed and -1 returned
 * with errno and *op naming the step ("create", "write", "fsync",
 * "close"); an existing path fails at "create" with EEXIST. The caller
 * syncs the directory when the name must be durable.
 */
int fileio_write_new(
    const char *path, const char *data, size_t len, const char **op);

/* Bytes for fileio_replace() to write: fill with fileio_fill_bytes. */
struct fileio_bytes {
	const char *data;
	size_t len;
};

/* A fill of fileio_replace(): write the struct fileio_bytes at arg. */
int fileio_fill_bytes(int fd, const void *arg);

/*
 * Replace the file at path whole: create tmp (mode 0600; a stale tmp is
 * removed first), let fill(fd, arg) write it (0, or -1 with errno), fsync,
 * close, rename tmp over path, fsync the directory. Returns 0; or -1 with
 * errno and *op naming the failed step ("create", "write", "fsync",
 * "close", "rename", "fsync directory"), path untouched unless only the
 * directory sync failed, and tmp removed.
 */
int fileio_replace(const char *path, const char *tmp,
    int (*fill)(int fd, const void *arg), const void *arg, const char **op);

#endif
