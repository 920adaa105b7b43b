#!/usr/bin/env bash
# t037-store-restore-kosync: `kosyncd restore` with KOsync's own backups.
#
# Covers: a KOsync PEM backup with a JSON payload (schema 6) restores
# offline into an empty data directory; the next start migrates it (with
# its own PEM backup) and its user logs in with the md5 key KOsync stored;
# a KOsync msgpack backup is refused with exit 1 and a message saying to
# restore it with KOsync and point kosyncd at the resulting database.json,
# and nothing in the data directory changes; a file that is not a backup is
# refused the same way.
. "$(dirname "$0")/lib.sh"

DATA=$(cd "$(dirname "$0")/../data" && pwd)


mkdir -p "$KS_DIR"
run restore "$DATA/kosync-backup-json.pem"
is "KOsync JSON backup: restore exits 0" "$RC" 0
check "database.json written" test -s "$KS_DIR/database.json"
ks_start || exit 1
req GET /users/auth "" $(auth alice "$(md5 secret)")
is "restored user logs in with its md5 key" "$STATUS" 200
req GET /users/auth "" $(auth alice "$(md5 wrong)")
is "a wrong key is refused" "$STATUS" 401
ks_stop
check "the start migrated it with a backup first" \
    test -n "$(ls "$KS_DIR" | grep '^database_6_.*\.bak$')"
check "database.json is now schema 7" grep -q '"schema": 7,' "$KS_DIR/database.json"

cp "$KS_DIR/database.json" "$KS_TMP/before"
before=$(ls "$KS_DIR" | tr '\n' ' ')
run restore "$DATA/kosync-backup-msgpack.pem"
is "msgpack backup: exit 1" "$RC" 1
like "msgpack backup: says what to do" "$ERR" \
    "KOsync backup in msgpack, which kosyncd cannot read: restore it with KOsync .*then start kosyncd on the database.json KOsync wrote"
check "msgpack backup: database.json unchanged" cmp -s "$KS_TMP/before" "$KS_DIR/database.json"
is "msgpack backup: no file added or removed" "$(ls "$KS_DIR" | tr '\n' ' ')" "$before"

run restore "$DATA/kosync-schema6.json"
is "not a backup: exit 1" "$RC" 1
like "not a backup: says so" "$ERR" "is not a KOSYNC BACKUP PEM file"
check "not a backup: database.json unchanged" cmp -s "$KS_TMP/before" "$KS_DIR/database.json"
done_testing
