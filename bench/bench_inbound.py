"""Inbound mail benchmark on the sandbox (not a test: prints figures, asserts nothing).

    python bench/bench_inbound.py [--release trixie] [--sessions 10] [--messages 300] [--keep]

Sends mail from outside (the host, through the published port 25: Postfix
and rspamd see the podman bridge, not loopback, so rspamd does all its DNS
lookups) to the sandbox's demo mailbox, N SMTP sessions in parallel, and
prints messages per second twice on the same deployed sandbox:
- before: unbound stopped, rspamd's resolver (127.0.0.1:53) dead, as the
  throwaway containers were before the resolver role (every lookup times out);
- after: the resolver role's offline unbound, answering from local data.
The ratio after/before is the figure that compares across machines. Uses its
own sandbox state (.sandbox/bench-inbound/) and refuses to run while a
sandbox container of that release exists (`mailprov sandbox down` first).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from mail_load import Load, run, send_parallel, session
from sandbox_teardown import BIN, sandbox_down

from provisioner.runner.run import ansible_env
from provisioner.sandbox import server as sandbox

SENDER = "bench@sender.example"  # an outside domain: SPF, DMARC, DNSBLs, all looked up
BODY = "Inbound benchmark message.\n" * 20


def rate(port: int, sessions: int, messages: int, tag: str) -> tuple[float, int, float]:
    """Messages per second over `sessions` parallel sessions, messages accepted, seconds."""
    accepted, seconds = send_parallel(Load(port, SENDER, sandbox.DEMO_USER, BODY), sessions, messages, tag)
    return accepted / seconds, accepted, seconds


def unbound(box: sandbox.Sandbox, action: str) -> None:
    subprocess.run(["podman", "exec", box.name, "systemctl", action, "unbound"], check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", choices=sandbox.RELEASES, default="trixie")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--messages", type=int, default=300, help="messages with the resolver (before: a tenth)")
    parser.add_argument("--keep", action="store_true", help="leave the sandbox running")
    args = parser.parse_args()

    state = Path(".sandbox/bench-inbound").resolve()
    box = sandbox.sandbox_for(args.release, state)
    if sandbox.container_state(box) is not None:
        sys.exit(f"{box.name} exists; run `mailprov sandbox down --release {args.release}` first")
    env = {**os.environ, **ansible_env(), sandbox.STATE_ENV: str(state)}
    env.pop("MAILPROV_VAULT_PASSWORD_FILE", None)
    port = box.ports()["smtp"]
    try:
        run([str(BIN / "mailprov"), "sandbox", "up", "--release", args.release], env)
        run([str(BIN / "mailprov"), "deploy", "-i", str(box.inventory), "--json"], env)
        # postscreen's first-contact tests, once per client address
        session(Load(port, SENDER, sandbox.DEMO_USER, BODY), 1, "warmup")
        unbound(box, "stop")
        before = rate(port, args.sessions, max(args.sessions, args.messages // 10), "before")
        unbound(box, "start")
        time.sleep(1)
        after = rate(port, args.sessions, args.messages, "after")
    finally:
        if not args.keep:
            sandbox_down(args.release, env)
            shutil.rmtree(state, ignore_errors=True)

    print(f"mailprov inbound benchmark, sandbox {args.release}, {args.sessions} sessions, {os.cpu_count()} cores")
    print(f"{'resolver':<44} {'msg/s':>8} {'accepted':>9} {'seconds':>8}")
    for name, (per_second, accepted, seconds) in (
        ("before: none (127.0.0.1:53 dead)", before),
        ("after: unbound offline (local data)", after),
    ):
        print(f"{name:<44} {per_second:8.2f} {accepted:9d} {seconds:8.1f}")
    print(f"{'ratio after/before':<44} {after[0] / before[0]:8.1f}")


if __name__ == "__main__":
    main()
