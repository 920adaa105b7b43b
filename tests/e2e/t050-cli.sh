#!/usr/bin/env bash
# t050-cli: the command line without a server: --help/-h/help (usage on
# stdout, exit 0), help for one command, version, and every usage error
# (unknown command, unknown flag, bad or missing value, extra argument,
# unknown or bad KOSYNCD_* variable): exit 1 with a message on stderr
# that names the command, option or variable, and nothing on stdout.
. "$(dirname "$0")/lib.sh"

# run ARGS...: run kosyncd; sets RC, OUT, ERR.
run() {
	"$KOSYNCD" "$@" >"$KS_TMP/out" 2>"$KS_TMP/err"
	RC=$?
	OUT=$(cat "$KS_TMP/out")
	ERR=$(cat "$KS_TMP/err")
}

for h in --help -h help "--data-dir /x --help"; do
	run $h
	is "$h: exit 0" "$RC" 0
	like "$h: usage on stdout" "$OUT" '^usage: kosyncd \[serve\]'
	like "$h: lists config show" "$OUT" 'kosyncd config show'
	like "$h: lists the options" "$OUT" '--listen-address ADDR'
	like "$h: lists every option" "$OUT" '--argon2-concurrency N'
	is "$h: nothing on stderr" "$ERR" ""
done
run --help
long=$(printf '%s\n' "$OUT" | awk 'length($0) > 80' | head -n 1)
is "--help lines fit in 80 columns" "$long" ""
is "hidden command not listed" "$(printf '%s\n' "$OUT" | grep -c reference)" 0

run config show --help
is "config show --help: exit 0" "$RC" 0
like "config show --help: its usage" "$OUT" '^usage: kosyncd config show'
run help config
is "help config: exit 0" "$RC" 0
like "help config: lists config show" "$OUT" 'usage: kosyncd config show'

run version
is "version: exit 0" "$RC" 0
like "version: prints the version" "$OUT" '^kosyncd [0-9]+\.[0-9]+\.[0-9]+$'
run --version
is "--version: same" "$OUT" "$(cat "$KS_TMP/out")"
is "--version: exit 0" "$RC" 0
KOSYNCD_BOGUS=1 run version
is "version ignores the environment" "$RC" 0

run frobnicate
is "unknown command: exit 1" "$RC" 1
like "unknown command: named" "$ERR" "^kosyncd: unknown command 'frobnicate'"
like "unknown command: usage on stderr" "$ERR" 'usage: kosyncd'
is "unknown command: nothing on stdout" "$OUT" ""

run config
is "incomplete command: exit 1" "$RC" 1
like "incomplete command: named" "$ERR" "kosyncd: incomplete command 'config'"

run --listen-adress=:1
is "unknown flag: exit 1" "$RC" 1
like "unknown flag: named" "$ERR" "^kosyncd: unknown option '--listen-adress'"
like "unknown flag: synopsis" "$ERR" 'usage: kosyncd \[serve\]'

run -x
is "unknown short flag: exit 1" "$RC" 1
like "unknown short flag: named" "$ERR" "unknown option '-x'"

run --max-body-bytes=12
is "out of range: exit 1" "$RC" 1
like "out of range: names option and value" "$ERR" \
    "invalid value '12' for option 'max_body_bytes' \(--max-body-bytes\): out of range 1024\.\.67108864"

run --listen-address nonsense
is "bad address: exit 1" "$RC" 1
like "bad address: names option and value" "$ERR" \
    "invalid value 'nonsense' for option 'listen_address'"

run config show --fsync sometimes
is "bad enum after the command: exit 1" "$RC" 1
like "bad enum: lists the words" "$ERR" "expected always, everysec or no"

run --strict-accept=maybe
is "bad bool: exit 1" "$RC" 1
like "bad bool: named" "$ERR" "invalid value 'maybe' for option 'strict_accept'"

run --data-dir
is "missing value: exit 1" "$RC" 1
like "missing value: named" "$ERR" "option '--data-dir' requires a value"

run serve extra
is "extra argument: exit 1" "$RC" 1
like "extra argument: said" "$ERR" "kosyncd: too many arguments"

KOSYNCD_LISTEN_ADRESS=:1 run config show --storage memory
is "unknown KOSYNCD_ variable: exit 1" "$RC" 1
like "unknown KOSYNCD_ variable: named" "$ERR" \
    "kosyncd: unknown environment variable 'KOSYNCD_LISTEN_ADRESS'"

KOSYNCD_HISTORY_LIMIT=-1 run config show --storage memory
is "bad env value: exit 1" "$RC" 1
like "bad env value: names the variable" "$ERR" \
    "invalid value '-1' for option 'history_limit' \(KOSYNCD_HISTORY_LIMIT\)"

# The server itself refuses a bad configuration before listening.
KOSYNCD_MAX_CONNECTIONS=0 run --data-dir "$KS_TMP/d" --listen-address 127.0.0.1:0
is "server with bad env value: exit 1" "$RC" 1
like "server with bad env value: message" "$ERR" "option 'max_connections'"
is "server did not listen" "$(printf '%s\n' "$ERR" | grep -c 'listening on')" 0

done_testing
