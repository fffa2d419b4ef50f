#!/usr/bin/env bash
# `make demo`: a local mail server in a container, deployed and proven from outside.
#
#   sandbox up -> deploy -> check -> client settings of the demo user
#
# Installs nothing: the Makefile has made the venv (MAILPROV points at its
# mailprov) and the host packages. A second run reuses the image, the
# container and the inventory, and the deploy changes nothing.
set -euo pipefail

mailprov="${MAILPROV:-mailprov}"
release="${MAILPROV_DEMO_RELEASE:-trixie}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"   # the sandbox state lives in ./.sandbox (git-ignored)

step() { printf '\n==> %s\n' "$*"; }

step "mailprov sandbox up --release $release"
"$mailprov" sandbox up --release "$release"
inventory="$("$mailprov" sandbox status --release "$release" | awk '/^inventory:/ {print $2}')"

step "mailprov deploy -i $inventory"
"$mailprov" deploy -i "$inventory"

step "mailprov check -i $inventory"
"$mailprov" check -i "$inventory"

step "client settings for postmaster@demo.test"
"$mailprov" settings postmaster@demo.test -i "$inventory"

# What Thunderbird fetches by itself: the server's nginx serves it on 443 (published on
# 127.0.0.1); the name travels in SNI and Host as it would on the internet. --insecure: the
# sandbox's certificate is self-signed (with mail_tls.mode acme it is a trusted one).
https_port="$(awk '$1 == "https:" {print $2; exit}' "$inventory/hosts.yml")"
step "https://autoconfig.demo.test/mail/config-v1.1.xml, served by the server (127.0.0.1:$https_port)"
curl --silent --show-error --fail --insecure --resolve "autoconfig.demo.test:$https_port:127.0.0.1" \
  "https://autoconfig.demo.test:$https_port/mail/config-v1.1.xml"

cat <<EOT

The demo mailbox's password was printed by the first 'sandbox up'; set a new one with:
  $mailprov user passwd postmaster@demo.test -i $inventory && $mailprov deploy -i $inventory --tags accounts
Remove the container (keeps key and inventory): $mailprov sandbox down --release $release
EOT
