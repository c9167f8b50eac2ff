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

# start_hub [serve options...]: a real `weft serve` on 127.0.0.1:0 with its data in $work/data,
# stopped on exit (call it again after stopping $hub_pid to restart on the same data). Sets $base
# (http://127.0.0.1:PORT), $admin (the admin's token), $hub_pid; the
# request log (one line per request, with bytes in and out) goes to $work/serve.err. The background
# optimizer is off unless an --optimize option is given (tests see the store as uploaded).
start_hub() {
    local opt=--optimize=off a
    for a in "$@"; do case $a in --optimize* | --no-optimize) opt= ;; esac; done
    "$weft" serve --data "$work/data" --listen 127.0.0.1:0 --port-file "$work/port" $opt "$@" \
        > "$work/serve.out" 2> "$work/serve.err" &
    hub_pid=$!
    trap 'kill $hub_pid 2>/dev/null || true; wait $hub_pid 2>/dev/null || true; rm -rf "$work"' EXIT
    for _ in $(seq 400); do [ -s "$work/port" ] && grep -q serving "$work/serve.out" && break; sleep 0.05; done
    [ -s "$work/port" ] || fail "weft serve did not start: $(cat "$work/serve.err")"
    base=http://127.0.0.1:$(cat "$work/port")
    # a restart on the same data prints no token: the first start's stays in $admin
    local tok
    tok=$(grep -o 'hf_[A-Za-z0-9]*' "$work/serve.out" | head -1 || true)
    admin=${tok:-${admin:-}}
    [ -n "$admin" ] || fail "weft serve printed no admin token"
}
# json FILE EXPR: evaluates a JavaScript expression on the JSON in FILE (bound to `j`) and prints
# the result as JSON (strings quoted), e.g. json out.json 'j.files.length'.
json() {
    node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(JSON.stringify(eval(process.argv[2])));' "$1" "$2"
}
