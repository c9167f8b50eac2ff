# Sourced by the bench scripts that need a server: a work folder removed on exit, every process
# started through bench_bg stopped on exit, model-like input, and a `weft serve` to talk to.
#   . "$(dirname "$0")/lib.sh"; bench_init NAME BUILD_DIR
set -euo pipefail

# bench_init NAME BUILD_DIR: sets build, weft, work (/tmp/weft-bench-NAME.*); cleans up on exit.
bench_init() {
    build=${2:-build}
    weft=$build/weft
    work=$(mktemp -d "/tmp/weft-bench-$1.XXXXXX")
    bench_pids=()
    trap bench_cleanup EXIT
}

bench_cleanup() {
    for p in "${bench_pids[@]}"; do kill "$p" 2> /dev/null || true; done
    wait 2> /dev/null || true
    rm -rf "$work"
}

# bench_model FILE SIZE SEED: synthetic BF16 safetensors (bench_gen_model); sets bytes and oid.
bench_model() {
    "$build/bench_gen_model" -o "$1" --size "$2" --seed "$3" > /dev/null
    bytes=$(stat -c %s "$1")
    oid=$(sha256sum "$1" | cut -d' ' -f1)
}

# bench_hub DIR [serve options...]: stops the previous hub, starts `weft serve` with its data in
# DIR/data (request log in DIR/serve.err); sets base, token (the admin's) and auth (curl args).
bench_hub() {
    local d=$1
    shift
    if [ -n "${bench_hub_pid:-}" ]; then
        kill "$bench_hub_pid" 2> /dev/null || true
        wait "$bench_hub_pid" 2> /dev/null || true
    fi
    mkdir -p "$d"
    # --optimize=off: benchmarks measure the store as uploaded and optimize explicitly
    "$weft" serve --data "$d/data" --listen 127.0.0.1:0 --port-file "$d/port" --optimize=off "$@" \
        > "$d/serve.out" 2> "$d/serve.err" &
    bench_hub_pid=$!
    bench_pids+=("$bench_hub_pid")
    for _ in $(seq 400); do [ -s "$d/port" ] && grep -q serving "$d/serve.out" && break; sleep 0.05; done
    [ -s "$d/port" ] || { echo "bench: weft serve did not start: $(cat "$d/serve.err")" >&2; exit 1; }
    base=http://127.0.0.1:$(cat "$d/port")
    token=$(grep -o 'hf_[A-Za-z0-9]*' "$d/serve.out" | head -1)
    auth=(-H "authorization: Bearer $token")
}
