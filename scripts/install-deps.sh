#!/usr/bin/env bash
# Installs, from Debian's packages, whatever leakgraph needs to build and test that the
# machine lacks. Idempotent: installs nothing when everything is present.
#   scripts/install-deps.sh          build and test dependencies
#   scripts/install-deps.sh --bench  also the peers the benchmarks compare against
# Runs apt-get as root (directly, or through sudo when not root).
set -euo pipefail

pkgs=(build-essential g++ cmake pkg-config python3
      libunwind-dev   # stacks: unw_backtrace with per-thread caching
      libdw-dev libelf-dev  # symbols: libdwfl (function, file:line, inlined frames)
      libzstd-dev     # trace compression
      libpython3.11   # rcrt bench and tests compare against CPython's allocator
      valgrind)       # Memcheck comparisons
# CI gate tests (tests/ci): validate SARIF against its JSON schema, read JUnit XML back
pkgs+=(python3-jsonschema python3-junitparser)
# the fuzz target (scripts/fuzz.sh, docs/fuzzing.md): clang 14 and its libFuzzer runtime
pkgs+=(clang libclang-rt-dev)
# real programs compared with Memcheck (tests/leakcheck; a few MB): interpreters, plugins
pkgs+=(gawk m4 lua5.4 tcl8.6 bc file lz4 sqlite3 libxml2-utils)
# the transparency suite (tests/transparency): the real programs it runs untraced and traced
pkgs+=(gdb git curl openssl xz-utils bzip2 zstd make jq zip unzip gpg openssh-client groff-base
       xxd patch)
if [[ "${1:-}" == "--bench" ]]; then
    pkgs+=(heaptrack time)
fi

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then SUDO=sudo; else
        echo "install-deps: need root to install: ${missing[*]}" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
