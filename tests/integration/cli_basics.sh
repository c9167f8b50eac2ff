#!/usr/bin/env bash
# The weft program's front door: help texts, unknown commands, exit codes and messages.
set -uo pipefail
weft=${WEFT_BIN:?run through ctest}
fail=0
check() { # check NAME EXPECTED_STATUS CMD...
    local name=$1 want=$2
    shift 2
    "$@" > /tmp/weft-cli-out.$$ 2> /tmp/weft-cli-err.$$
    local got=$?
    if [ "$got" != "$want" ]; then
        echo "FAIL $name: exit $got, want $want; stderr: $(cat /tmp/weft-cli-err.$$)"
        fail=1
    else
        echo "ok   $name"
    fi
}
check "weft --help" 0 "$weft" --help
grep -q "store" /tmp/weft-cli-out.$$ || { echo "FAIL: --help does not list store"; fail=1; }
check "weft without arguments is a usage error" 2 "$weft"
check "unknown command" 2 "$weft" frobnicate
grep -q "unknown command 'frobnicate'" /tmp/weft-cli-err.$$ || { echo "FAIL: no clear message"; fail=1; }
check "weft xet --help" 0 "$weft" xet --help
check "weft xet hash of a missing file" 3 "$weft" xet hash /nonexistent/file
grep -q "^weft: open /nonexistent/file" /tmp/weft-cli-err.$$ || { echo "FAIL: message: $(cat /tmp/weft-cli-err.$$)"; fail=1; }
check "weft xet chunks without a file" 2 "$weft" xet chunks
printf 'hello' > /tmp/weft-cli-in.$$
check "weft xet hash of a small file" 0 "$weft" xet hash /tmp/weft-cli-in.$$
sha=$(sha256sum /tmp/weft-cli-in.$$ | cut -d' ' -f1)
grep -q "$sha" /tmp/weft-cli-out.$$ || { echo "FAIL: sha256 not printed"; fail=1; }
check "weft store --help" 0 "$weft" store --help
rm -f /tmp/weft-cli-out.$$ /tmp/weft-cli-err.$$ /tmp/weft-cli-in.$$
exit $fail
