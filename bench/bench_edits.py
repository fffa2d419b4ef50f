"""Inventory edit benchmark (not a test: prints figures, asserts nothing).

    python bench/bench_edits.py [--mailboxes 10000] [--password-rows 20]

On a fresh copy of the sample inventory: N mailboxes added in one `edit_accounts` (the path
of `user add`, with one pre-made hash: hashing is not what is measured), the same N removed in
one edit, and `mailprov user import` of an N-row CSV with hashes (the command, interpreter
start included). Each is divided by a baseline measured in the same run: reading and
validating the N-mailbox inventory once (`load_inventory`, in process) for the edits, and
`mailprov validate` of it (a command of its own) for the import. Then the cost of a
plaintext password in an import (argon2id, per row). No container, no Ansible.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from provisioner.inventory import fastyaml
from provisioner.inventory.accounts import add_mailbox, remove_mailbox
from provisioner.inventory.passwords import hash_password
from provisioner.inventory.store import edit_accounts, load_inventory
from provisioner.resources import resource_path

BIN = Path(sys.executable).parent
DOMAIN = "example.org"


def seconds(action: Callable[[], object]) -> float:
    start = time.monotonic()
    action()
    return time.monotonic() - start


def command(*argv: str) -> float:
    start = time.monotonic()
    result = subprocess.run([str(BIN / "mailprov"), *argv], capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): mailprov {' '.join(argv)}\n{result.stdout}\n{result.stderr}")
    return elapsed


def fresh_inventory(parent: Path, name: str) -> Path:
    target = parent / name
    shutil.copytree(resource_path("inventories") / "sample", target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=10_000)
    parser.add_argument("--password-rows", type=int, default=20, help="rows with plaintext passwords to time")
    args = parser.parse_args()
    n = args.mailboxes
    shared = hash_password("bench-password")

    def add(inv: Path) -> None:
        with edit_accounts(inv) as domains:
            for i in range(n):
                add_mailbox(domains, f"user{i:05d}@{DOMAIN}", shared, "100M")

    def remove(inv: Path) -> None:
        with edit_accounts(inv) as domains:
            for i in range(n):
                remove_mailbox(domains, f"user{i:05d}@{DOMAIN}")

    with tempfile.TemporaryDirectory(prefix="mailprov-bench-edits-") as tmp:
        work = Path(tmp)
        inv = fresh_inventory(work, "edits")
        added = seconds(lambda: add(inv))
        baseline = statistics.median(seconds(lambda: (fastyaml.forget(), load_inventory(inv))) for _ in range(3))
        validate = statistics.median(command("validate", "-i", str(inv)) for _ in range(3))
        removed = seconds(lambda: remove(inv))

        rows = work / "users.csv"
        with rows.open("w", newline="") as handle:  # csv quotes the argon2 hash: it holds commas
            writer = csv.writer(handle)
            writer.writerow(["address", "hash", "quota"])
            writer.writerows([f"user{i:05d}@{DOMAIN}", shared, "100M"] for i in range(n))
        imported = command("user", "import", str(rows), "-i", str(fresh_inventory(work, "import")))

        plain = work / "plain.csv"
        plain.write_text("address,password\n" + "".join(f"p{i}@{DOMAIN},pw-{i}-{os.urandom(4).hex()}\n"
                                                         for i in range(args.password_rows)))
        hashed = command("user", "import", str(plain), "-i", str(fresh_inventory(work, "plain")))
        start_only = statistics.median(command("--version") for _ in range(3))

    per_row = max(0.0, hashed - start_only) / max(1, args.password_rows)
    rows_out = [
        (f"read + validate {n} mailboxes (baseline)", baseline, baseline, "load_inventory, cold, median of 3"),
        (f"add {n} mailboxes, one edit", added, baseline, "add_mailbox x N in edit_accounts"),
        (f"remove {n} mailboxes, one edit", removed, baseline, "remove_mailbox x N in edit_accounts"),
        (f"mailprov validate, {n} mailboxes (baseline)", validate, validate, "command, median of 3"),
        (f"mailprov user import, {n} rows with hashes", imported, validate, "command"),
        (f"user import, {args.password_rows} rows with passwords", hashed, validate,
         f"argon2id: {per_row:.3f} s per row on {os.cpu_count()} cores"),
    ]
    print(f"mailprov inventory edit benchmark, {n} mailboxes, {os.cpu_count()} cores")
    print(f"{'step':<46} {'seconds':>8} {'x base':>7}  note")
    for name, value, base, note in rows_out:
        print(f"{name:<46} {value:8.2f} {value / base:7.1f}  {note}")


if __name__ == "__main__":
    main()
