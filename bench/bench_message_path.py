"""Message-path and IMAP-login benchmark (issue 16, parts 3 and 4; not a test: prints figures, asserts nothing).

    python bench/bench_message_path.py [--messages 1000] [--sessions 10] [--logins 50] [--lever L] [--keep]

N x 5 KB messages over 10 parallel SMTP sessions into one mailbox, sent from the host to a
port published on 127.0.0.1; msg/s = messages accepted with 250 AND found in the Maildir
(counted through `podman exec`) / seconds from the first connection to the last delivery.
Every figure is divided by its reference, built in the same run, so the ratios compare
across machines and loads:
1. the reference (bench/reference_server.py, container mailprov-bench7-ref, 127.0.0.1:34xxx):
   stock Postfix local(8) into a Maildir, and a hand-built Postfix -> LMTP -> Dovecot 2.4 with
   no filter, whose IMAPS login checks an argon2id hash of mailprov's cost;
2. mailprov as deployed on its own sandbox (container mailprov-bench7-trixie, 127.0.0.1:33xxx,
   state in .sandbox/bench-message-path/), measured with the rspamd milter switched off
   (smtpd_milters and non_smtpd_milters emptied, postfix reload; restored afterwards) and as
   deployed; then IMAPS logins of its demo mailbox. `--lever lmtp-quota|quota-policy` adds a
   figure with the milter off and Dovecot's quota plugin off in LMTP, or Postfix's quota-status
   policy query off (repeatable; the configuration is restored after each).
One container at a time. Trixie only: the reference's configuration is Dovecot 2.4's.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import sys
import time
from pathlib import Path

import reference_server as reference
from mail_load import Delivery, Load, body_of, delivered_rate, imaps_login_p50, run, session, wait_ports_free
from sandbox_teardown import BIN

from provisioner.runner.run import ansible_env
from provisioner.sandbox import container
from provisioner.sandbox import server as sandbox

RELEASE = "trixie"
# Apart from every other container suite; 33000 is above the sandbox module's own range for
# `mailprov sandbox` (PORT_BASES, which keeps a release's ports below 32768): the benchmark
# drives the sandbox through the module, not the command.
NAME_PREFIX = "mailprov-bench7"
PORT_BASE = 33000
SENDER = "bench@sender.example"  # an outside domain: rspamd does all its (offline) lookups
MAILDIR = f"/var/vmail/{sandbox.DEMO_DOMAIN}/{sandbox.DEMO_USER.split('@')[0]}/Maildir"
MILTERS = ("smtpd_milters", "non_smtpd_milters")
CONFIGS = ("/etc/dovecot/dovecot.conf", "/etc/postfix/main.cf")  # saved before a lever, restored after
# `--lever NAME` adds one figure with the milter off and one more thing off (never a role default):
LEVERS = {
    "lmtp-quota": "no quota plugin in LMTP",  # the quota-status policy query at RCPT stays
    "quota-policy": "no quota-status query",  # the quota plugin in LMTP stays
}
LMTP_QUOTA_OFF = "\nprotocol lmtp {\n  mail_plugins {\n    quota = no\n  }\n}\n"
QUOTA_POLICY = re.compile(r",?\s*check_policy_service\s*\{[^}]*quota-status[^}]*\}")


def measure_reference(args: argparse.Namespace, body: str, password: str) -> tuple[Delivery, Delivery, float]:
    """(stock local(8), hand-built LMTP, IMAPS login p50 ms) on the reference container."""
    port = reference.machine(RELEASE).ports["smtp"]
    try:
        wait_ports_free(reference.machine(RELEASE).ports.values())
        reference.build(RELEASE, password)
        local = Load(port, SENDER, reference.LOCAL_USER, body)
        virtual = Load(port, SENDER, reference.VIRTUAL_USER, body)
        session(local, 1, "warmup")
        stock = delivered_rate(local, args.sessions, args.messages, "stock", reference.NAME, reference.LOCAL_MAILDIR)
        lmtp = delivered_rate(virtual, args.sessions, args.messages, "lmtp", reference.NAME, reference.VIRTUAL_MAILDIR)
        imap = imaps_login_p50(reference.machine(RELEASE).ports["imaps"], reference.VIRTUAL_USER, password, args.logins)
    finally:
        reference.remove()  # always: one benchmark container at a time
    return stock, lmtp, imap


def in_box(box: sandbox.Sandbox, *argv: str) -> str:
    return run(["podman", "exec", box.name, *argv])


def empty_mailbox(box: sandbox.Sandbox) -> None:
    """Expunge the demo mailbox: each figure starts from an empty one, as the reference's do.

    Dovecot's delivery cost grows with the messages already in the Maildir (the quota's count
    driver and the Maildir sync read them): 1,000 more messages ahead would bias a figure.
    """
    in_box(box, "doveadm", "expunge", "-u", sandbox.DEMO_USER, "mailbox", "*", "all")


def reload_both(box: sandbox.Sandbox) -> None:
    """Dovecot, then Postfix: its cached LMTP connections to the old Dovecot processes go too
    (else old and new count twice against Dovecot's per-user limit: 451 4.3.0 and queue waits)."""
    in_box(box, "doveconf", "-n")  # fails on a configuration error
    in_box(box, "systemctl", "reload", "dovecot")
    in_box(box, "postfix", "reload")
    time.sleep(2)


def apply_lever(box: sandbox.Sandbox, lever: str) -> None:
    if lever == "lmtp-quota":
        container.exec_in(box.name, "tee", "-a", CONFIGS[0], stdin=LMTP_QUOTA_OFF.encode())
    else:
        restrictions = in_box(box, "postconf", "-h", "smtpd_recipient_restrictions").strip()
        in_box(box, "postconf", "-e", f"smtpd_recipient_restrictions={QUOTA_POLICY.sub('', restrictions)}")


def with_lever(box: sandbox.Sandbox, load: Load, args: argparse.Namespace, lever: str) -> Delivery:
    """One lever, measured like the other figures (from an empty mailbox); the files restored after."""
    for path in CONFIGS:
        in_box(box, "cp", "-p", path, f"{path}.bench")
    try:
        apply_lever(box, lever)
        reload_both(box)
        empty_mailbox(box)
        return delivered_rate(load, args.sessions, args.messages, lever, box.name, MAILDIR)
    finally:
        for path in CONFIGS:
            in_box(box, "mv", f"{path}.bench", path)
        reload_both(box)


def measure_mailprov(
    args: argparse.Namespace, body: str
) -> tuple[Delivery, Delivery, dict[str, Delivery], float]:
    """(rspamd milter off, as deployed, the levers asked for, IMAPS login p50 ms) on mailprov's own sandbox."""
    state = Path(__file__).resolve().parents[1] / ".sandbox" / "bench-message-path"
    shutil.rmtree(state, ignore_errors=True)  # a fresh inventory: `up` then returns the demo password
    box = sandbox.Sandbox(RELEASE, state, NAME_PREFIX, PORT_BASE)
    env = {**os.environ, **ansible_env()}
    env.pop("MAILPROV_VAULT_PASSWORD_FILE", None)
    load = Load(box.ports()["smtp"], SENDER, sandbox.DEMO_USER, body)
    try:
        wait_ports_free(box.ports().values())
        password = sandbox.up(box).demo_password
        assert password is not None  # a fresh state folder always makes the demo mailbox
        run([str(BIN / "mailprov"), "deploy", "--no-check", "-i", str(box.inventory), "--json"], env)
        session(load, 1, "warmup")  # postscreen's first-contact tests, once per client address
        deployed = in_box(box, "postconf", "-h", *MILTERS).splitlines()
        in_box(box, "postconf", "-e", *(f"{name}=" for name in MILTERS))
        in_box(box, "postfix", "reload")
        time.sleep(1)
        empty_mailbox(box)
        off = delivered_rate(load, args.sessions, args.messages, "off", box.name, MAILDIR)
        levers = {lever: with_lever(box, load, args, lever) for lever in args.lever}
        in_box(box, "postconf", "-e", *(f"{name}={value}" for name, value in zip(MILTERS, deployed, strict=True)))
        in_box(box, "postfix", "reload")
        time.sleep(1)
        empty_mailbox(box)
        on = delivered_rate(load, args.sessions, args.messages, "on", box.name, MAILDIR)
        imap = imaps_login_p50(box.ports()["imaps"], sandbox.DEMO_USER, password, args.logins)
    finally:
        if not args.keep:
            sandbox.down(box)
            shutil.rmtree(state, ignore_errors=True)
    return off, on, levers, imap


def row(name: str, value: str, counts: str, ratio: float, goal: str) -> str:
    """One table line; the goal is `>= R` or `<= R` (x the reference), else a note in brackets."""
    if not goal.startswith(("<=", ">=")):
        goal, verdict = "", goal
    else:
        bound = float(goal.rsplit(maxsplit=1)[-1].rstrip("x"))
        verdict = "met" if (ratio >= bound if goal.startswith(">=") else ratio <= bound) else "NOT met"
    return f"{name:<40} {value:>12} {counts:>19} {ratio:6.2f}  {goal:<8} {verdict}"


def report(rates: dict[str, tuple[Delivery, str]], ref_imap: float, imap: float) -> None:
    hand = rates["hand-built Postfix -> LMTP -> Dovecot"][0].per_second
    print(f"{'figure':<40} {'value':>12} {'accepted/delivered':>19} {'ratio':>6}  {'goal':<8} verdict")
    for name, (rate, goal) in rates.items():
        counts = f"{rate.accepted}/{rate.delivered}"
        print(row(name, f"{rate.per_second:.1f} msg/s", counts, rate.per_second / hand, goal))
    print(row("IMAPS login p50, hand-built", f"{ref_imap:.1f} ms", "", 1.0, "(reference)"))
    print(row("IMAPS login p50, mailprov", f"{imap:.1f} ms", "", imap / ref_imap, "<= 1.1x"))
    print("\nwhere the time went: CPU ms per message by command in the container (the busiest 6)")
    for name, (rate, _) in rates.items():
        print(f"  {name}: " + ", ".join(f"{command} {ms:.1f}" for command, ms in rate.cpu_per_message(6)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000, help="per figure (the issue's table: 2000)")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--size-kb", type=int, default=5)
    parser.add_argument("--logins", type=int, default=50)
    parser.add_argument("--lever", action="append", choices=LEVERS, default=[], help="one more figure (repeatable)")
    parser.add_argument("--keep", action="store_true", help="leave the mailprov sandbox running")
    args = parser.parse_args()
    for name in (reference.NAME, f"{NAME_PREFIX}-{RELEASE}"):
        if container.container_state(name) is not None:
            sys.exit(f"{name} exists (an earlier run with --keep?); remove it with: podman rm -f {name}")

    start, load_before = time.monotonic(), os.getloadavg()
    body = body_of(args.size_kb)
    stock, lmtp, ref_imap = measure_reference(args, body, secrets.token_urlsafe(16))
    off, on, levers, imap = measure_mailprov(args, body)
    rates = {
        "stock Postfix local(8) -> Maildir": (stock, "(reference)"),
        "hand-built Postfix -> LMTP -> Dovecot": (lmtp, "(reference)"),
        "mailprov, rspamd milter off": (off, ">= 0.9x"),
        "mailprov as deployed (rspamd)": (on, ">= 0.5x"),
    }
    for lever, rate in levers.items():
        rates[f"lever: milter off, {LEVERS[lever]}"] = (rate, "(a lever)")
    print(
        f"mailprov message path, {RELEASE}, {args.messages} x {args.size_kb} KB over {args.sessions} SMTP sessions, "
        f"{args.logins} IMAPS logins, {os.cpu_count()} cores, load average {load_before[0]:.1f} -> "
        f"{os.getloadavg()[0]:.1f}, {time.monotonic() - start:.0f} s"
    )
    print("ratio: msg/s / the hand-built's msg/s; login ms / the hand-built's ms (argon2id, mailprov's cost, both)")
    report(rates, ref_imap, imap)


if __name__ == "__main__":
    main()
