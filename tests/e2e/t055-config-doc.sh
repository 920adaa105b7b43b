#!/usr/bin/env bash
# t055-config-doc: the documentation follows the option table.
# docs/configuration.md is exactly the output of `kosyncd config reference`
# (regenerate it with: build/test/kosyncd config reference >
# docs/configuration.md), and docs/kosyncd.8 lists every option of --help.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)

"$KOSYNCD" config reference >"$KS_TMP/ref" 2>"$KS_TMP/err"
is "config reference: exit 0" "$?" 0
is "config reference: nothing on stderr" "$(cat "$KS_TMP/err")" ""
if diff -u "$ROOT/docs/configuration.md" "$KS_TMP/ref" >"$KS_TMP/diff"; then
	ok "docs/configuration.md matches config reference"
else
	not_ok "docs/configuration.md matches config reference"
	sed 's/^/#   /' "$KS_TMP/diff" | head -n 30
fi

"$KOSYNCD" --help >"$KS_TMP/help"
missing=
for flag in $(grep -oE '^     --[a-z0-9-]+' "$KS_TMP/help" | tr -d ' '); do
	name=${flag#--}
	grep -q "^\.It Fl Fl $name\b" "$ROOT/docs/kosyncd.8" ||
	    missing="$missing $flag"
done
is "kosyncd.8 lists every option" "${missing:-none}" none
check "kosyncd.8 lists at least 20 options" \
    [ "$(grep -c '^\.It Fl Fl ' "$ROOT/docs/kosyncd.8")" -ge 20 ]

done_testing
