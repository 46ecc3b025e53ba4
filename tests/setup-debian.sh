#!/bin/sh
# setup-debian.sh: installs what building and testing allocprof needs on a
# fresh Debian 12 (run as root). Skips apt entirely when all is present.
set -eu
PKGS="build-essential cmake pkg-config libcmocka-dev libunwind-dev libzstd-dev libprotobuf-c-dev
protobuf-c-compiler zlib1g-dev libdw-dev libelf-dev golang-go python3 perl sqlite3 git g++ clang
libclang-rt-14-dev clang-format dpkg-dev lintian redis-server libjemalloc-dev libgoogle-perftools-dev curl
prometheus google-perftools debuginfod"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup-debian: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
