#!/usr/bin/env bash
# Build local podman base images localhost/mailprov-debian:SUITE with debootstrap.
#
#   scripts/build-image.sh trixie bookworm
#
# No image is pulled from a registry. The Debian mirror is read at run time
# from this machine's apt sources (never written into the repository), and the
# same mirrors (with -updates and -security) are configured inside the image.
# The root filesystem tarball is cached in .cache/images/ (git-ignored), so a
# rebuild is a re-import of a few seconds; an existing image is left alone.
#
# Environment:
#   MAILPROV_IMAGE_CACHE   cache folder (default: <repo>/.cache/images in a checkout,
#                          else ${XDG_CACHE_HOME:-~/.cache}/mailprov/images)
#   MAILPROV_MIRROR        override the Debian mirror URI (default: from apt sources)
#   MAILPROV_IMAGE_REBUILD=1  re-import even if the image exists
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Installed from a wheel, this script lives inside site-packages: no place for a cache.
if [ -f "$repo_root/pyproject.toml" ]; then
  default_cache="$repo_root/.cache/images"
else
  default_cache="${XDG_CACHE_HOME:-$HOME/.cache}/mailprov/images"
fi
cache_dir="${MAILPROV_IMAGE_CACHE:-$default_cache}"
# Bump when the package set or image setup below changes: invalidates caches.
image_rev=3
packages="python3,systemd,systemd-sysv,dbus,iproute2,procps,ca-certificates,openssh-server,python3-apt"
known_suites="buster bullseye bookworm trixie forky sid"

log() { printf 'build-image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$#" -ge 1 ] || die "usage: $0 SUITE... (e.g. trixie bookworm)"
[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap and rootful podman)"
for tool in debootstrap podman tar gzip; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install debootstrap podman)"
done

# Emit "URI<TAB>SUITE<TAB>COMPONENTS<TAB>SIGNED_BY" for every enabled Debian
# source of this machine: deb822 *.sources stanzas and one-line *.list entries.
# Only entries whose suites are Debian release names (optionally with
# -updates/-security/-backports) count; third-party repositories are skipped.
host_sources() {
  local files=()
  shopt -s nullglob
  files=(/etc/apt/sources.list.d/*.sources)
  local lists=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list)
  shopt -u nullglob
  if [ "${#files[@]}" -gt 0 ]; then
    awk -v known="$known_suites" '
      function flush(   n, i, u, s, nu, ns, uris, suites, isdeb) {
        isdeb = (types ~ /(^|[ \t])deb([ \t]|$)/)
        if (isdeb && enabled != "no" && uris_s != "" && suites_s != "") {
          nu = split(uris_s, uris, /[ \t]+/)
          ns = split(suites_s, suites, /[ \t]+/)
          for (u = 1; u <= nu; u++) for (s = 1; s <= ns; s++) {
            if (uris[u] == "" || suites[s] == "") continue
            print uris[u] "\t" suites[s] "\t" comps "\t" signed
          }
        }
        types = ""; uris_s = ""; suites_s = ""; comps = "main"; signed = ""; enabled = ""
      }
      BEGIN { comps = "main" }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      {
        key = tolower($1); sub(/:$/, "", key)
        val = $0; sub(/^[^:]*:[ \t]*/, "", val)
        if (key == "types") types = val
        else if (key == "uris") uris_s = val
        else if (key == "suites") suites_s = val
        else if (key == "components") comps = val
        else if (key == "signed-by") signed = val
        else if (key == "enabled") enabled = tolower(val)
      }
      END { flush() }
    ' "${files[@]}"
  fi
  local f
  for f in "${lists[@]}"; do
    [ -f "$f" ] || continue
    # deb [options] URI SUITE COMPONENT...
    awk '
      /^[ \t]*deb[ \t]/ {
        line = $0
        sub(/^[ \t]*deb[ \t]+/, "", line)
        signed = ""
        if (line ~ /^\[/) {
          opts = line; sub(/\].*/, "", opts); sub(/^\[/, "", opts)
          if (match(opts, /signed-by=[^ \t]+/)) signed = substr(opts, RSTART + 10, RLENGTH - 10)
          sub(/^\[[^]]*\][ \t]*/, "", line)
        }
        n = split(line, w, /[ \t]+/)
        comps = ""
        for (i = 3; i <= n; i++) comps = comps (comps == "" ? "" : " ") w[i]
        print w[1] "\t" w[2] "\t" comps "\t" signed
      }
    ' "$f"
  done
}

debian_sources() {
  host_sources | awk -F '\t' -v known="$known_suites" '
    BEGIN { n = split(known, k, " "); for (i = 1; i <= n; i++) ok[k[i]] = 1 }
    { base = $2; sub(/-(updates|security|backports|proposed-updates)$/, "", base); sub(/\/updates$/, "", base)
      if (base in ok) print }
  '
}

