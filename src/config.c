/*
 * config.c: the option table and every way of setting an option.
 *
 * One table (config_options[] below) names each option with its type, its
 * field in struct config, its default, its range, its check and its help.
 * Everything else is derived from it: the defaults, the four sources
 * (built-in, database.json, KOSYNCD_* environment, --flags), --help,
 * `config show`, the Markdown reference in docs/configuration.md and the
 * "config" object written back into database.json.
 *
 * The module config.h describes has three files: this one (the table, the
 * checks of values, the sources other than the file), config_file.c
 * (database.json's "config" object, read and written back) and
 * config_reference.c (the table written out for people).
 *
 * Invariants:
 *   - every value in a struct config passed the option's checks, so the
 *     rest of the program never re-validates (the defaults pass them too,
 *     which test_config checks);
 *   - cfg->source_[i] is the strongest source that set option i, and a
 *     weaker source never changes the value;
 *   - strings in a struct config are heap copies owned by it.
 *
 * Not here: reading database.json's users (snapshot_reader.c), the meaning of
 * each option (the modules that read the fields), printing (callers print
 * the messages this module puts in err).
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "bounds.h"
#include "config.h"
#include "hookfmt.h"
#include "log.h"
#include "proxy.h"
#include "xmalloc.h"

static config_check_fn check_address, check_base_path, check_data_dir;
static config_check_fn check_webhook_url, check_webhook_secret,
    check_webhook_events, check_library_paths;
static config_check_fn check_metrics_address;
static config_check_fn check_redis_address, check_trusted_proxies;

static const char *const storage_words[] = {"file", "memory", "redis", NULL};
static const char *const fsync_words[] = {"always", "everysec", "no", NULL};
static const char *const encoding_words[] = {"json", "msgpack", NULL};

#define F(field) offsetof(struct config, field)
#define KiB ((uint64_t)1024)
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)

/*
 * The table. KOsync's keys come first, in the order KOsync writes them, so
 * that database.json keeps KOsync's layout.
 */
