#!/usr/bin/env bash
# Installs what the report's tests need besides npm packages: Debian's Chromium, which the
# tests drive through playwright-core (a headless browser opens each report, as a reader would),
# and the DejaVu fonts the PNG plots are drawn with (resvg uses the system's fonts). Playwright's
# own browser download needs the internet; Debian's package does not.
# Run as root (or through sudo); safe to run again.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  exec sudo "$0" "$@"
fi
if ! command -v apt-get >/dev/null; then
  echo "install-report-browser: this script knows Debian and Ubuntu; elsewhere install Chromium (at /usr/bin/chromium, or set LENET_SWEEP_CHROMIUM) and the DejaVu fonts" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
installed() { [ "$(dpkg-query -W -f '${Status}' "$1" 2>/dev/null)" = 'install ok installed' ]; }
if installed chromium && installed fonts-dejavu-core; then
  echo "install-report-browser: $(dpkg-query -W -f '${Package} ${Version}' chromium) already installed"
  exit 0
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "install-report-browser: $(dpkg-query -W -f '${Package} ${Version}' chromium) installed"
