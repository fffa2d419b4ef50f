#!/usr/bin/env bash
# Debian packages the tests and the demo need on the machine that runs them: rootful podman
# (see harness notes for why each piece is here), debootstrap for the local base images,
# python3-venv for the virtualenv, and real mail clients for checks.
set -euo pipefail

packages=(podman runc netavark aardvark-dns slirp4netns fuse-overlayfs uidmap iptables
          debootstrap python3-venv swaks openssl make git nsd curl
          chromium chromium-driver)

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-host-deps: need root to install: ${missing[*]}" >&2
  exit 1
fi
echo "install-host-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# nsd is only a test peer (started by the tests on a high loopback port); on a host run by
# systemd its package starts a system nameserver on port 53, which nothing here wants.
if [[ " ${missing[*]} " == *" nsd "* ]] && [ -d /run/systemd/system ]; then
  systemctl disable --now nsd.service >/dev/null 2>&1 || echo "install-host-deps: could not stop nsd.service" >&2
fi