const struct config_option config_options[] = {
    {
        .name = "listen_address",
        .type = CONFIG_T_STRING,
        .offset = F(listen_address),
        .defstr = ":8080",
        .check = check_address,
        .flags = CONFIG_OPT_KOSYNC,
        .arg = "ADDR",
        .help =
            "Address and port to listen on: host:port, :port (every address) "
            "or [v6addr]:port.",
        .doc =
            "The host must be numeric (an IPv4 or IPv6 address): a static "
            "executable cannot resolve names. Port 0 picks a free port, which "
            "the log line `listening on HOST:PORT` reports. An empty value "
            "means `:8080`, as in KOsync.",
    },
    {
        .name = "metrics_listen",
        .type = CONFIG_T_STRING,
        .offset = F(metrics_listen),
        .defstr = "",
        .check = check_metrics_address,
        .arg = "ADDR",
        .help = "Address and port of a separate listener serving GET /metrics "
                "(Prometheus); empty (the default) for none.",
        .doc = "Same forms as listen_address, e.g. `127.0.0.1:9090`. The page "
               "counts requests by route and status, their latency, failed "
               "logins, users, documents, journal size, fsync latency and "
               "compactions (docs/operations.md). It has no authentication: "
               "keep it on a loopback or private address.",
    },
    {
        .name = "disable_registration",
        .type = CONFIG_T_BOOL,
        .offset = F(disable_registration),
        .flags = CONFIG_OPT_KOSYNC,
        .help =
            "Refuse new accounts (POST /users/create answers 402, code 2005).",
        .doc = "Existing users keep working; create accounts with the admin "
               "commands instead.",
    },
    {
        .name = "enable_debug_log",
        .type = CONFIG_T_BOOL,
        .offset = F(enable_debug_log),
        .flags = CONFIG_OPT_KOSYNC,
        .help = "Verbose logging (debug lines on stderr).",
        .doc =
            "Keys, passwords and request bodies are never logged, even then.",
    },
    {
        .name = "store_history",
        .type = CONFIG_T_BOOL,
        .offset = F(store_history),
        .flags = CONFIG_OPT_KOSYNC,
        .help = "Keep the earlier states of each document (see history_limit).",
        .doc = "As in KOsync, every push first appends the document's previous "
               "state to its history.",
    },
    {
        .name = "backup_encoding_type",
        .type = CONFIG_T_STRING,
        .offset = F(backup_encoding_type),
        .defstr = "json",
        .choices = encoding_words,
        .flags = CONFIG_OPT_KOSYNC,
        .arg = "WORD",
        .help =
            "KOsync's backup encoding; accepted and kept, backups are always "
            "JSON.",
        .doc =
            "KOsync 0.x forces `msgpack`; kosyncd keeps the value so that the "
            "file stays valid for KOsync, but writes and reads JSON backups "
            "(PEM `Content-Type: application/json`).",
    },
    {
        .name = "backup_on_startup",
        .type = CONFIG_T_BOOL,
        .offset = F(backup_on_startup),
        .flags = CONFIG_OPT_KOSYNC,
        .help =
            "Write a PEM backup of the database every time the server starts.",
    },
    {
        .name = "enable_webui",
        .type = CONFIG_T_BOOL,
        .offset = F(enable_webui),
        .def = 1,
        .flags = CONFIG_OPT_KOSYNC,
        .help = "Serve the web interface at / (its API under /api/v1/).",
        .doc = "KOsync's key. On by default; a KOsync database.json says "
               "false (KOsync's default), which turns it off until the key "
               "is changed. See docs/web.md; administrators are named in "
               "admins.",
    },
    {
        .name = "data_dir",
        .type = CONFIG_T_STRING,
        .offset = F(data_dir),
        .defstr = "./data",
        .check = check_data_dir,
        .flags = CONFIG_OPT_NOFILE,
        .arg = "DIR",
        .help = "Directory holding database.json, its journal and the backups.",
        .doc =
            "Read from the environment or a flag only: the file lives in it. "
            "Created when missing.",
    },
    {
        .name = "storage",
        .type = CONFIG_T_STRING,
        .offset = F(storage),
        .defstr = "file",
        .choices = storage_words,
        .arg = "WORD",
        .help = "Backend: `file` (database.json and a journal in data_dir), "
                "`memory` (nothing survives a restart) or `redis` (see "
                "redis_address).",
        .doc = "`redis` keeps users and progress in Redis in the official "
               "server's "
               "layout, so several kosyncd processes can share them "
               "(docs/redis.md).",
    },
    {
        .name = "redis_address",
        .type = CONFIG_T_STRING,
        .offset = F(redis_address),
        .defstr = "127.0.0.1:6379",
        .check = check_redis_address,
        .flags = CONFIG_OPT_NOFILE,
        .arg = "ADDR",
        .help =
            "Redis server of the redis backend: host:port, [v6addr]:port or "
            "unix:/path/to/socket.",
        .doc = "The host must be numeric: a static executable cannot resolve "
               "names.",
    },
    {
        .name = "redis_password",
        .type = CONFIG_T_STRING,
        .offset = F(redis_password),
        .defstr = "",
        .flags = CONFIG_OPT_NOFILE | CONFIG_OPT_SECRET,
        .arg = "PASSWORD",
        .help = "Password sent with AUTH after connecting to Redis; empty for "
                "none.",
        .doc =
            "Prefer the environment (`KOSYNCD_REDIS_PASSWORD`) to a flag, "
            "which "
            "other users can see in the process list. `config show` masks it.",
    },
    {
        .name = "redis_db",
        .type = CONFIG_T_UINT,
        .offset = F(redis_db),
        .def = 1,
        .max = 65535,
        .flags = CONFIG_OPT_NOFILE,
        .arg = "N",
        .help = "Redis database index (SELECT); the official server uses 1.",
    },
    {
        .name = "redis_hash_keys",
        .type = CONFIG_T_BOOL,
        .offset = F(redis_hash_keys),
        .flags = CONFIG_OPT_NOFILE,
        .help = "Store keys in Redis as argon2id hashes instead of verbatim.",
        .doc =
            "Off by default, as the official server stores keys verbatim. Once "
            "on, new and changed keys (and verbatim keys as their users log "
            "in) "
            "are stored hashed, which the official server cannot read.",
    },
    {
        .name = "fsync",
        .type = CONFIG_T_ENUM,
        .offset = F(fsync),
        .def = CONFIG_FSYNC_ALWAYS,
        .choices = fsync_words,
        .arg = "WORD",
        .help = "When the journal is flushed to disk: `always` (before every "
                "answer), `everysec` or `no`.",
        .doc =
            "`always` acknowledges a write only once it is on disk; concurrent "
            "writes share one fdatasync, and while writes keep coming one "
            "starts at most every 250 us, so that more share it (a lone "
            "write never waits). `everysec` may lose the last second of "
            "writes on a power failure, `no` whatever the kernel had not "
            "written yet. Under `always` and `everysec` the journal file is "
            "kept up to 256 KiB longer than its records, in zeros written "
            "ahead of them, so that a sync writes data only "
            "(docs/database.md).",
    },
    {
        .name = "compact_bytes",
        .type = CONFIG_T_U64,
        .offset = F(compact_bytes),
        .def = 64 * MiB,
        .min = 4 * KiB,
        .max = 1024 * GiB,
        .arg = "N",
        .help = "Journal size in bytes that triggers a compaction (a new "
                "database.json and an empty journal).",
    },
    {
        .name = "base_path",
        .type = CONFIG_T_STRING,
        .offset = F(base_path),
        .defstr = "",
        .check = check_base_path,
        .arg = "PATH",
        .help = "Extra prefix the routes are also served under, e.g. `/sync` "
                "behind "
                "a reverse proxy; empty for none.",
        .doc =
            "The routes are always served at `/` and under `/koreader/` too. "
            "The value starts with `/`; a trailing `/` is removed.",
    },
    {
        .name = "strict_accept",
        .type = CONFIG_T_BOOL,
        .offset = F(strict_accept),
        .help =
            "Answer 412 to requests without KOReader's Accept header, as the "
            "official server does.",
        .doc = "Off by default: the Accept header is not checked.",
    },
    {
        .name = "history_limit",
        .type = CONFIG_T_UINT,
        .offset = F(history_limit),
        .def = 100,
        .max = 1000000,
        .arg = "N",
        .help = "History entries kept per document when store_history is on; 0 "
                "keeps all.",
    },
    {
        .name = "user_max_documents",
        .type = CONFIG_T_U64,
        .offset = F(user_max_documents),
        .def = STORE_USER_MAX_DOCUMENTS,
        .max = 100000000,
        .arg = "N",
        .help = "Documents one account may hold; 0: no limit (more: 507, "
                "code 2008).",
        .doc = "A push of a new document past it is refused and changes "
               "nothing; see docs/security.md, per-user limits.",
    },
    {
        .name = "user_max_history",
        .type = CONFIG_T_U64,
        .offset = F(user_max_history),
        .def = STORE_USER_MAX_HISTORY,
        .max = 1000000000,
        .arg = "N",
        .help = "History entries one account may hold, over all its "
                "documents; 0: no limit.",
        .doc = "At the limit a push is still stored: its document's oldest "
               "history entry makes room (none: the replaced state is not "
               "kept). history_limit bounds each document on top of it.",
    },
    {
        .name = "user_max_bytes",
        .type = CONFIG_T_U64,
        .offset = F(user_max_bytes),
        .def = STORE_USER_MAX_BYTES,
        .max = (uint64_t)1 << 40,
        .arg = "N",
        .help = "Bytes one account may store (ids, fields, metadata, history, "
                "device positions); 0: no limit (more: 507, code 2008).",
        .doc = "Counted as the bytes of every stored string plus 16 per "
               "document, history entry, device position and merge; a change "
               "that would go past it is refused and changes nothing.",
    },
    {
        .name = "dav_max_file_bytes",
        .type = CONFIG_T_U64,
        .offset = F(dav_max_file_bytes),
        .def = DAV_MAX_FILE_BYTES,
        .min = 1 * KiB,
        .max = (uint64_t)1 << 40,
        .arg = "N",
        .help = "Largest file one WebDAV upload (PUT) may store, in bytes "
                "(larger: 413).",
        .doc = "Uploads are streamed to disk, so this bounds the disk an "
               "upload takes, not the memory (a few tens of KiB per upload).",
    },
    {
        .name = "dav_quota_bytes",
        .type = CONFIG_T_U64,
        .offset = F(dav_quota_bytes),
        .def = DAV_QUOTA_BYTES,
        .min = 1 * KiB,
        .max = (uint64_t)1 << 40,
        .arg = "N",
        .help = "Bytes of files one account may keep in its WebDAV space "
                "(more: 507).",
        .doc = "The sizes of all the account's files; an upload or copy "
               "that would pass it is refused and changes nothing.",
    },
    {
        .name = "dav_versions",
        .type = CONFIG_T_UINT,
        .offset = F(dav_versions),
        .def = DAV_VERSIONS,
        .max = DAV_VERSIONS_MAX,
        .arg = "N",
        .help = "Earlier versions kept of each statistics.sqlite3 and "
                "vocabulary_builder.sqlite3 uploaded over WebDAV; 0 keeps "
                "none.",
        .doc = "Hidden beside the file (never listed over WebDAV), "
               "downloadable from the web API; they count against "
               "dav_quota_bytes.",
    },
    {
        .name = "webhook_allow_private",
        .type = CONFIG_T_BOOL,
        .offset = F(webhook_allow_private),
        .def = 0,
        .help = "Let webhooks reach loopback, private and link-local "
                "addresses.",
        .doc = "Off by default, so that an account cannot make the server "
               "probe its own network (SSRF; docs/webhooks.md). Turn it on "
               "for receivers on the server's LAN, such as home "
               "automation.",
    },
    {
        .name = "webhook_timeout_ms",
        .type = CONFIG_T_U64,
        .offset = F(webhook_timeout_ms),
        .def = (uint64_t)WEBHOOK_TIMEOUT_MS,
        .min = 100,
        .max = (uint64_t)120 * 1000,
        .arg = "MS",
        .help = "Deadline of one webhook delivery: connect, send and read "
                "the status line.",
        .doc = "A delivery past it counts as failed and is tried again "
               "later (webhook_retry_ms).",
    },
    {
        .name = "webhook_retry_ms",
        .type = CONFIG_T_U64,
        .offset = F(webhook_retry_ms),
        .def = (uint64_t)WEBHOOK_RETRY_MS,
        .min = 10,
        .max = (uint64_t)3600 * 1000,
        .arg = "MS",
        .help = "Delay before a failed webhook delivery's first retry; each "
                "next one waits 3 times longer (5 tries in all).",
        .doc = "With the default the 5 tries span about 10 minutes.",
    },
    {
        .name = "webhook_queue",
        .type = CONFIG_T_UINT,
        .offset = F(webhook_queue),
        .def = WEBHOOK_QUEUE,
        .min = 1,
        .max = WEBHOOK_QUEUE_MAX,
        .arg = "N",
        .help = "Webhook deliveries an account may have waiting; past it "
                "the oldest is dropped (and counted).",
        .doc = "Bounds the memory one account's events take while its "
               "receivers are slow or down.",
    },
    {
        .name = "webhook_url",
        .type = CONFIG_T_STRING,
        .offset = F(webhook_url),
        .defstr = "",
        .check = check_webhook_url,
        .arg = "URL",
        .help = "A webhook that receives every account's events "
                "(http://<numeric address>[:port]/path); empty for none.",
        .doc = "The administrator's own, beside the accounts' webhooks "
               "(docs/webhooks.md): signed with webhook_secret, for the "
               "events in webhook_events. webhook_allow_private does not "
               "apply to it: the operator chooses it.",
    },
    {
        .name = "webhook_secret",
        .type = CONFIG_T_STRING,
        .offset = F(webhook_secret),
        .defstr = "",
        .check = check_webhook_secret,
        .flags = CONFIG_OPT_SECRET,
        .arg = "SECRET",
        .help = "The server-wide webhook's secret (16 to 128 printable "
                "ASCII characters).",
        .doc = "Bodies are signed with HMAC-SHA256 under it "
               "(X-Kosyncd-Signature). `config show` masks it.",
    },
    {
        .name = "webhook_events",
        .type = CONFIG_T_STRING,
        .offset = F(webhook_events),
        .defstr = "progress,started,finished,statistics_uploaded",
        .check = check_webhook_events,
        .arg = "LIST",
        .help = "The server-wide webhook's events, comma-separated.",
        .doc = "Any of progress, started, finished, statistics_uploaded, "
               "credential_first_use.",
    },
    {
        .name = "max_header_bytes",
        .type = CONFIG_T_U64,
        .offset = F(max_header_bytes),
        .def = (uint64_t)SERVER_MAX_HEADER_BYTES,
        .min = 1 * KiB,
        .max = 1 * MiB,
        .arg = "N",
        .help = "Largest request line plus headers, in bytes (larger: 431).",
    },
    {
        .name = "max_body_bytes",
        .type = CONFIG_T_U64,
        .offset = F(max_body_bytes),
        .def = (uint64_t)SERVER_MAX_BODY_BYTES,
        .min = 1 * KiB,
        .max = 64 * MiB,
        .arg = "N",
        .help = "Largest request body, in bytes (larger: 413). A whole "
                "request, chunk framing included, may take at most 2 x "
                "(max_header_bytes + max_body_bytes) bytes (more: 413).",
    },
    {
        .name = "max_connections",
        .type = CONFIG_T_U64,
        .offset = F(max_connections),
        .def = (uint64_t)SERVER_MAX_CONNECTIONS,
        .min = 1,
        .max = 1000000,
        .arg = "N",
        .help = "Open connections in total. At the limit, a silent or the "
                "longest-idle keep-alive connection is closed to make "
                "room, else 503. Lowered at start to fit the open-files "
                "limit (with a warning).",
    },
    {
        .name = "max_connections_per_ip",
        .type = CONFIG_T_U64,
        .offset = F(max_connections_per_ip),
        .def = (uint64_t)SERVER_MAX_CONNECTIONS_PER_IP,
        .min = 1,
        .max = 1000000,
        .arg = "N",
        .help = "Open connections per client address (IPv6: per /64); more "
                "are refused.",
    },
    {
        .name = "idle_timeout_ms",
        .type = CONFIG_T_U64,
        .offset = F(idle_timeout_ms),
        .def = (uint64_t)SERVER_IDLE_TIMEOUT_MS,
        .min = 100,
        .max = (uint64_t)24 * 3600 * 1000,
        .arg = "MS",
        .help = "Milliseconds a keep-alive connection may wait for its next "
                "request.",
    },
    {
        .name = "request_timeout_ms",
        .type = CONFIG_T_U64,
        .offset = F(request_timeout_ms),
        .def = (uint64_t)SERVER_REQUEST_TIMEOUT_MS,
        .min = 100,
        .max = (uint64_t)3600 * 1000,
        .arg = "MS",
        .help = "Milliseconds from a request's first byte to its last (slower "
                "clients are cut off with 408).",
    },
    {
        .name = "shutdown_timeout_ms",
        .type = CONFIG_T_U64,
        .offset = F(shutdown_timeout_ms),
        .def = (uint64_t)SERVER_SHUTDOWN_TIMEOUT_MS,
        .min = 0,
        .max = (uint64_t)3600 * 1000,
        .arg = "MS",
        .help = "Milliseconds a shutdown waits for requests in flight before "
                "closing their connections.",
    },
    {
        .name = "access_log",
        .type = CONFIG_T_BOOL,
        .offset = F(access_log),
        .def = 1,
        .help = "Write one line per answered request on stderr (on by "
                "default).",
        .doc = "The lines (docs/operations.md) are written in batches: once "
               "per turn of the event loop, or sooner when a batch reaches "
               "64 KiB or its oldest line 5 ms (docs/security.md). Off, "
               "the metrics still count every request; warnings and errors "
               "are logged either way.",
    },
    {
        .name = "argon2_concurrency",
        .type = CONFIG_T_U64,
        .offset = F(argon2_concurrency),
        .def = 2,
        .min = 1,
        .max = 64,
        .arg = "N",
        .help = "Password hashes (argon2id, ~19 MiB each) computed at the same "
                "time.",
        .doc = "Bounds the memory and CPU that a burst of logins can take.",
    },
    {
        .name = "auth_fail_per_user",
        .type = CONFIG_T_UINT,
        .offset = F(auth_fail_per_user),
        .def = RATELIMIT_AUTH_FAIL_PER_USER,
        .max = 1000000,
        .arg = "N",
        .help = "Failed logins per user name within auth_fail_window_s before "
                "the name is refused for a while; 0 for no limit.",
        .doc = "While refused, requests get the usual 401 without their key "
               "being checked, except from addresses that logged in as that "
               "user before. Each block lasts one window, doubling while the "
               "failures go on, up to 64 windows. See docs/security.md.",
    },
    {
        .name = "auth_fail_per_ip",
        .type = CONFIG_T_UINT,
        .offset = F(auth_fail_per_ip),
        .def = RATELIMIT_AUTH_FAIL_PER_IP,
        .max = 1000000,
        .arg = "N",
        .help = "Failed logins per client address (IPv6: per /64) within "
                "auth_fail_window_s before it is refused for a while; 0 for "
                "no limit.",
    },
    {
        .name = "auth_fail_window_s",
        .type = CONFIG_T_UINT,
        .offset = F(auth_fail_window_s),
        .def = RATELIMIT_AUTH_FAIL_WINDOW_S,
        .min = 1,
        .max = 86400,
        .arg = "S",
        .help = "Seconds of the sliding window the failed-login limits count "
                "in, and of the first block.",
    },
    {
        .name = "register_per_ip",
        .type = CONFIG_T_UINT,
        .offset = F(register_per_ip),
        .def = RATELIMIT_REGISTER_PER_IP,
        .max = 1000000,
        .arg = "N",
        .help = "Registrations per client address within register_window_s; "
                "more are answered 402 \"Too many registrations, try again "
                "later.\"; 0 for no limit.",
    },
    {
        .name = "register_window_s",
        .type = CONFIG_T_UINT,
        .offset = F(register_window_s),
        .def = RATELIMIT_REGISTER_WINDOW_S,
        .min = 1,
        .max = (uint64_t)7 * 86400,
        .arg = "S",
        .help = "Seconds of the sliding window registrations are counted in.",
    },
    {
        .name = "ratelimit_entries",
        .type = CONFIG_T_UINT,
        .offset = F(ratelimit_entries),
        .def = RATELIMIT_MAX_ENTRIES,
        .min = 16,
        .max = 10000000,
        .arg = "N",
        .help = "Names and addresses each rate-limit table remembers (about 80 "
                "bytes each); the least recently seen are forgotten first.",
    },
    {
        .name = "trusted_proxies",
        .type = CONFIG_T_STRING,
        .offset = F(trusted_proxies),
        .defstr = "",
        .check = check_trusted_proxies,
        .arg = "LIST",
        .help = "Addresses and CIDR blocks of reverse proxies whose "
                "X-Forwarded-For, X-Real-IP and X-Forwarded-Proto are "
                "believed; empty for none.",
        .doc = "Separate entries with commas or blanks, e.g. `127.0.0.1, "
               "10.0.0.0/8, fd00::/8`. From any other peer these headers are "
               "ignored. The client address found is the one rate limits and "
               "the access log use; connections from a trusted proxy are not "
               "counted against max_connections_per_ip.",
    },
    {
        .name = "admins",
        .type = CONFIG_T_STRING,
        .offset = F(admins),
        .defstr = "",
        .arg = "LIST",
        .help = "Retired: administrators are a flag on their account "
                "(kosyncd user admin NAME on). Still read so that old "
                "data directories load.",
        .doc = "Retired. Administrators of the web interface are a flag on "
               "the account, set with `kosyncd user add --admin NAME` or "
               "`kosyncd user admin NAME on|off`. A value found in "
               "database.json (or Redis's kosyncd:config) is carried over "
               "once: each comma-separated entry that exactly names an "
               "existing account flags that account, the others are "
               "reported and dropped, and the option is emptied. Set by a "
               "flag or the environment it is ignored, with a warning. "
               "See docs/operations.md.",
    },
    {
        .name = "cookie_secure",
        .type = CONFIG_T_BOOL,
        .offset = F(cookie_secure),
        .help = "Mark the web interface's session cookie Secure (sent over "
                "https only).",
        .doc = "It is marked Secure anyway when the request came over https "
               "through a trusted proxy (X-Forwarded-Proto).",
    },
    {
        .name = "session_ttl_s",
        .type = CONFIG_T_UINT,
        .offset = F(session_ttl_s),
        .def = (uint64_t)7 * 86400,
        .min = 60,
        .max = (uint64_t)366 * 86400,
        .arg = "S",
        .help = "Seconds a web interface sign-in lasts.",
        .doc = "Sessions live in memory: a restart signs everybody out.",
    },
    {
        .name = "library_paths",
        .type = CONFIG_T_STRING,
        .offset = F(library_paths),
        .defstr = "",
        .check = check_library_paths,
        .arg = "DIRS",
        .help = "Folders of books (or Calibre libraries) every account sees, "
                "separated by ':'; empty for none.",
        .doc = "Absolute paths, at most 32. Each is scanned recursively and "
               "read-only; a folder holding `metadata.db` is read as a "
               "Calibre library (docs/library.md).",
    },
    {
        .name = "library_upload_path",
        .type = CONFIG_T_STRING,
        .offset = F(library_upload_path),
        .defstr = "",
        .arg = "DIR",
        .help = "Where uploaded books are kept; empty for "
                "<data_dir>/library/uploads.",
        .doc = "An account's uploads go to its own folder below it "
               "(`<account>/`), shared ones to `shared/`. With several "
               "instances on one Redis, give them all the same path.",
    },
    {
        .name = "library_rescan_interval_s",
        .type = CONFIG_T_UINT,
        .offset = F(library_rescan_interval_s),
        .def = 600,
        .min = 0,
        .max = (uint64_t)7 * 86400,
        .arg = "S",
        .help = "Seconds between rescans of the library folders when "
                "inotify cannot watch them; 0 for none.",
        .doc = "Where inotify watches every folder, a change is seen "
               "within seconds and this is not used.",
    },
    {
        .name = "library_share",
        .type = CONFIG_T_STRING,
        .offset = F(library_share),
        .defstr = "",
        .arg = "NAMES",
        .help = "The accounts that see the books of library_paths and of "
                "the shared uploads folder, separated by ','; empty for "
                "every account.",
        .doc = "An account not named sees its own uploads and the uploads "
               "an administrator shared (`library share`), nothing else of "
               "the library.",
    },
    {
        .name = "library_max_upload_bytes",
        .type = CONFIG_T_U64,
        .offset = F(library_max_upload_bytes),
        .def = LIBRARY_MAX_UPLOAD_BYTES,
        .min = 1 * KiB,
        .max = (uint64_t)1 << 40,
        .arg = "N",
        .help = "Largest book one upload from the web interface may store, "
                "in bytes (larger: 413).",
        .doc = "Uploads are streamed to disk (a few tens of KiB of memory "
               "each); an account's uploads together count against "
               "dav_quota_bytes (more: 507).",
    },
};

