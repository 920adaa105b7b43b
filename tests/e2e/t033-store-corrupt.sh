#!/usr/bin/env bash
# t033-store-corrupt: a database.json kosyncd cannot read stops the start
# with a message naming the file and the offset, and is never overwritten.
#
# Covers: truncated JSON, a top-level array, garbage after the object, a
# schema newer than ours, a bad value in the config section (message names
# the option); in each case exit 1, the message, and the file unchanged.
. "$(dirname "$0")/lib.sh"

# try NAME CONTENT REGEX: start on CONTENT, expect exit 1 and REGEX.
try() {
	local name=$1 content=$2 want=$3 err
	rm -rf "$KS_DIR"
	mkdir -p "$KS_DIR"
	printf '%s' "$content" >"$KS_DIR/database.json"
	cp "$KS_DIR/database.json" "$KS_TMP/orig"
	timeout 10 "$KOSYNCD" --data-dir "$KS_DIR" \
	    --listen-address 127.0.0.1:0 2>"$KS_TMP/err"
	is "$name: exit 1" "$?" 1
	err=$(cat "$KS_TMP/err")
	like "$name: message" "$err" "$want"
	check "$name: file untouched" cmp -s "$KS_TMP/orig" "$KS_DIR/database.json"
	is "$name: nothing else written" "$(ls "$KS_DIR" | grep -v kosyncd.lock | tr '\n' ' ')" "database.json "
}

F="'$KS_DIR/database.json'"
try "truncated" '{"schema": 7, "users": {"a": {"password": "x"' \
    "cannot load $F: .* at offset [0-9]+; refusing to start"
try "array" '[1, 2, 3]' "cannot load $F: .*offset 1"
try "garbage after" '{"schema": 6, "users": {}} xyz' "cannot load $F: .* at offset"
try "invalid bytes" $'{"schema": 6, "users": {"\xff": {}}}' "cannot load $F: .*offset"
try "newer schema" '{"schema": 99, "users": {}}' \
    "$F has schema 99, newer than this kosyncd knows \(7\); refusing to start"
try "bad config value" '{"schema": 6, "config": {"listen_address": "nowhere"}, "users": {}}' \
    "cannot load $F: .*listen_address"
done_testing
