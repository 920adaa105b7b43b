#!/usr/bin/env bash
# t031-kosync-import: KOsync's database.json of every schema 0..6 (the
# fixtures tests/data/kosync-schema*.json, schema 1 being the seed's own
# example) is loaded as is and used by a client with its old md5 key.
#
# Covers, for each schema: the server starts on the file; the user
# authenticates with the md5 key KOsync stored; the document reads back
# with its stored values (float32 percentages, KOsync timestamps); a push
# works; the migration wrote a PEM backup (KOSYNC BACKUP, App kosyncd,
# Content-Type application/json, Schema = the old schema, mode 0600) whose
# payload is byte for byte the original file; database.json is now schema
# 7 with argon2id keys; a restart migrates nothing more (no new backup) and
# the key still works (argon2 verification).
. "$(dirname "$0")/lib.sh"

DATA=$(cd "$(dirname "$0")/../data" && pwd)
KEY=$(md5 alice-pass)
D=0123456789abcdef0123456789abcdef

# field JSON NAME: one member of a JSON object, as Python prints it.
field() {
	python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], "none"))' "$1" "$2"
}

# backup_ok FILE ORIGINAL SCHEMA: the PEM backup decodes to ORIGINAL.
backup_ok() {
	python3 - "$1" "$2" "$3" <<'PY'
import base64, os, stat, sys
path, orig, schema = sys.argv[1], sys.argv[2], sys.argv[3]
lines = open(path).read().split("\n")
assert lines[0] == "-----BEGIN KOSYNC BACKUP-----", lines[0]
hdr = {}
i = 1
while lines[i]:
    k, v = lines[i].split(": ", 1)
    hdr[k] = v
    i += 1
assert hdr["App"] == "kosyncd", hdr
assert hdr["Content-Type"] == "application/json", hdr
assert hdr["Schema"] == schema, hdr
assert "Created-At" in hdr, hdr
end = lines.index("-----END KOSYNC BACKUP-----")
body = base64.b64decode("".join(lines[i + 1:end]))
assert body == open(orig, "rb").read(), "payload differs"
assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
PY
}

PCT=(0.1 0.1 0.25 0.5 0.75 0.9 0.33333334)
for s in 0 1 2 3 4 5 6; do
	rm -rf "$KS_DIR"
	mkdir -p "$KS_DIR"
	cp "$DATA/kosync-schema$s.json" "$KS_DIR/database.json"
	if [ "$s" = 1 ]; then
		U='<username>' K='<password>' DOC='<filehash>'
	else
		U=alice K=$KEY DOC=$D
	fi
	if ! ks_start; then
		not_ok "schema $s: server starts"
		continue
	fi
	req GET /users/auth "" -H "x-auth-user: $U" -H "x-auth-key: $K"
	is "schema $s: old md5 key accepted" "$STATUS" 200
	req GET /users/auth "" -H "x-auth-user: $U" -H "x-auth-key: x$K"
	is "schema $s: wrong key refused" "$STATUS" 401
	if [ "$s" != 1 ]; then
		req GET "/syncs/progress/$DOC" "" $(auth "$U" "$K")
		is "schema $s: document read" "$STATUS" 200
		is "schema $s: percentage" "$(field "$BODY" percentage)" "${PCT[$s]}"
		like "schema $s: progress" "$(field "$BODY" progress)" '^(/body|42)'
		like "schema $s: timestamp" "$(field "$BODY" timestamp)" '^17000000[0-9][0-9]$'
	fi
	req PUT /syncs/progress "{\"document\":\"new$s\",\"progress\":\"p\",\"percentage\":0.5,\"device\":\"d\"}" $(auth alice "$KEY")
	if [ "$s" = 1 ]; then
		is "schema $s: unknown user cannot push" "$STATUS" 401
	else
		is "schema $s: push" "$STATUS" 200
	fi
	bak=$(ls "$KS_DIR"/database_${s}_*.bak 2>/dev/null)
	is "schema $s: one migration backup" "$(printf '%s\n' "$bak" | grep -c .)" 1
	check "schema $s: backup holds the original file" \
	    backup_ok "$bak" "$DATA/kosync-schema$s.json" "$s"
	ks_stop
	check "schema $s: migrated to schema 7" \
	    grep -q '"schema": 7,' "$KS_DIR/database.json"
	if grep '"password"' "$KS_DIR/database.json" | grep -qv 'argon2id\|"password": ""'; then
		not_ok "schema $s: every key hashed"
	else
		ok "schema $s: every key hashed"
	fi
	ks_start || continue
	req GET /users/auth "" -H "x-auth-user: $U" -H "x-auth-key: $K"
	is "schema $s: key works after migration" "$STATUS" 200
	is "schema $s: no second backup" "$(ls "$KS_DIR"/*.bak | grep -c .)" 1
	ks_stop
done

# The seed's history (bare arrays, schema 1) and KOsync's map form both
# come through, in order, without KOsync's zero-valued first entry.
rm -rf "$KS_DIR"
mkdir -p "$KS_DIR"
cp "$DATA/kosync-schema2.json" "$KS_DIR/database.json"
ks_start || exit 1
ks_stop
n=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["users"]["alice"]["history"]["'$D'"]["document_history"]))' "$KS_DIR/database.json")
is "schema 2: history kept without the zero entry" "$n" 1
rm -rf "$KS_DIR"
mkdir -p "$KS_DIR"
cp "$DATA/kosync-schema1.json" "$KS_DIR/database.json"
ks_start || exit 1
ks_stop
n=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); h=d["users"]["<username>"]["history"]["<filehash>"]["document_history"]; print(",".join(str(e["timestamp"]) for e in h))' "$KS_DIR/database.json")
is "schema 1: bare-array history kept in order" "$n" "1,2"
done_testing
