/*
 * bounds.h: the named limits, in one place: what kosyncd stores at most,
 * and the defaults of the options that bound requests, connections and
 * failed logins (each default is also an option: config.c's table,
 * docs/security.md).
 *
 * Plain constants, so that any layer may read a limit without depending
 * on the module that enforces it (auth.c checks names against the store's
 * limits without including store.h; config.c's option table takes its
 * defaults from here).
 *
 * Layer core (src/LAYERS): a low-level primitive. It uses no other header of
 * kosyncd, so that any module may use it.
 */
#ifndef KOSYNCD_BOUNDS_H
#define KOSYNCD_BOUNDS_H

#include <stdint.h>

/* Named limits on what is stored (checked by the API layer). */
#define STORE_MAX_USERNAME 255  /* bytes of UTF-8 */
#define STORE_MAX_KEY 255       /* KOReader sends 32 hex digits */
#define STORE_MAX_DOCUMENT 255  /* KOReader sends 32 hex digits */
#define STORE_MAX_FIELD 4096    /* progress, device, device_id */
#define STORE_MAX_METADATA 1024 /* each of filename, title, authors */

/*
 * Per-user limits (defaults of the user_max_* options; docs/security.md).
 * Far above a real reader (thousands of books, years of history: a few MB)
 * and low enough that one self-registered account cannot take hundreds of
 * MB of memory and disk (20,000 documents of maximum-size fields are
 * 300 MB).
 */
#define STORE_USER_MAX_DOCUMENTS 50000
#define STORE_USER_MAX_HISTORY 200000
#define STORE_USER_MAX_BYTES ((uint64_t)64 << 20)

/* Defaults for the server's named limits (each is also an option). */
#define SERVER_MAX_HEADER_BYTES (16 * 1024)   /* request line + headers */
#define SERVER_MAX_BODY_BYTES (64 * 1024)     /* a push is ~300 bytes */
#define SERVER_MAX_HEADERS 64                 /* header lines */
#define SERVER_MAX_CONNECTIONS 4096           /* open sockets in total */
#define SERVER_MAX_CONNECTIONS_PER_IP 64      /* per client address */
#define SERVER_IDLE_TIMEOUT_MS (60 * 1000)    /* keep-alive between requests */
#define SERVER_REQUEST_TIMEOUT_MS (10 * 1000) /* first byte to last byte */
#define SERVER_SHUTDOWN_TIMEOUT_MS (10 * 1000)

/*
 * Defaults of the WebDAV file space's limits (dav.h): a statistics.sqlite3
 * is ~1.2 MB per year of daily reading (KOReader's largest reported: a few
 * MB), so 128 MiB per file and 1 GiB per account leave ample room.
 */
#define DAV_MAX_FILE_BYTES ((uint64_t)128 << 20)
#define DAV_QUOTA_BYTES ((uint64_t)1 << 30)
/* Largest book one web upload may store (library_max_upload_bytes). */
#define LIBRARY_MAX_UPLOAD_BYTES ((uint64_t)512 << 20)
/*
 * Versions kept of each statistics.sqlite3 and vocabulary_builder.sqlite3
 * an account uploads (davfs.h): the default, and the most allowed.
 */
#define DAV_VERSIONS 5
#define DAV_VERSIONS_MAX 100

/*
 * The web interface's export of an account's data (GET /api/v1/export,
 * webui.c): the file is built in memory, so it is bounded (an account at
 * its own limits of history is far larger than a real reader's, whose
 * export of 1,500 books with their history is a few MB), and so is the
 * number of exports built at once.
 */
#define WEB_EXPORT_MAX_MIB 64
#define WEB_EXPORT_MAX_BYTES ((size_t)WEB_EXPORT_MAX_MIB << 20)
#define WEB_EXPORT_MAX_RUNNING 2

/*
 * Events out (webhook.h): a delivery's deadline (connect, send, status
 * line), the first retry's delay (each next one 3 times longer; 5 tries
 * span 15 + 45 + 135 + 405 s, about 10 minutes), and the deliveries an
 * account may have waiting (the oldest is dropped and counted).
 */
#define WEBHOOK_TIMEOUT_MS (10 * 1000)
#define WEBHOOK_RETRY_MS (15 * 1000)
#define WEBHOOK_QUEUE 100
#define WEBHOOK_QUEUE_MAX 10000

/* Defaults of the failed-login and registration limits (ratelimit.h). */
#define RATELIMIT_AUTH_FAIL_PER_USER 10
#define RATELIMIT_AUTH_FAIL_PER_IP 30
#define RATELIMIT_AUTH_FAIL_WINDOW_S 60
#define RATELIMIT_REGISTER_PER_IP 10
#define RATELIMIT_REGISTER_WINDOW_S 3600
#define RATELIMIT_MAX_ENTRIES 16384

#endif
