#!/usr/bin/env bash
# `make demo`: a local mail server in a container, deployed and proven from outside.
#
#   host packages, venv, image -> sandbox up -> deploy -> check -> client settings
#
# One line per step with its time; the noisy output of each step is kept in .cache/demo.log
# (its tail is shown if a step fails). A second run reuses the venv, the image, the container
# and the inventory, and the deploy changes nothing.
set -euo pipefail

release="${MAILPROV_DEMO_RELEASE:-trixie}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"   # the sandbox state lives in ./.sandbox (git-ignored)
mailprov="${MAILPROV:-$repo_root/.venv/bin/mailprov}"

STEPS_LOG="$repo_root/.cache/demo.log"
# shellcheck source=scripts/steps.sh
source "$repo_root/scripts/steps.sh"

run_step "host packages (podman, debootstrap, ...)" make --no-print-directory host-deps
run_step "Python venv (.venv, pinned versions)" make --no-print-directory venv
run_step "Debian $release image (debootstrap, cached)" scripts/build-image.sh "$release"

# `sandbox up` prints the demo mailbox's password the first time only: keep it on screen.
up_output="$(mktemp)"
trap 'rm -f "$up_output"' EXIT
run_step "sandbox container (mailprov sandbox up)" bash -o pipefail -c '"$1" sandbox up --release "$2" | tee "$3"' \
  bash "$mailprov" "$release" "$up_output"
grep -A1 '^demo mailbox' "$up_output" || true
inventory="$("$mailprov" sandbox status --release "$release" | awk '/^inventory:/ {print $2}')"

# deploy checks the server itself at its end; here the check gets the screen of its own, so: --no-check
run_step "deploy (mailprov deploy --no-check -i $inventory)" "$mailprov" deploy --no-check -i "$inventory"

printf '\n==> mailprov check -i %s\n' "$inventory"
"$mailprov" check -i "$inventory"

printf '\n==> client settings for postmaster@demo.test (mailprov settings)\n'
"$mailprov" settings postmaster@demo.test -i "$inventory"

# What Thunderbird fetches by itself: the server's nginx serves it on 443 (published on
# 127.0.0.1); the name travels in SNI and Host as it would on the internet. --insecure: the
# sandbox's certificate is self-signed (with mail_tls.mode acme it is a trusted one).
https_port="$(awk '$1 == "https:" {print $2; exit}' "$inventory/hosts.yml")"
printf '\n==> %s\n' "https://autoconfig.demo.test/mail/config-v1.1.xml, served by the server (127.0.0.1:$https_port)"
curl --silent --show-error --fail --insecure --resolve "autoconfig.demo.test:$https_port:127.0.0.1" \
  "https://autoconfig.demo.test:$https_port/mail/config-v1.1.xml"

# The webmail (Roundcube; the sandbox enables mail_webmail) at the server's name: a browser
# reaches it through the published port once the name points at 127.0.0.1.
printf '\n==> %s\n' "Webmail: https://mail.sandbox.test:$https_port/ (Roundcube on the server's nginx)"
printf '    log in as postmaster@demo.test with the demo password printed by sandbox up above\n'
printf '    the name must point at 127.0.0.1, e.g. chromium --host-resolver-rules="MAP mail.sandbox.test 127.0.0.1"\n'
printf '    (self-signed certificate: the browser asks to accept it)\n'
curl --silent --show-error --fail --insecure --output /dev/null --write-out '    login page: HTTP %{http_code}\n' \
  --resolve "mail.sandbox.test:$https_port:127.0.0.1" "https://mail.sandbox.test:$https_port/"

cat <<EOT

Set a new password for the demo mailbox:
  $mailprov user passwd postmaster@demo.test -i $inventory && $mailprov deploy -i $inventory --tags accounts
Remove the container (keeps key and inventory): $mailprov sandbox down --release $release
Everything the steps printed: $STEPS_LOG
EOT
