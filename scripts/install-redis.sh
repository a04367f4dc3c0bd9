#!/usr/bin/env bash
# Installs what the queue's tests need besides npm packages: Debian's Redis (redis-server, with
# redis-cli), which the tests start themselves, one server per test on a free port with its own
# options (password, TLS, addresses); iproute2, whose `ip netns` puts the end-to-end test's agents
# on network namespaces of their own; and openssl, which makes the TLS tests' throwaway
# certificates. The tests never use a system Redis on port 6379: where the package starts one
# as a service, it is left as it is and nothing depends on it.
# Run as root (or through sudo); safe to run again.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  exec sudo "$0" "$@"
fi
if ! command -v apt-get >/dev/null; then
  echo "install-redis: this script knows Debian and Ubuntu; elsewhere install Redis 7 (redis-server on the PATH, built with TLS), iproute2 (ip netns) and openssl" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
installed() { [ "$(dpkg-query -W -f '${Status}' "$1" 2>/dev/null)" = 'install ok installed' ]; }
if installed redis-server && installed iproute2 && installed openssl; then
  echo "install-redis: $(dpkg-query -W -f '${Package} ${Version}' redis-server) already installed"
  exit 0
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends redis-server iproute2 openssl >/dev/null
echo "install-redis: $(dpkg-query -W -f '${Package} ${Version}' redis-server) installed"
