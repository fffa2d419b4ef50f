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

run_step "deploy (mailprov deploy -i $inventory)" "$mailprov" deploy -i "$inventory"

printf '\n==> mailprov check -i %s\n' "$inventory"
"$mailprov" check -i "$inventory"

printf '\n==> client settings for postmaster@demo.test (mailprov settings)\n'
"$mailprov" settings postmaster@demo.test -i "$inventory"

cat <<EOT

Set a new password for the demo mailbox:
  $mailprov user passwd postmaster@demo.test -i $inventory && $mailprov deploy -i $inventory --tags accounts
Remove the container (keeps key and inventory): $mailprov sandbox down --release $release
Everything the steps printed: $STEPS_LOG
EOT
