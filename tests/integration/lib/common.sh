# Sourced by the bash integration tests: the binary, a temp dir removed on exit, assertions.
set -euo pipefail
weft=${WEFT_BIN:?run this test through ctest (make test)}
work=$(mktemp -d /tmp/weft-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
asan=${WEFT_SANITIZE:-0}

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }
# json_field FILE KEY -> the number after "KEY": in a one-line JSON object
json_field() { sed -E "s/.*\"$2\":([0-9.]+).*/\1/" "$1"; }
# Runs a command, expects exit status $1; stdout/stderr kept in $work/out, $work/err.
expect_status() {
    local want=$1
    shift
    set +e
    "$@" > "$work/out" 2> "$work/err"
    local got=$?
    set -e
    [ "$got" = "$want" ] || fail "'$*' exited $got, want $want; stderr: $(cat "$work/err")"
}
