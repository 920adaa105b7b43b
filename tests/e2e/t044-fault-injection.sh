#!/usr/bin/env bash
# t044-fault-injection: the Nth write or fdatasync fails (test-build knob
# KOSYNCD_TEST_FAULT_WRITE / _FSYNC, see src/fault.h), for N in 1..7
# across a scripted workload; every failure leaves the store consistent.
#
# Covers, for each N: the request whose record could not be made durable is
# answered 502 with the unknown-error JSON and changes nothing in memory
# (a read right after shows the old state); the server keeps serving and
# the next writes succeed; after SIGKILL and a restart without the fault
# every acknowledged change is there and no refused one is; the sticky form
# ("N+") refuses every write from the Nth on while reads keep working.
. "$(dirname "$0")/lib.sh"

ks_allow_stderr 'warning: cannot (write|sync) journal'
ks_allow_stderr 'warning: .*(snapshot|database\.json|compact)'

KEY=$(md5 secret)
A=$(auth fi "$KEY")
ERR='{"code":2000,"message":"Unknown server error."}'

# progress_of DOC: the stored progress string, or "none".
progress_of() {
	req GET "/syncs/progress/$1" "" $A
	python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("progress", "none"))' "$BODY"
}

# workload POINT N: run the scripted workload with the Nth POINT failing
# (acknowledged pushes go to $KS_TMP/expect as "doc value" lines), then
# restart without the fault and compare.
workload() {
	local point=$1 n=$2 i st refused=0 bad=0 registered=0 prev
	rm -rf "$KS_DIR"
	: >"$KS_TMP/expect"
	if ! ks_start_fault "$point" "$n"; then
		not_ok "$point=$n: server starts"
		return 1
	fi
	req POST /users/create "{\"username\":\"fi\",\"password\":\"$KEY\"}"
	case $STATUS in
	201) registered=1 ;;
	502) refused=$((refused + 1))
	     [ "$BODY" = "$ERR" ] || bad=$((bad + 1))
	     req POST /users/create "{\"username\":\"fi\",\"password\":\"$KEY\"}"
	     [ "$STATUS" = 201 ] && registered=1 ;;
	*) bad=$((bad + 1)) ;;
	esac
	for i in 1 2 3 4 5 6; do
		prev=$(progress_of "d$((i % 3))")
		req PUT /syncs/progress \
		    "{\"document\":\"d$((i % 3))\",\"progress\":\"v$i\",\"percentage\":0.5,\"device\":\"t\"}" $A
		st=$STATUS
		case $st in
		200) echo "d$((i % 3)) v$i" >>"$KS_TMP/expect" ;;
		502)
			refused=$((refused + 1))
			[ "$BODY" = "$ERR" ] || bad=$((bad + 1))
			# Memory unchanged by the refused push.
			[ "$(progress_of "d$((i % 3))")" = "$prev" ] ||
			    bad=$((bad + 1))
			;;
		*) bad=$((bad + 1)) ;;
		esac
	done
	is "$point=$n: server answered every request sanely" "$bad" 0
	is "$point=$n: registered" "$registered" 1
	check "$point=$n: the fault was hit and refused once ($refused)" \
	    test "$refused" -ge 1
	ks_kill9
	ks_start
	bad=0
	declare -A last=()
	while read -r doc val; do last[$doc]=$val; done <"$KS_TMP/expect"
	for i in 0 1 2; do
		want=${last[d$i]:-none}
		got=$(progress_of "d$i")
		if [ "$got" != "$want" ]; then
			echo "# d$i: want $want, got $got"
			bad=$((bad + 1))
		fi
	done
	is "$point=$n: after restart exactly the acknowledged pushes" "$bad" 0
	ks_stop
}

# ks_start_fault POINT N: ks_start with the fault armed in the server only.
ks_start_fault() {
	case $1 in
	WRITE) KOSYNCD_TEST_FAULT_WRITE=$2 ks_start ;;
	FSYNC) KOSYNCD_TEST_FAULT_FSYNC=$2 ks_start ;;
	esac
}

# The workload makes 7 journal writes (and syncs): the registration and
# six pushes; these N hit the first, middle and last ones.
for n in 1 2 4 7; do workload WRITE "$n"; done
for n in 1 3 6; do workload FSYNC "$n"; done

# Sticky: every write from the 3rd on fails; reads keep working.
rm -rf "$KS_DIR"
KOSYNCD_TEST_FAULT_WRITE=3+:EROFS ks_start
req POST /users/create "{\"username\":\"fi\",\"password\":\"$KEY\"}"
is "sticky: register" "$STATUS" 201
req PUT /syncs/progress '{"document":"s","progress":"s1","percentage":0.1,"device":"t"}' $A
is "sticky: first push" "$STATUS" 200
for i in 2 3 4; do
	req PUT /syncs/progress "{\"document\":\"s\",\"progress\":\"s$i\",\"percentage\":0.1,\"device\":\"t\"}" $A
	is "sticky: push $i refused" "$STATUS $BODY" "502 $ERR"
done
is "sticky: reads work" "$(progress_of s)" s1
req GET /users/auth "" $A
is "sticky: auth works" "$STATUS" 200
ks_kill9
ks_start
is "sticky: after restart the acknowledged push is there" "$(progress_of s)" s1
ks_stop
done_testing
