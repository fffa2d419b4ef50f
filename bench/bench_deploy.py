"""Deploy benchmark on the sandbox (not a test: prints figures, asserts nothing).

    python bench/bench_deploy.py [--release trixie] [--mailboxes 10000] [--keep]

Prints the first deploy, a no-change re-deploy, an accounts-only apply with the
sample's few mailboxes and with N more, and `mailprov check`, each in seconds and
divided by a bare `ansible -m ping` to the same host, so figures compare across
machines; beside each, issue 16's goal and whether this run met it. Uses its own sandbox (state in
.sandbox/bench/, container mailprov-bench-RELEASE, ports 28xxx/29xxx), so the
demo's may stay up; refuses to run while its own container exists.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sandbox_teardown import BIN, sandbox_down

from provisioner.inventory.accounts import add_mailbox
from provisioner.inventory.passwords import hash_password
from provisioner.inventory.store import edit_accounts
from provisioner.runner.run import ansible_env
from provisioner.sandbox import server as sandbox

# Apart from the demo (14xxx, 15xxx) and the e2e tests' sandbox (26xxx, 27xxx).
BENCH_NAME_PREFIX = "mailprov-bench"
BENCH_PORT_BASE = 28000


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.monotonic()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(argv)}\n{result.stdout}\n{result.stderr}")
    return elapsed, result.stdout


def deploy(env: dict[str, str], inv: Path, *extra: str) -> tuple[float, int]:
    seconds, out = timed([str(BIN / "mailprov"), "deploy", "--no-check", "-i", str(inv), "--json", *extra], env)
    return seconds, int(json.loads(out)["changed"])


def add_mailboxes(inv: Path, domain: str, count: int) -> float:
    """N mailboxes in one validated edit; one shared hash (hashing is not what we measure)."""
    shared = hash_password("bench-password")
    start = time.monotonic()
    with edit_accounts(inv) as domains:
        for n in range(count):
            add_mailbox(domains, f"user{n:05d}@{domain}", shared, "100M")
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", choices=sandbox.RELEASES, default="trixie")
    parser.add_argument("--mailboxes", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="leave the sandbox running")
    args = parser.parse_args()

    state = Path(".sandbox/bench").resolve()
    box = sandbox.sandbox_for(args.release, state, name_prefix=BENCH_NAME_PREFIX, port_base=BENCH_PORT_BASE)
    if sandbox.container_state(box) is not None:
        sys.exit(f"{box.name} exists (an earlier benchmark with --keep?); remove it with: podman rm -f {box.name}")
    env = {**os.environ, **ansible_env(), **sandbox.environment(state, BENCH_NAME_PREFIX, BENCH_PORT_BASE)}
    env.pop("MAILPROV_VAULT_PASSWORD_FILE", None)
    inv = box.inventory
    try:
        timed([str(BIN / "mailprov"), "sandbox", "up", "--release", args.release], env)
        ping_argv = [str(BIN / "ansible"), "-i", str(inv), "mailservers", "-m", "ansible.builtin.ping"]
        ping = statistics.median(timed(ping_argv, env)[0] for _ in range(3))
        first, first_changed = deploy(env, inv)
        again, again_changed = deploy(env, inv)
        few_accounts, _ = deploy(env, inv, "--tags", "accounts")
        check, _ = timed([str(BIN / "mailprov"), "check", "-i", str(inv)], env)
        edit = add_mailboxes(inv, sandbox.DEMO_DOMAIN, args.mailboxes)
        accounts, _ = deploy(env, inv, "--tags", "accounts")
        accounts_again, _ = deploy(env, inv, "--tags", "accounts")
    finally:
        if not args.keep:
            sandbox_down(args.release, env)
        # The next run starts from the sample accounts again.
        shutil.rmtree(inv, ignore_errors=True)

    # (step, seconds, note, goal in seconds or None, the goal as the issue states it)
    many = 2 * ping + 5
    rows = [
        ("ansible -m ping (median of 3)", ping, "", None, "baseline"),
        ("first deploy", first, f"{first_changed} changed", None, ""),
        ("no-change re-deploy", again, f"{again_changed} changed", 4 * ping, "<= 4x ping"),
        ("accounts apply, the sample's few mailboxes", few_accounts, "no change", 2 * ping, "<= 2x ping"),
        ("mailprov check", check, "every probe, logins included", 6.0, "<= 6 s"),
        (f"add {args.mailboxes} mailboxes to accounts.yml", edit, "local edit + validation", 3.0, "<= 3 s"),
        (f"accounts apply, {args.mailboxes} mailboxes", accounts, "", many, "<= 2x ping + 5 s"),
        (f"accounts re-apply, {args.mailboxes} mailboxes", accounts_again, "no change", many, "<= 2x ping + 5 s"),
    ]
    print(f"mailprov deploy benchmark, sandbox {args.release}, {os.cpu_count()} cores")
    print(f"{'step':<44} {'seconds':>8} {'x ping':>8}  {'goal':<18} {'':<8} note")
    for name, seconds, note, limit, goal in rows:
        verdict = "" if limit is None else ("met" if seconds <= limit else "not met")
        print(f"{name:<44} {seconds:8.2f} {seconds / ping:8.1f}  {goal:<18} {verdict:<8} {note}")


if __name__ == "__main__":
    main()
