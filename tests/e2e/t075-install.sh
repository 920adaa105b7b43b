#!/usr/bin/env bash
# t075-install: `make install DESTDIR=... PREFIX=...` lays out the expected
# files, and the systemd unit passes `systemd-analyze verify` (skipped with
# a TAP skip line where systemd-analyze is missing).
#
# Covers: the binary (executable, runs `version`), the man page kosyncd(8)
# (and it renders without mandoc/groff warnings when man is available), the
# documentation, the unit with ExecStart naming PREFIX/bin/kosyncd and its
# sandboxing (DynamicUser, StateDirectory, ProtectSystem=strict,
# NoNewPrivileges); nothing else is installed. The build installed is
# build/test/kosyncd (INSTALL_BIN), which make test has just built.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEST=$KS_TMP/dest

for prefix in /usr /opt/kosyncd; do
	rm -rf "$DEST"
	make -s -C "$ROOT" install DESTDIR="$DEST" PREFIX="$prefix" \
	    INSTALL_BIN=build/test/kosyncd >"$KS_TMP/make.out" 2>&1
	is "$prefix: make install exit 0" "$?" 0
	unit=$DEST$prefix/lib/systemd/system/kosyncd.service
	check "$prefix: binary is executable" [ -x "$DEST$prefix/bin/kosyncd" ]
	like "$prefix: binary runs" "$("$DEST$prefix/bin/kosyncd" version)" '^kosyncd '
	check "$prefix: man page" [ -f "$DEST$prefix/share/man/man8/kosyncd.8" ]
	check "$prefix: documentation" [ -f "$DEST$prefix/share/doc/kosyncd/getting-started.md" ]
	check "$prefix: systemd unit" [ -f "$unit" ]
	is "$prefix: ExecStart names the installed binary" \
	    "$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")" "$prefix/bin/kosyncd"
	for d in DynamicUser=yes StateDirectory=kosyncd ProtectSystem=strict \
	    NoNewPrivileges=yes; do
		check "$prefix: unit has $d" grep -qx "$d" "$unit"
	done
	extra=$(cd "$DEST" && find . -type f | grep -vE "^\.$prefix/(bin/kosyncd|share/man/man8/kosyncd\.8|share/doc/kosyncd/[a-z-]+\.md|lib/systemd/system/kosyncd\.service)\$")
	is "$prefix: nothing else installed" "$extra" ""
done

if command -v systemd-analyze >/dev/null; then
	# verify checks that ExecStart exists on this system: point it at
	# the installed copy. --man=no: the page is not installed here.
	sed "s|^ExecStart=[^ ]*|ExecStart=$DEST/opt/kosyncd/bin/kosyncd|" \
	    "$DEST/opt/kosyncd/lib/systemd/system/kosyncd.service" \
	    >"$KS_TMP/kosyncd.service"
	out=$(systemd-analyze verify --man=no "$KS_TMP/kosyncd.service" 2>&1)
	is "systemd-analyze verify: exit 0" "$?" 0
	is "systemd-analyze verify: no complaints" "$out" ""
else
	KS_N=$((KS_N + 1))
	echo "ok $KS_N # skip systemd-analyze not installed"
fi

if command -v mandoc >/dev/null; then
	out=$(mandoc -T lint -W warning "$ROOT/docs/kosyncd.8" 2>&1)
	is "mandoc -T lint: no warnings" "$out" ""
elif command -v groff >/dev/null; then
	out=$(groff -mandoc -ww -z "$ROOT/docs/kosyncd.8" 2>&1)
	is "groff: no warnings" "$out" ""
else
	KS_N=$((KS_N + 1))
	echo "ok $KS_N # skip neither mandoc nor groff installed"
fi
done_testing
