/*
 * snapshot_backup.c: PEM backups of database.json (see snapshot.h): the
 * text wrapped as a KOSYNC BACKUP block (pem.h) in a new file of its own
 * beside it, written with fileio_write_new() and its name made durable.
 *
 * Not here: reading a backup back (datadir_offline.c's restore, through
 * pem.h), deciding when to take one (datadir.c, admin.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "fileio.h"
#include "pem.h"
#include "snapshot.h"

int
snapshot_backup(const char *dir, const char *json, size_t len, int64_t schema,
    char **path_out, struct buf *err)
{
	struct buf path = BUF_INIT, pem = BUF_INIT;
	struct pem_header h[4];
	char created[64], stamp[32], schema_s[32];
	char n_app[] = "App", v_app[] = "kosyncd", n_ct[] = "Content-Type";
	char v_ct[] = "application/json", n_ca[] = "Created-At";
	char n_schema[] = "Schema";
	struct tm tm;
	time_t now = time(NULL);
	const char *op = "create";
	int n, written = -1, rc = -1;

	gmtime_r(&now, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(schema_s, sizeof(schema_s), "%lld", (long long)schema);
	h[0].name = n_app;
	h[0].value = v_app;
	h[1].name = n_ct;
	h[1].value = v_ct;
	h[2].name = n_ca;
	h[2].value = created;
	h[3].name = n_schema;
	h[3].value = schema_s;
	pem_encode(&pem, PEM_TYPE, h, 4, json, len);
	for (n = 0; n < 1000; n++) {
		buf_reset(&path);
		buf_addf(&path, "%s/database_%lld_%s_%ld", dir,
		    (long long)schema, stamp, (long)getpid());
		if (n > 0)
			buf_addf(&path, "_%d", n);
		buf_adds(&path, ".bak");
		written = fileio_write_new(path.data, pem.data, pem.len, &op);
		if (written == 0 || errno != EEXIST)
			break;
	}
	if (written != 0 && strcmp(op, "create") == 0) {
		buf_addf(err, "cannot create backup '%s': %s", path.data,
		    strerror(errno));
		goto out;
	}
	/* Test builds can fail the backup as a failed write (fault.h). */
	if (written != 0 || (errno = fault_check(FAULT_WRITE)) != 0 ||
	    fileio_fsync_dir(dir) != 0)
		goto werr;
	if (path_out != NULL)
		*path_out = buf_detach(&path, NULL);
	rc = 0;
	goto out;
werr:
	buf_addf(
	    err, "cannot write backup '%s': %s", path.data, strerror(errno));
	(void)unlink(path.data);
out:
	buf_release(&path);
	buf_release(&pem);
	return rc;
}
