#!/usr/bin/env bash
# t106-dav-usage: the quota works from a usage figure per account (counted
# once on the thread pool, then moved by each upload and folder; counted
# again after a DELETE, COPY, MOVE or PROPPATCH), never stale across an
# account deleted and made again; and deleting a 10,000-entry tree runs
# off the event loop: the sync protocol answers while it goes on.
. "$(dirname "$0")/lib.sh"

put() { # put USER PATH BYTES: an upload of BYTES bytes; the status
	head -c "$3" /dev/zero | tr '\0' x >"$KS_TMP/up"
	curl -s -o /dev/null -w '%{http_code}' -u "$1:pw" -T "$KS_TMP/up" "$KS_URL/dav/$2"
}
dav() { # dav USER METHOD PATH [CURL ARGS]: the status
	local u=$1 m=$2 p=$3
	shift 3
	curl -s -o /dev/null -w '%{http_code}' -u "$u:pw" -X "$m" "$@" "$KS_URL/dav/$p"
}

ks_start --storage file --dav-quota-bytes 2048 || { not_ok "server started"; done_testing; }
register alice "$(md5 pw)"
is "a first file (the count)" "$(put alice a 1000)" 201
is "a second (the figure)" "$(put alice b 1000)" 201
is "past the quota" "$(put alice c 100)" 507
is "a smaller a (the figure goes down)" "$(put alice a 500)" 204
is "now c fits" "$(put alice c 500)" 201
is "and nothing more" "$(put alice d 100)" 507
is "DELETE b" "$(dav alice DELETE b)" 204
is "after it (counted again)" "$(put alice d 900)" 201
is "a COPY past the quota" "$(dav alice COPY d -H "Destination: $KS_URL/dav/e")" 507
is "a MOVE" "$(dav alice MOVE d -H "Destination: $KS_URL/dav/e")" 201
is "the bytes are the same after it" "$(put alice f 200)" 507
is "MKCOL" "$(dav alice MKCOL dir)" 201
is "a file in it" "$(put alice dir/g 48)" 201

# Deleted and registered again: the new tree's figure starts from zero.
run user del alice
is "alice deleted" "$RC" 0
register alice "$(md5 pw)"
is "a new alice uploads her whole quota" "$(put alice a 2000)" 201
ks_stop

# A tree of 10,000 entries (100 folders of 99 files), made by hand.
python3 - "$KS_DIR/dav/alice/big" <<'PY'
import os, sys
for i in range(100):
    d = f"{sys.argv[1]}/d{i:03}"
    os.makedirs(d)
    for j in range(99):
        with open(f"{d}/f{j:02}", "w") as f:
            f.write("x")
PY
check "the tree is made" [ -f "$KS_DIR/dav/alice/big/d099/f98" ]
ks_start --storage file || { not_ok "server restarted"; done_testing; }
register bob "$(md5 pw)"
push bob "$(md5 pw)" doc1 p1
is "bob pushes" "$STATUS" 200
curl -s -o "$KS_TMP/del" -w '%{http_code}' -u alice:pw -X DELETE "$KS_URL/dav/big" >"$KS_TMP/del-status" &
DEL=$!
# Once the deletion has begun, the protocol is asked; an answer that comes
# while the tree is still there came while the deletion ran.
for i in $(seq 1 2000); do
	[ "$(ls "$KS_DIR/dav/alice/big" 2>/dev/null | wc -l)" -lt 100 ] && break
done
during=0 answered=0
while [ -d "$KS_DIR/dav/alice/big" ]; do
	req GET /syncs/progress/doc1 "" $(auth bob "$(md5 pw)")
	if [ "$STATUS" = 200 ]; then
		answered=$((answered + 1))
		[ -d "$KS_DIR/dav/alice/big" ] && during=$((during + 1))
	fi
done
wait "$DEL"
echo "# the deletion done: $answered pulls answered, $during while it ran"
is "the DELETE of 10,000 entries" "$(cat "$KS_TMP/del-status")" 204
check "pulls were answered while the tree was being deleted ($during of $answered)" [ "$during" -gt 0 ]
check "the tree is gone" [ ! -e "$KS_DIR/dav/alice/big" ]
is "alice uploads after it" "$(put alice z 10)" 201
ks_stop
done_testing