#define NOPTIONS (sizeof(config_options) / sizeof(config_options[0]))
_Static_assert(NOPTIONS <= CONFIG_MAX_OPTIONS, "raise CONFIG_MAX_OPTIONS");
const size_t config_noptions = NOPTIONS;

/* A parsed value, before it is stored. */
struct value {
	bool b;
	uint64_t u;
	int e;
	struct buf s; /* string options: the normalised text */
};

static const char *const source_names[] = {
    "default", "database.json", "environment", "flag"};

/* ---------------------------------------------------------------------
 * The table
 */

/* Index of the option called name (exact, '_' form), or -1. */
int
config_option_index(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NOPTIONS; i++)
		if (strlen(config_options[i].name) == len &&
		    memcmp(config_options[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

static void *
field(struct config *cfg, const struct config_option *o)
{
	return (char *)cfg + o->offset;
}

static const void *
cfield(const struct config *cfg, const struct config_option *o)
{
	return (const char *)cfg + o->offset;
}

/* Append "--listen-address" for option o. */
void
config_add_flag_name(struct buf *out, const struct config_option *o)
{
	const char *p;

	buf_adds(out, "--");
	for (p = o->name; *p != '\0'; p++)
		buf_addch(out, *p == '_' ? '-' : *p);
}

/* Append "KOSYNCD_LISTEN_ADDRESS" for option o. */
void
config_add_env_name(struct buf *out, const struct config_option *o)
{
	const char *p;

	buf_adds(out, "KOSYNCD_");
	for (p = o->name; *p != '\0'; p++)
		buf_addch(out, toupper((unsigned char)*p));
}

/* Append "a, b or c" for a NULL-terminated word list. */
void
config_add_choices(struct buf *out, const char *const *w, const char *quote)
{
	size_t i, n = 0;

	while (w[n] != NULL)
		n++;
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_adds(out, i + 1 == n ? " or " : ", ");
		buf_addf(out, "%s%s%s", quote, w[i], quote);
	}
}

/* ---------------------------------------------------------------------
 * Checks of string options
 */

/*
 * listen_address: "host:port", ":port" or "[v6]:port" with a numeric host.
 * addr.c's addr_parse_listen() is the one parser of addresses, so the form
 * accepted here is exactly the form the server can listen on.
 */
static int
check_address(struct buf *v, struct buf *why)
{
	struct sockaddr_storage ss;
	const char *err = NULL;

	if (v->len == 0) {
		buf_adds(v, ":8080");
		return 0;
	}
	if (addr_parse_listen(v->data, &ss, &err) == -1) {
		buf_adds(why, err != NULL ? err : "not an address");
		buf_adds(why, " (expected host:port, :port or [v6addr]:port "
		              "with a numeric host)");
		return -1;
	}
	return 0;
}

/* metrics_listen: empty (off) or an address as for listen_address. */
static int
check_metrics_address(struct buf *v, struct buf *why)
{
	if (v->len == 0)
		return 0;
	return check_address(v, why);
}

/*
 * redis_address: "unix:/path" (non-empty path) or a numeric "host:port" /
 * "[v6]:port" with an explicit host and a port other than 0.
 */
static int
check_redis_address(struct buf *v, struct buf *why)
{
	const char *err = NULL;
	char *host, *path;
	int port;

	if (addr_parse_connect(v->data, &host, &port, &path, &err) == 0) {
		free(host);
		free(path);
		return 0;
	}
	buf_adds(why, err);
	if (!addr_is_unix(v->data))
		buf_adds(why, " (expected host:port or [v6addr]:port with a "
		              "numeric host, or unix:/path)");
	return -1;
}

/* trusted_proxies: a list proxy_list_parse() takes. */
static int
check_trusted_proxies(struct buf *v, struct buf *why)
{
	struct proxy_list *pl = NULL;

	if (proxy_list_parse(v->data, &pl, why) == -1)
		return -1;
	proxy_list_free(pl);
	return 0;
}

/*
 * library_paths: "" or absolute folders separated by ':', at most 32
 * (library.h LIBRARY_MAX_PATHS), none empty.
 */
static int
check_library_paths(struct buf *v, struct buf *why)
{
	const char *p = v->data;
	unsigned n = 0;

	if (v->len == 0)
		return 0;
	for (;;) {
		const char *end = strchr(p, ':');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		if (len == 0 || p[0] != '/') {
			buf_adds(why, "each folder must be an absolute path");
			return -1;
		}
		if (++n > 32) {
			buf_adds(why, "at most 32 folders");
			return -1;
		}
		if (end == NULL)
			return 0;
		p = end + 1;
	}
}

/* webhook_url: "" or what a webhook may be (hookfmt_url_parse). */
static int
check_webhook_url(struct buf *v, struct buf *why)
{
	struct hook_url u;
	const char *err;

	if (v->len == 0 ||
	    hookfmt_url_parse((struct str){v->data, v->len}, &u, &err) == 0)
		return 0;
	buf_adds(why, err);
	return -1;
}

/* webhook_secret: "" or 16 to 128 printable ASCII characters. */
static int
check_webhook_secret(struct buf *v, struct buf *why)
{
	size_t i;

	if (v->len == 0)
		return 0;
	for (i = 0; i < v->len; i++)
		if (v->data[i] < '!' || v->data[i] > '~')
			break;
	if (v->len >= HOOK_SECRET_MIN && v->len <= HOOK_SECRET_MAX &&
	    i == v->len)
		return 0;
	buf_adds(why, "must be 16 to 128 printable ASCII characters");
	return -1;
}

/* webhook_events: names of events, comma-separated, at least one. */
static int
check_webhook_events(struct buf *v, struct buf *why)
{
	if (hookfmt_events_parse((struct str){v->data, v->len}) != 0)
		return 0;
	buf_adds(why, "must name events among progress, started, finished, "
	              "statistics_uploaded, credential_first_use");
	return -1;
}

/* base_path: "" or "/a/b" (trailing '/' removed), printable, no '?' '#'. */
static int
check_base_path(struct buf *v, struct buf *why)
{
	size_t i;

	while (v->len > 0 && v->data[v->len - 1] == '/')
		v->data[--v->len] = '\0';
	if (v->len == 0)
		return 0;
	if (v->data[0] != '/') {
		buf_adds(why, "must start with '/'");
		return -1;
	}
	for (i = 0; i < v->len; i++) {
		unsigned char c = (unsigned char)v->data[i];

		if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#' ||
		    c == '%' || c == '\\') {
			buf_adds(why, "must be a plain URL path (no spaces, "
			              "'?', '#', '%' or '\\')");
			return -1;
		}
		if (c == '/' && i + 1 < v->len && v->data[i + 1] == '/') {
			buf_adds(why, "must not contain '//'");
			return -1;
		}
	}
	return 0;
}

static int
check_data_dir(struct buf *v, struct buf *why)
{
	if (v->len == 0) {
		buf_adds(why, "must not be empty");
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * Parsing and storing values
 */

static int
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "1", "yes", "on"};
	static const char *const no[] = {"false", "0", "no", "off"};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* A decimal number made of digits only (no sign, blank or exponent). */
int
config_parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/*
 * Parse text for option o into val (val->s must be BUF_INIT). Returns 0, or
 * -1 with the reason in why.
 */
static int
parse_value(const struct config_option *o, const char *text, struct value *val,
    struct buf *why)
{
	size_t i;

	switch (o->type) {
	case CONFIG_T_BOOL:
		if (parse_bool(text, &val->b) == -1) {
			buf_adds(why, "expected true or false");
			return -1;
		}
		return 0;
	case CONFIG_T_UINT:
	case CONFIG_T_U64:
		if (config_parse_u64(text, &val->u) == -1) {
			buf_adds(why, "expected a whole number");
			return -1;
		}
		if (val->u < o->min || val->u > o->max) {
			buf_addf(why, "out of range %llu..%llu",
			    (unsigned long long)o->min,
			    (unsigned long long)o->max);
			return -1;
		}
		return 0;
	case CONFIG_T_ENUM:
		for (i = 0; o->choices[i] != NULL; i++) {
			if (strcmp(text, o->choices[i]) == 0) {
				val->e = (int)i;
				return 0;
			}
		}
		buf_adds(why, "expected ");
		config_add_choices(why, o->choices, "");
		return -1;
	case CONFIG_T_STRING:
		buf_adds(&val->s, text);
		if (o->choices != NULL) {
			for (i = 0; o->choices[i] != NULL; i++)
				if (strcmp(text, o->choices[i]) == 0)
					return 0;
			buf_adds(why, "expected ");
			config_add_choices(why, o->choices, "");
			return -1;
		}
		if (o->check != NULL)
			return o->check(&val->s, why);
		return 0;
	}
	buf_adds(why, "unknown option type");
	return -1;
}

/* Store val into cfg's field for o (takes the string out of val). */
static void
store_value(
    struct config *cfg, const struct config_option *o, struct value *val)
{
	void *p = field(cfg, o);

	switch (o->type) {
	case CONFIG_T_BOOL:
		*(bool *)p = val->b;
		break;
	case CONFIG_T_UINT:
		*(unsigned *)p = (unsigned)val->u;
		break;
	case CONFIG_T_U64:
		*(uint64_t *)p = val->u;
		break;
	case CONFIG_T_ENUM:
		*(int *)p = val->e;
		break;
	case CONFIG_T_STRING:
		free(*(char **)p);
		*(char **)p = buf_detach(&val->s, NULL);
		break;
	}
}

/* Append option o's current value as text (unquoted). */
void
config_add_value(
    struct buf *out, const struct config *cfg, const struct config_option *o)
{
	const void *p = cfield(cfg, o);

	switch (o->type) {
	case CONFIG_T_BOOL:
		buf_adds(out, *(const bool *)p ? "true" : "false");
		break;
	case CONFIG_T_UINT:
		buf_addf(out, "%u", *(const unsigned *)p);
		break;
	case CONFIG_T_U64:
		buf_addf(out, "%llu", (unsigned long long)*(const uint64_t *)p);
		break;
	case CONFIG_T_ENUM:
		buf_adds(out, o->choices[*(const int *)p]);
		break;
	case CONFIG_T_STRING:
		if (*(char *const *)p != NULL)
			buf_adds(out, *(char *const *)p);
		break;
	}
}

int
config_value(const struct config *cfg, const char *name, struct buf *out)
{
	int i = config_option_index(name, strlen(name));

	if (i == -1)
		return -1;
	config_add_value(out, cfg, &config_options[i]);
	return 0;
}

/* Append option o's default as text (unquoted). */
void
config_add_default(struct buf *out, const struct config_option *o)
{
	switch (o->type) {
	case CONFIG_T_BOOL:
		buf_adds(out, o->def ? "true" : "false");
		break;
	case CONFIG_T_UINT:
	case CONFIG_T_U64:
		buf_addf(out, "%llu", (unsigned long long)o->def);
		break;
	case CONFIG_T_ENUM:
		buf_adds(out, o->choices[o->def]);
		break;
	case CONFIG_T_STRING:
		buf_adds(out, o->defstr);
		break;
	}
}

/* Append how the source names option o: "--x", "KOSYNCD_X", ... */
static void
add_where(
    struct buf *out, const struct config_option *o, enum config_source src)
{
	switch (src) {
	case CONFIG_SRC_FLAG:
		buf_adds(out, " (");
		config_add_flag_name(out, o);
		buf_adds(out, ")");
		break;
	case CONFIG_SRC_ENV:
		buf_adds(out, " (");
		config_add_env_name(out, o);
		buf_adds(out, ")");
		break;
	case CONFIG_SRC_FILE:
		buf_adds(out, " in " CONFIG_DATABASE_FILE);
		break;
	case CONFIG_SRC_DEFAULT:
		break;
	}
}

/* Append "invalid value 'v' for option 'o' (--o): " to err. */
void
config_add_bad_value(struct buf *err, const struct config_option *o,
    const char *v, enum config_source src)
{
	buf_adds(err, "invalid value '");
	log_escape(err, str_from(v), 200);
	buf_addf(err, "' for option '%s'", o->name);
	add_where(err, o, src);
	buf_adds(err, ": ");
}

/*
 * Check text for option index i and, unless a stronger source set it,
 * store it. A value from the file is also remembered for file_write.
 */
int
config_set_index(struct config *cfg, int i, const char *text,
    enum config_source src, struct buf *err)
{
	const struct config_option *o = &config_options[i];
	struct value val = {false, 0, 0, BUF_INIT};
	struct buf why = BUF_INIT;
	int rc = -1;

	if (parse_value(o, text, &val, &why) == -1) {
		config_add_bad_value(err, o, text, src);
		buf_add(err, why.data, why.len);
		goto out;
	}
	if (src == CONFIG_SRC_FILE) {
		free(cfg->file_[i]);
		cfg->file_[i] = o->type == CONFIG_T_STRING ? xstrdup(val.s.data)
		                                           : xstrdup(text);
	}
	if (src >= cfg->source_[i]) {
		store_value(cfg, o, &val);
		cfg->source_[i] = (unsigned char)src;
	}
	rc = 0;
out:
	buf_release(&val.s);
	buf_release(&why);
	return rc;
}

/* ---------------------------------------------------------------------
 * Public: life cycle and sources
 */

void
config_init(struct config *cfg)
{
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < NOPTIONS; i++) {
		const struct config_option *o = &config_options[i];
		void *p = field(cfg, o);

		switch (o->type) {
		case CONFIG_T_BOOL:
			*(bool *)p = o->def != 0;
			break;
		case CONFIG_T_UINT:
			*(unsigned *)p = (unsigned)o->def;
			break;
		case CONFIG_T_U64:
			*(uint64_t *)p = o->def;
			break;
		case CONFIG_T_ENUM:
			*(int *)p = (int)o->def;
			break;
		case CONFIG_T_STRING:
			*(char **)p = xstrdup(o->defstr);
			break;
		}
		cfg->source_[i] = CONFIG_SRC_DEFAULT;
	}
}

void
config_release(struct config *cfg)
{
	size_t i;

	for (i = 0; i < NOPTIONS; i++) {
		if (config_options[i].type == CONFIG_T_STRING) {
			char **p = field(cfg, &config_options[i]);

			free(*p);
			*p = NULL;
		}
	}
	for (i = 0; i < CONFIG_MAX_OPTIONS; i++) {
		free(cfg->file_[i]);
		cfg->file_[i] = NULL;
	}
}

int
config_set(struct config *cfg, const char *name, const char *value,
    enum config_source src, struct buf *err)
{
	int i = config_option_index(name, strlen(name));

	if (i == -1) {
		buf_adds(err, "unknown option '");
		log_escape(err, str_from(name), 100);
		buf_adds(err, "'");
		if (src == CONFIG_SRC_FILE)
			buf_adds(err, " in " CONFIG_DATABASE_FILE);
		return -1;
	}
	return config_set_index(cfg, i, value, src, err);
}

int
config_load_env(struct config *cfg, char *const *envp, struct buf *err)
{
	static const char prefix[] = "KOSYNCD_";
	struct buf name = BUF_INIT;
	const char *e, *eq, *p;
	int i;

	for (; *envp != NULL; envp++) {
		e = *envp;
		if (strncmp(e, prefix, sizeof(prefix) - 1) != 0 ||
		    strncmp(e, "KOSYNCD_TEST_", 13) == 0)
			continue;
		eq = strchr(e, '=');
		if (eq == NULL)
			continue;
		buf_reset(&name);
		for (p = e + sizeof(prefix) - 1; p < eq; p++)
			buf_addch(&name, tolower((unsigned char)*p));
		i = -1;
		/* Only the upper-case spelling names an option. */
		for (p = e + sizeof(prefix) - 1; p < eq; p++)
			if (islower((unsigned char)*p))
				break;
		if (p == eq)
			i = config_option_index(name.data, name.len);
		if (i == -1) {
			buf_adds(err, "unknown environment variable '");
			log_escape(err, (struct str){e, (size_t)(eq - e)}, 100);
			buf_adds(err, "'");
			buf_release(&name);
			return -1;
		}
		if (config_set_index(cfg, i, eq + 1, CONFIG_SRC_ENV, err) ==
		    -1) {
			buf_release(&name);
			return -1;
		}
	}
	buf_release(&name);
	return 0;
}

int
config_parse_arg(
    struct config *cfg, int argc, char **argv, int *optind, struct buf *err)
{
	const char *arg = argv[*optind], *eq, *value;
	struct buf name = BUF_INIT;
	const char *p;
	bool negated = false;
	int i, rc = -1;

	assert(strncmp(arg, "--", 2) == 0 && arg[2] != '\0');
	eq = strchr(arg, '=');
	if (eq == NULL)
		eq = arg + strlen(arg);
	for (p = arg + 2; p < eq; p++)
		buf_addch(&name, *p == '-' ? '_' : *p);
	i = config_option_index(name.data, name.len);
	if (i == -1 && strncmp(name.data, "no_", 3) == 0 && *eq == '\0') {
		i = config_option_index(name.data + 3, name.len - 3);
		if (i != -1 && config_options[i].type != CONFIG_T_BOOL)
			i = -1;
		negated = i != -1;
	}
	if (i == -1) {
		buf_adds(err, "unknown option '");
		log_escape(err, (struct str){arg, (size_t)(eq - arg)}, 100);
		buf_adds(err, "'");
		goto out;
	}
	(*optind)++;
	if (*eq == '=') {
		value = eq + 1;
	} else if (config_options[i].type == CONFIG_T_BOOL) {
		value = negated ? "false" : "true";
	} else if (*optind < argc) {
		value = argv[(*optind)++];
	} else {
		buf_adds(err, "option '");
		config_add_flag_name(err, &config_options[i]);
		buf_adds(err, "' requires a value");
		goto out;
	}
	rc = config_set_index(cfg, i, value, CONFIG_SRC_FLAG, err);
out:
	buf_release(&name);
	return rc;
}

int
config_parse_args(struct config *cfg, int argc, char **argv, int *optind,
    bool *help, struct buf *err)
{
	while (*optind < argc) {
		const char *a = argv[*optind];

		if (strcmp(a, "--") == 0) {
			(*optind)++;
			break;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			*help = true;
			(*optind)++;
			continue;
		}
		if (strncmp(a, "--", 2) == 0) {
			if (config_parse_arg(cfg, argc, argv, optind, err) ==
			    -1)
				return -1;
			continue;
		}
		if (a[0] == '-' && a[1] != '\0') {
			buf_adds(err, "unknown option '");
			log_escape(err, str_from(a), 100);
			buf_adds(err, "'");
			return -1;
		}
		break;
	}
	return 0;
}

int
config_validate(const struct config *cfg, struct buf *err)
{
	struct buf v = BUF_INIT, why = BUF_INIT;
	size_t i;
	int rc = 0;

	/* Every string still passes its check (callers may have edited). */
	for (i = 0; i < NOPTIONS && rc == 0; i++) {
		const struct config_option *o = &config_options[i];
		struct value val = {false, 0, 0, BUF_INIT};

		buf_reset(&v);
		buf_reset(&why);
		config_add_value(&v, cfg, o);
		if (parse_value(o, v.data, &val, &why) == -1) {
			config_add_bad_value(err, o, v.data,
			    (enum config_source)cfg->source_[i]);
			buf_add(err, why.data, why.len);
			rc = -1;
		}
		buf_release(&val.s);
	}
	if (rc == 0 && cfg->max_connections_per_ip > cfg->max_connections) {
		buf_addf(err,
		    "option 'max_connections_per_ip' (%llu) is larger than "
		    "'max_connections' (%llu)",
		    (unsigned long long)cfg->max_connections_per_ip,
		    (unsigned long long)cfg->max_connections);
		rc = -1;
	}
	buf_release(&v);
	buf_release(&why);
	return rc;
}

enum config_source
config_source_of(const struct config *cfg, const char *name)
{
	int i = config_option_index(name, strlen(name));

	return i == -1 ? CONFIG_SRC_DEFAULT
	               : (enum config_source)cfg->source_[i];
}

const char *
config_source_name(enum config_source src)
{
	if ((size_t)src >= sizeof(source_names) / sizeof(source_names[0]))
		return "unknown";
	return source_names[src];
}

/* ---------------------------------------------------------------------
 * database.json's "config" object, read with yajl's callbacks
 */
bool
config_admins_next(const char **p, struct str *entry)
{
	const char *s = *p, *end;

	for (;;) {
		if (s == NULL || *s == '\0')
			return false;
		end = strchr(s, ',');
		if (end == NULL)
			end = s + strlen(s);
		*p = *end == ',' ? end + 1 : end;
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (end > s) {
			*entry = (struct str){s, (size_t)(end - s)};
			return true;
		}
		s = *p;
	}
}
