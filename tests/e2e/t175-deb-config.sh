#!/usr/bin/env bash
# t175-deb-config: the Debian package's /etc/kosyncd/kosyncd.conf
# (packaging/deb/kosyncd.conf), which the unit reads as its EnvironmentFile.
#
# Covers: every example line in it, uncommented, names a real option with a
# value kosyncd accepts (`config show` exits 0 and reports the value as
# coming from the environment), so a renamed option cannot leave the
# shipped file stopping the service; the file as shipped (all comments)
# sets nothing; and a typo in it stops kosyncd with a message naming it.
. "$(dirname "$0")/lib.sh"

CONF=$(dirname "$0")/../../packaging/deb/kosyncd.conf
mkdir -p "$KS_DIR"

# show ASSIGNMENT...: `config show` with the assignments in the environment,
# as systemd passes an EnvironmentFile (values as written, unquoted).
show() {
	env "$@" "$KOSYNCD" --data-dir "$KS_DIR" config show 2>"$KS_TMP/err"
}

n=0
while IFS= read -r line; do
	case $line in
	'#KOSYNCD_'*=*) ;;
	*) continue ;;
	esac
	kv=${line#\#}
	name=${kv%%=*}
	opt=$(printf '%s' "${name#KOSYNCD_}" | tr 'A-Z' 'a-z')
	out=$(show "$kv")
	rc=$?
	n=$((n + 1))
	if [ "$rc" = 0 ] && printf '%s\n' "$out" | grep -q "^$opt .*environment"; then
		ok "example '$kv' is accepted and comes from the environment"
	else
		not_ok "example '$kv' is accepted (exit $rc)"
		sed 's/^/# /' "$KS_TMP/err"
		printf '%s\n' "$out" | grep "^$opt" | sed 's/^/# /'
	fi
done <"$CONF"
check "the file has examples" test "$n" -gt 3

# The file as shipped: comments only, every option at its default.
check "as shipped: no line sets anything" \
    test -z "$(grep -v '^#\|^$' "$CONF")"

show KOSYNCD_LISTEN_ADRESS=:8080 >/dev/null
is "a misspelt name: exit 1" "$?" 1
like "a misspelt name: named" "$(cat "$KS_TMP/err")" "KOSYNCD_LISTEN_ADRESS"
done_testing
