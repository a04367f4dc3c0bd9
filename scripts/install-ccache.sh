#!/usr/bin/env bash
# ccache, for CI (.ci/run): npm ci compiles better-sqlite3's SQLite, and ccache keeps the
# objects between runs on one machine. Nothing of the product needs it.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  exec sudo "$0" "$@"
fi
if ! command -v apt-get >/dev/null; then
  echo "install-ccache: this script knows Debian and Ubuntu; elsewhere install ccache, or leave CC and CXX unset to compile without it" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
installed() { [ "$(dpkg-query -W -f '${Status}' "$1" 2>/dev/null)" = 'install ok installed' ]; }
if installed ccache; then
  echo "install-ccache: $(dpkg-query -W -f '${Package} ${Version}' ccache) already installed"
  exit 0
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends ccache >/dev/null
echo "install-ccache: $(dpkg-query -W -f '${Package} ${Version}' ccache) installed"
