"""Backup benchmark (not a test: prints figures, asserts nothing).

    python bench/bench_backup.py [--release trixie] [--size-mb 1024] [--keep]

In a throwaway container of the local image (``mailprov-bench-backup-RELEASE``, no ports),
with Debian's restic: a generated Maildir store of SIZE MB (mail-like messages of 2-64 KiB in
folders of 50 mailboxes, random text so nothing compresses or dedups unrealistically), then

- a `cp -a` of the store: the baseline every figure is divided by, measured in the same run;
- the first backup into a local repository (as mailprov-backup runs it);
- a second backup with no change: its time and the bytes it added to the repository;
- a restore of the latest snapshot into an empty folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from provisioner.sandbox import container

NAME_PREFIX = "mailprov-bench-backup"
GENERATE = r"""
import base64, os, random, sys
random.seed(7)
target, total = sys.argv[1], int(sys.argv[2]) * 1024 * 1024
written, n = 0, 0
while written < total:
    user = f"{target}/bench.test/user{n % 50:02d}/Maildir"
    folder = random.choice(["", "/.Archive", "/.Sent", "/.Projects"])
    sub = random.choice(["cur", "new"])
    path = f"{user}{folder}/{sub}"
    os.makedirs(path, exist_ok=True)
    size = random.randint(2048, 65536)
    body = base64.encodebytes(os.urandom(size * 3 // 4)).decode()
    text = f"From: a@bench.test\nTo: user@bench.test\nSubject: bench {n}\nMessage-ID: <{n}@bench.test>\n\n{body}"
    with open(f"{path}/{1700000000 + n}.M{n}P1.bench,S={len(text)}:2,S", "w") as fh:
        fh.write(text)
    written += len(text)
    n += 1
print(n)
"""


def sh(name: str, script: str) -> str:
    return container.exec_in(name, "sh", "-ec", script).decode()


def timed(name: str, script: str) -> float:
    sh(name, "sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true")
    start = time.monotonic()
    sh(name, script)
    return time.monotonic() - start


def repo_bytes(name: str) -> int:
    return int(sh(name, "du -sb /srv/repo | cut -f1").split()[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", default="trixie")
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--keep", action="store_true", help="keep the container")
    args = parser.parse_args()
    name = os.environ.get("MAILPROV_BENCH_BACKUP_NAME") or f"{NAME_PREFIX}-{args.release}"
    if container.container_state(name) is not None:
        print(f"{name} exists: podman rm -f {name}", file=sys.stderr)
        return 2
    container.ensure_image(args.release)
    container.podman("run", "-d", "--name", name, *container.PODMAN_RUN_OPTS, container.image_for(args.release))
    try:
        sh(name, "apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get -qq install -y restic >/dev/null")
        messages = int(container.exec_in(name, "python3", "-c", GENERATE, "/var/vmail", str(args.size_mb)))
        store = int(sh(name, "du -sb /var/vmail | cut -f1").split()[0])
        env = "export RESTIC_REPOSITORY=/srv/repo RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=/var/cache/restic; "
        baseline = timed(name, "cp -a /var/vmail /srv/copy && sync")
        sh(name, "rm -rf /srv/copy; " + env + "restic init -q")
        first = timed(name, env + "restic backup -q --host bench --tag mailprov /var/vmail && sync")
        after_first = repo_bytes(name)
        second = timed(name, env + "restic backup -q --host bench --tag mailprov /var/vmail && sync")
        added = repo_bytes(name) - after_first
        restore = timed(name, env + "restic restore -q latest --target /srv/restore && sync")
        figures = {
            "release": args.release, "messages": messages, "store_bytes": store, "repository_bytes": after_first,
            "cp_a_seconds": round(baseline, 1),
            "backup_seconds": round(first, 1), "backup_ratio": round(first / baseline, 2),
            "second_backup_seconds": round(second, 1), "second_backup_ratio": round(second / baseline, 2),
            "second_backup_added_bytes": added,
            "restore_seconds": round(restore, 1), "restore_ratio": round(restore / baseline, 2),
        }
        print(json.dumps(figures, indent=2))
        return 0
    finally:
        if not args.keep:
            container.remove(name)


if __name__ == "__main__":
    sys.exit(main())
