#!/usr/bin/env bash
# t058-source-layers: the sources follow src/LAYERS (make hdr-check runs
# scripts/check-layers), and the check fails where it should: an include
# from a lower layer to a higher one, an include cycle, a file in no layer.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)

"$ROOT/scripts/check-layers" >"$KS_TMP/out" 2>"$KS_TMP/err"
is "the tree follows src/LAYERS" "$?" 0
is "the tree: nothing said" "$(cat "$KS_TMP/out" "$KS_TMP/err")" ""

# layers_in EDIT...: run the check on a copy of src/ and scripts/ after the
# shell commands EDIT (run in the copy); sets RC and ERR.
layers_in() {
	rm -rf "$KS_TMP/tree"
	mkdir -p "$KS_TMP/tree"
	cp -R "$ROOT/src" "$ROOT/scripts" "$KS_TMP/tree/"
	(cd "$KS_TMP/tree" && eval "$1")
	"$KS_TMP/tree/scripts/check-layers" >/dev/null 2>"$KS_TMP/err"
	RC=$?
	ERR=$(cat "$KS_TMP/err")
}

layers_in 'echo "#include \"store.h\"" >>src/buf.c'
is "upward include: refused" "$RC" 1
like "upward include: named" "$ERR" \
    'src/buf\.c:[0-9]+: includes store\.h \(layer store\) from layer core below it'

layers_in 'echo "#include \"auth.h\"" >>src/ratelimit.c &&
    echo "#include \"ratelimit.h\"" >>src/auth.c'
is "cycle in a layer: refused" "$RC" 1
like "cycle in a layer: named" "$ERR" 'include cycle: .*auth -> ratelimit|ratelimit -> auth'

layers_in 'printf "/* new */\n" >src/newmod.c'
is "file in no layer: refused" "$RC" 1
like "file in no layer: named" "$ERR" \
    'src/newmod\.c: module newmod is in no layer of src/LAYERS'

layers_in 'echo "#include \"nowhere.h\"" >>src/api.c'
is "unknown header: refused" "$RC" 1
like "unknown header: named" "$ERR" 'src/api\.c:[0-9]+: includes nowhere\.h, in no layer'

done_testing
