# Sourced by the weft upload tests after common.sh: reading files back from a hub and summing
# the request log.
# fetched_sha BASE TOKEN REPO PATH [REV]: sha256 of a file as the hub serves it
fetched_sha() {
    curl -sfL -H "Authorization: Bearer $2" "$1/$3/resolve/${5:-main}/$4" | sha256sum | cut -d' ' -f1
}
local_sha() { sha256sum "$1" | cut -d' ' -f1; }
# Lines of a request log after line $2 matching $3.
log_since() { tail -n +"$(($2 + 1))" "$1" | grep -E "$3" || true; }
lines() { wc -l < "$1"; }
# Sum of in= bytes of matching lines.
bytes_in() { sed -nE 's/.* in=([0-9]+) .*/\1/p' | awk '{s+=$1} END {print s+0}'; }

up() { "$weft" upload --quiet "$@"; }
# client_env: weft client commands talk to the test hub ($base) as the admin, with their own
# HF_HOME under $work and no other cache or token settings from the environment.
client_env() {
    export HF_HOME=$work/hf HF_TOKEN=$admin HF_ENDPOINT=$base
    unset HF_HUB_CACHE WEFT_CHUNK_CACHE HF_TOKEN_PATH || true
}
