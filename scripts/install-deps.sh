#!/usr/bin/env bash
# Installs everything Weft needs to build, test and benchmark on Debian 12 (run as root).
# Idempotent: packages already present are skipped, so the Makefile can call it every time.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)

apt_packages=(
    build-essential cmake pkg-config git clang
    libssl-dev libsqlite3-dev liblz4-dev libzstd-dev libjansson-dev libcmocka-dev
    libmicrohttpd-dev libgit2-dev libyaml-dev libcurl4-openssl-dev git-lfs curl
    nginx-light wrk
    b3sum lz4 zstd bc openssl coreutils nodejs npm python3
    xdelta3 # bench/delta.sh: the binary-delta anchor beside weft delta
)

missing=()
for p in "${apt_packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
# node may come from elsewhere than Debian's package; accept any node >= 18 on PATH.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    filtered=()
    for p in "${missing[@]}"; do
        [ "$p" = nodejs ] || [ "$p" = npm ] || filtered+=("$p")
    done
    missing=("${filtered[@]+"${filtered[@]}"}")
fi

if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "install-deps: apt-get install ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm packages for tests and benchmarks only (reference Xet chunker, official Hub client).
if [ ! -f "$here/node_modules/.weft-deps-ok" ] || [ "$here/package.json" -nt "$here/node_modules/.weft-deps-ok" ]; then
    echo "install-deps: npm install"
    (cd "$here" && npm install --no-audit --no-fund --loglevel=error)
    touch "$here/node_modules/.weft-deps-ok"
fi