# The main archive: a Debian source whose suite is a bare release name.
main_mirror() {
  if [ -n "${MAILPROV_MIRROR:-}" ]; then
    printf '%s\n' "$MAILPROV_MIRROR"
    return
  fi
  debian_sources | awk -F '\t' -v known="$known_suites" '
    BEGIN { n = split(known, k, " "); for (i = 1; i <= n; i++) ok[k[i]] = 1 }
    ($2 in ok) { print $1; exit }
  '
}

# deb822 sources for SUITE: the host's Debian entries with their release name
# replaced by SUITE (same mirrors, same -updates/-security pockets).
image_sources() {
  local suite="$1"
  debian_sources | awk -F '\t' -v suite="$suite" -v known="$known_suites" '
    BEGIN { n = split(known, k, " "); for (i = 1; i <= n; i++) ok[k[i]] = 1 }
    {
      s = $2; pocket = ""
      if (match(s, /-(updates|security|backports|proposed-updates)$/)) { pocket = substr(s, RSTART); s = substr(s, 1, RSTART - 1) }
      if (pocket == "-backports" || pocket == "-proposed-updates") next
      key = $1 SUBSEP $3 SUBSEP $4
      if (!(key in seen)) { order[++cnt] = key; uri[key] = $1; comp[key] = $3; sig[key] = $4 }
      newsuite = suite pocket
      if (index(" " seen[key] " ", " " newsuite " ") == 0) seen[key] = seen[key] (seen[key] == "" ? "" : " ") newsuite
    }
    END {
      for (i = 1; i <= cnt; i++) {
        key = order[i]
        if (i > 1) print ""
        print "Types: deb"
        print "URIs: " uri[key]
        print "Suites: " seen[key]
        print "Components: " comp[key]
        if (sig[key] != "") print "Signed-By: " sig[key]
      }
    }
  '
}

build_tarball() {
  local suite="$1" tarball="$2"
  local mirror root
  mirror="$(main_mirror)"
  [ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list.d/*.sources or *.list (set MAILPROV_MIRROR)"
  log "debootstrap $suite (mirror from apt sources: $mirror)"
  root="$(mktemp -d "${TMPDIR:-/tmp}/mailprov-root-$suite.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$root'" RETURN
  debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >&2 \
    || die "debootstrap $suite failed"

  # apt sources: the host's Debian mirrors, with this suite's pockets.
  rm -f "$root/etc/apt/sources.list"
  image_sources "$suite" > "$root/etc/apt/sources.list.d/debian.sources"
  [ -s "$root/etc/apt/sources.list.d/debian.sources" ] \
    || printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\n' "$mirror" "$suite" \
      > "$root/etc/apt/sources.list.d/debian.sources"
  chmod 0644 "$root/etc/apt/sources.list.d/debian.sources"

  # Every container gets its own machine id and SSH host keys at first boot.
  : > "$root/etc/machine-id"
  rm -f "$root"/etc/ssh/ssh_host_*
  mkdir -p "$root/etc/systemd/system/ssh.service.d" "$root/etc/ssh/sshd_config.d"
  cat > "$root/etc/systemd/system/ssh.service.d/mailprov-hostkeys.conf" <<'EOF'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
EOF
  # Key-only SSH; no password logins.
  cat > "$root/etc/ssh/sshd_config.d/mailprov.conf" <<'EOF'
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
EOF
  # Container-friendly: no getty on consoles that do not exist.
  ln -sf /dev/null "$root/etc/systemd/system/getty@.service"
  ln -sf /dev/null "$root/etc/systemd/system/console-getty.service"
  # No package lists in the image, and an old lists folder: the first
  # `apt update` (or apt's cache_valid_time) always refreshes them.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/*
  mkdir -p "$root/var/lib/apt/lists/partial"
  touch -d '2000-01-01 00:00:00' "$root/var/lib/apt/lists/partial" "$root/var/lib/apt/lists"

  mkdir -p "$(dirname "$tarball")"
  tar --numeric-owner -C "$root" -cf - . | gzip -1 > "$tarball.partial"
  mv "$tarball.partial" "$tarball"
  # Older revisions of this suite's tarball are of no further use.
  find "$(dirname "$tarball")" -maxdepth 1 -name "mailprov-debian-$suite-r*.tar.gz" \
    ! -name "$(basename "$tarball")" -delete
  log "cached $tarball ($(du -h "$tarball" | cut -f1))"
}

for suite in "$@"; do
  case " $known_suites " in
    *" $suite "*) ;;
    *) die "unknown suite '$suite' (one of: $known_suites)" ;;
  esac
  image="localhost/mailprov-debian:$suite"
  if [ "${MAILPROV_IMAGE_REBUILD:-0}" != 1 ] && podman image exists "$image"; then
    log "$image exists, skipping"
    continue
  fi
  tarball="$cache_dir/mailprov-debian-$suite-r$image_rev.tar.gz"
  [ -s "$tarball" ] || build_tarball "$suite" "$tarball"
  log "importing $image from $tarball"
  podman import \
    --change 'CMD ["/sbin/init"]' \
    --change 'STOPSIGNAL SIGRTMIN+3' \
    --change 'ENV container=podman' \
    "$tarball" "$image" >/dev/null
  log "built $image"
done
