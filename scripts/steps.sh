# shellcheck shell=bash
# Sourced by scripts that show a newcomer one line per step: the step's own output (apt,
# debootstrap, pip, Ansible's task list) goes to a log file, and only on failure does the log's
# tail reach the screen, with the log's path.
#
#   STEPS_LOG=/path/to/file.log; source scripts/steps.sh; run_step "label" command args...

: "${STEPS_LOG:?set STEPS_LOG before sourcing steps.sh}"
mkdir -p "$(dirname "$STEPS_LOG")"
: >"$STEPS_LOG"

run_step() {
  local label="$1" start=$SECONDS rc=0
  shift
  printf '%-58s ' "$label"
  printf '\n==> %s\n$ %s\n' "$label" "$*" >>"$STEPS_LOG"
  "$@" >>"$STEPS_LOG" 2>&1 </dev/null || rc=$?
  if [ "$rc" -eq 0 ]; then
    printf 'ok   %4ds\n' $((SECONDS - start))
    return 0
  fi
  printf 'FAILED after %ds (exit %d)\n' $((SECONDS - start)) "$rc"
  tail -n 30 "$STEPS_LOG" | sed 's/^/  | /'
  printf 'the whole log: %s\n' "$STEPS_LOG"
  return "$rc"
}
