#!/usr/bin/env bash
# What npm ci needs to compile better-sqlite3's SQLite (there is no prebuilt binary without
# internet): node-gyp's compiler, make and Python. And ccache, which CI (.ci/run) puts in front
# of the compiler to keep the objects between runs on one machine.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  exec sudo "$0" "$@"
fi
if ! command -v apt-get >/dev/null; then
  echo "install-build-tools: this script knows Debian and Ubuntu; elsewhere install a C++ compiler, make, Python 3 and ccache (or run npm ci with CC and CXX unset, without ccache)" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
installed() { [ "$(dpkg-query -W -f '${Status}' "$1" 2>/dev/null)" = 'install ok installed' ]; }
packages=(g++ make python3 ccache)
missing=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-build-tools: ${packages[*]} already installed"
  exit 0
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-build-tools: ${missing[*]} installed"
