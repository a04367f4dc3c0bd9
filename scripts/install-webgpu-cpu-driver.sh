#!/usr/bin/env bash
# Installs a CPU implementation of Vulkan (Mesa's lavapipe), so `backend: webgpu` runs on a
# machine without a GPU: slowly, but with the same kernels a GPU runs, which is what the tests
# and CI need. A machine with a GPU and its vendor's driver does not need this.
#
# Dawn (the WebGPU implementation inside the npm package `webgpu`) needs Vulkan features that
# Debian 12's Mesa 22.3 lacks (shaderUniform*ArrayDynamicIndexing); Mesa 25 from
# bookworm-backports has them. Later Debian releases ship a recent enough Mesa themselves.
# Run as root (or through sudo); safe to run again.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  exec sudo "$0" "$@"
fi
if ! command -v apt-get >/dev/null; then
  echo "install-webgpu-cpu-driver: this script knows Debian and Ubuntu; elsewhere install Mesa 23 or later with its Vulkan driver (lavapipe), e.g. the package mesa-vulkan-drivers" >&2
  exit 2
fi

. /etc/os-release
suite=()
if [ "${VERSION_CODENAME:-}" = bookworm ]; then
  list=/etc/apt/sources.list.d/bookworm-backports.sources
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    cat >"$list" <<SOURCES
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  fi
  suite=(-t bookworm-backports)
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# libvulkan1 is the loader Dawn opens (libvulkan.so.1); mesa-vulkan-drivers holds lavapipe.
apt-get install -y -qq --no-install-recommends "${suite[@]}" mesa-vulkan-drivers libvulkan1 >/dev/null
echo "install-webgpu-cpu-driver: $(dpkg-query -W -f '${Package} ${Version}' mesa-vulkan-drivers) installed"
