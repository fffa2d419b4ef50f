"""Configuration files of a rehearsal container, before and after an upgrade, and their diff.

:func:`take` reads the mail server's configuration folders out of a container
(``podman exec tar``; folders a release does not have are skipped), bounded
in file count and size. :func:`parse` and :func:`compare` are pure: a
snapshot is path -> :class:`FileState`, a comparison lists what was added,
removed or changed, with +/- line counts and a unified diff.

Secrets never leave the container as text: files that hold passwords,
password hashes or private keys (by name or by content) keep only their
hash, so the report says "changed" and nothing more. Postfix's compiled
lookup tables (``*.db``, ``*.lmdb``, ``*.cdb``) are left out: their source
files are compared.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import re
import tarfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from provisioner.sandbox import container

# Relative to /; a folder the release does not have is skipped.
PATHS = (
    "etc/postfix",
    "etc/dovecot",
    "etc/rspamd/local.d",
    "etc/rspamd/override.d",
    "etc/mailprov",
    "etc/redis",
    "usr/local/sbin",
)
DERIVED = ("*.db", "*.lmdb", "*.cdb")
MAX_FILES = 2000
MAX_TEXT = 256 * 1024  # a larger file is compared by hash only
MAX_DIFF_LINES = 400  # per file, in --diff / --json

_SECRET_NAMES = re.compile(r"(^|/)(sasl_passwd[^/]*|users|passwd[^/]*|shadow[^/]*|[^/]*\.key|private/.*)$")
_SECRET_CONTENT = re.compile(
    rb"PRIVATE KEY|\{(ARGON2ID|ARGON2I|SHA512-CRYPT|SHA256-CRYPT|BLF-CRYPT)\}|\$argon2|\$6\$|\$2[aby]\$"
    rb"|^\s*(requirepass|masterauth)\s|password\s*[=:]\s*\S",
    re.IGNORECASE | re.MULTILINE,
)
# tar runs in the container; folders it lacks are left out first (GNU tar fails on them).
_TAR_SCRIPT = (
    'cd / && set -- $(for p in "$@"; do [ -e "$p" ] && echo "$p"; done); '
    '[ "$#" -gt 0 ] || exit 0; '
    "exec tar -c -f - --exclude='*.db' --exclude='*.lmdb' --exclude='*.cdb' \"$@\""
)


@dataclass(frozen=True)
class FileState:
    sha256: str
    size: int
    text: str | None = None  # None: secret, binary, too large or a link (compared by hash)
    secret: bool = False
    link: str | None = None  # symlink target


@dataclass(frozen=True)
class FileChange:
    path: str
    status: str  # added | removed | changed
    secret: bool = False
    added_lines: int | None = None  # None: not counted (secret or not text)
    removed_lines: int | None = None
    diff: str | None = None  # unified diff; never for a secret

    def describe(self) -> str:
        if self.secret:
            return f"{self.status} (secret: content not shown)"
        if self.added_lines is None:
            return f"{self.status} (not text)"
        return f"{self.status} +{self.added_lines} -{self.removed_lines}"


Snapshot = dict[str, FileState]


def is_secret(path: str, data: bytes) -> bool:
    return bool(_SECRET_NAMES.search(path) or _SECRET_CONTENT.search(data))


def _text(data: bytes) -> str | None:
    if len(data) > MAX_TEXT or b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _derived(path: str) -> bool:
    return any(PurePosixPath(path).match(pattern) for pattern in DERIVED)


def parse(archive: bytes) -> Snapshot:
    """The files of a tar archive (paths as /etc/...); content kept only for safe text."""
    snapshot: Snapshot = {}
    if not archive:
        return snapshot
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar:
            path = "/" + member.name.lstrip("./")
            if len(snapshot) >= MAX_FILES or _derived(path):
                continue
            if member.issym():
                digest = hashlib.sha256(member.linkname.encode()).hexdigest()
                snapshot[path] = FileState(digest, 0, link=member.linkname)
            elif member.isfile():
                handle = tar.extractfile(member)
                data = handle.read() if handle is not None else b""
                secret = is_secret(path, data)
                snapshot[path] = FileState(
                    hashlib.sha256(data).hexdigest(), len(data), None if secret else _text(data), secret
                )
    return snapshot


def take(name: str) -> Snapshot:
    """The configuration files in container ``name`` now."""
    archive = container.exec_in(name, "sh", "-c", _TAR_SCRIPT, "sh", *PATHS)
    return parse(archive)


def _lines(state: FileState) -> list[str]:
    if state.link is not None:
        return [f"-> {state.link}\n"]
    return (state.text or "").splitlines(keepends=True)


def _comparable(state: FileState) -> bool:
    return not state.secret and (state.text is not None or state.link is not None)


def _change(path: str, status: str, before: FileState | None, after: FileState | None) -> FileChange:
    states = [s for s in (before, after) if s is not None]
    if any(s.secret for s in states):
        return FileChange(path, status, secret=True)
    if not all(_comparable(s) for s in states):
        return FileChange(path, status)
    old = _lines(before) if before is not None else []
    new = _lines(after) if after is not None else []
    diff = list(difflib.unified_diff(old, new, f"a{path}", f"b{path}", n=2))
    added = sum(1 for line in diff[2:] if line.startswith("+"))
    removed = sum(1 for line in diff[2:] if line.startswith("-"))
    shown = diff[:MAX_DIFF_LINES]
    if len(diff) > MAX_DIFF_LINES:
        shown.append(f"... {len(diff) - MAX_DIFF_LINES} more lines\n")
    text = "".join(line if line.endswith("\n") else line + "\n" for line in shown)
    return FileChange(path, status, added_lines=added, removed_lines=removed, diff=text)


def compare(before: Snapshot, after: Snapshot) -> list[FileChange]:
    """What changed from ``before`` to ``after``, by path."""
    changes = []
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path), after.get(path)
        if old is None:
            changes.append(_change(path, "added", None, new))
        elif new is None:
            changes.append(_change(path, "removed", old, None))
        elif old.sha256 != new.sha256:
            changes.append(_change(path, "changed", old, new))
    return changes


def summary_line(changes: list[FileChange]) -> str:
    """E.g. '3 changed, 1 added' or 'none'."""
    counts = {status: sum(1 for c in changes if c.status == status) for status in ("changed", "added", "removed")}
    return ", ".join(f"{n} {status}" for status, n in counts.items() if n) or "none"
