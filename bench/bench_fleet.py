"""Fleet benchmark, issue 17 part 4 (not a test: prints figures, asserts nothing).

    python bench/bench_fleet.py [--sizes 1,3,5] [--messages 400] [--sessions 8]

Stands up, one after the other, fleets of 1, 3 and 5 trixie hosts in containers, deployed as
`mailprov rehearse` deploys (fleet_stand.py): 1 = a complete server; 3 = a front (mx,
submission, proxy) and two mailbox back ends; 5 = two fronts, a backup MX and two back ends.
For each: the first deploy and a no-change re-deploy, in seconds and divided by the one
host's (the baseline measured in the same run, so figures compare across machines).
Then, with the largest fleet up (5 hosts; `--sizes 1,3` for a quicker try: front1 only):
N messages from outside through front1's port 25, then N split over front1 and front2, half
for each domain (so each back end), timed from the first connection until the back ends'
INBOXes (doveadm, through `podman exec`) hold them all; messages per second and the ratio
two fronts / one. Every container goes at the end, on failure, Ctrl-C and SIGTERM too;
refuses to run while one of an earlier run exists.
"""

from __future__ import annotations

import argparse
import os
import signal
import smtplib
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from types import FrameType

import fleet_stand
from fleet_stand import DOMAINS, Fleet
from mail_load import Load, session

SENDER = "bench@sender.example"  # an outside domain: rspamd looks it all up
BODY = "Fleet benchmark message, a line of text to fill the body up...\n" * 32  # ~2 KB


def load_avg() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def timed_deploy(fleet: Fleet) -> tuple[float, int]:
    start = time.monotonic()
    _, changed = fleet.deploy()
    return time.monotonic() - start, changed


def delivered(fleet: Fleet) -> int:
    """Messages in the INBOXes of every user on the back ends, as Dovecot counts them."""
    total = 0
    for backend in DOMAINS.values():
        argv = ["podman", "exec", fleet.stand(backend).name, "doveadm", "-f", "flow", "mailbox", "status", "-A",
                "messages", "INBOX"]
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        total += sum(int(line.split("messages=")[1].split()[0]) for line in out.splitlines() if "messages=" in line)
    return total


def send_and_wait(fleet: Fleet, ports: Sequence[int], messages: int, sessions: int, per_domain: int, tag: str,
                  timeout: float = 600.0) -> tuple[int, int, float]:
    """`messages` over `sessions` parallel SMTP sessions, spread over the fronts' ports and both
    domains, session i to mailbox user(i mod per_domain); (accepted, delivered, seconds from the
    first connection to the last delivery)."""
    before, each, domains = delivered(fleet), max(1, messages // sessions), list(DOMAINS)

    def one(i: int) -> int:
        port = ports[i % len(ports)]
        recipient = f"user{i % per_domain}@{domains[(i // len(ports)) % len(domains)]}"
        try:
            return session(Load(port, SENDER, recipient, BODY), each, f"{tag}{i}")
        except (smtplib.SMTPException, OSError) as err:  # a refused session: said, not fatal
            print(f"{tag}: session {i} to 127.0.0.1:{port}: {err}", flush=True)
            return 0

    start = time.monotonic()
    with ThreadPoolExecutor(sessions) as pool:
        accepted = sum(pool.map(one, range(sessions)))
    arrived = delivered(fleet) - before
    while arrived < accepted and time.monotonic() - start < timeout:
        time.sleep(0.5)
        arrived = delivered(fleet) - before
    return accepted, arrived, time.monotonic() - start


def deploys(size: int, rows: dict[str, tuple[float, int]], args: argparse.Namespace) -> None:
    """Deploy the fleet twice (rows: figure -> seconds, tasks changed); the 5-host one also carries mail."""
    with fleet_stand.stood_up(size, args.mailboxes) as fleet:
        print(f"{size} host(s) up: {fleet_stand.names(fleet.stands)}; load {load_avg()}", flush=True)
        rows[f"first deploy, {size} host(s)"] = timed_deploy(fleet)
        rows[f"no-change re-deploy, {size} host(s)"] = timed_deploy(fleet)
        print(f"{size} host(s) deployed: {rows[f'first deploy, {size} host(s)'][0]:.0f} s, "
              f"again {rows[f'no-change re-deploy, {size} host(s)'][0]:.0f} s; load {load_avg()}", flush=True)
        if size == max(args.sizes):  # the largest fleet carries the mail (`--sizes 3`: one front only)
            inbound(fleet, args)


THROUGHPUT: dict[str, tuple[int, int, float]] = {}  # figure -> (accepted, delivered, seconds)
ONE_FRONT, TWO_FRONTS = "inbound through 1 MX front", "inbound through 2 MX fronts"


def inbound(fleet: Fleet, args: argparse.Namespace) -> None:
    """One front, then two where there are two; none in a 1-host fleet."""
    fronts = [s.ports["smtp"] for s in fleet.stands if s.host.startswith("front")]
    if not fronts:
        return
    # postscreen's first contact and rspamd's first lookups, once per front, outside the figures
    send_and_wait(fleet, fronts, len(fronts) * 2, len(fronts) * 2, args.mailboxes, "warmup", timeout=120)
    for name, ports in ((ONE_FRONT, fronts[:1]), (TWO_FRONTS, fronts)):
        if name == ONE_FRONT or len(fronts) > 1:
            THROUGHPUT[name] = accepted, arrived, seconds = send_and_wait(
                fleet, ports, args.messages, args.sessions, args.mailboxes, name.split()[2])
            # as measured: a later failure must not lose it
            print(f"{name}: {arrived}/{accepted} delivered in {seconds:.1f} s; load {load_avg()}", flush=True)


def table(rows: dict[str, tuple[float, int]], throughput: dict[str, tuple[int, int, float]]) -> list[str]:
    """The figures beside the same run's baselines (one host, one front) and issue 17's goal."""
    lines = [f"{'figure':<40} {'seconds':>8} {'ratio':>7}  {'goal':<16} {'':<8} note"]
    for kind in ("first deploy", "no-change re-deploy"):
        base = rows.get(f"{kind}, 1 host(s)")
        for name, (seconds, changed) in rows.items():
            if not name.startswith(kind + ","):
                continue
            ratio = seconds / base[0] if base else None
            goal, verdict = ("baseline" if "1 host" in name else ""), ""
            if "5 host" in name and ratio is not None:
                goal, verdict = "<= 2x one host", "met" if ratio <= 2 else "not met"
            shown = f"{ratio:7.2f}" if ratio is not None else f"{'-':>7}"
            lines.append(f"{name:<40} {seconds:8.1f} {shown}  {goal:<16} {verdict:<8} {changed} changed")
    one = throughput.get(ONE_FRONT)
    for name, (accepted, arrived, seconds) in throughput.items():
        rate = arrived / seconds
        shown = f"{rate / (one[1] / one[2]):7.2f}" if one and one[1] else f"{'-':>7}"
        goal = "baseline" if name == ONE_FRONT else ""
        lines.append(f"{name:<40} {seconds:8.1f} {shown}  {goal:<16} {'':<8} "
                     f"{arrived}/{accepted} delivered, {rate:.1f} msg/s")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,3,5", help="of 1, 3, 5 (the largest carries the mail)")
    parser.add_argument("--messages", type=int, default=400, help="messages per inbound run")
    parser.add_argument("--sessions", type=int, default=8, help="parallel SMTP sessions")
    # Dovecot takes at most lmtp_user_concurrency_limit (10) deliveries per user at once; each mx
    # front opens up to 10 LMTP connections to a back end: with one mailbox per domain, two fronts
    # get 451 (too many concurrent deliveries for user) and wait minimal_backoff_time (60 s).
    parser.add_argument("--mailboxes", type=int, default=8,
                        help="mailboxes per domain; session i sends to user(i mod N) (1: every session to one user)")
    args = parser.parse_args()
    args.sizes = sizes = [int(s) for s in args.sizes.split(",")]
    if unknown := [s for s in sizes if s not in fleet_stand.FLEETS]:
        sys.exit(f"--sizes: {unknown} not among {sorted(fleet_stand.FLEETS)} (pick from those)")
    if leftover := fleet_stand.leftovers():
        sys.exit(f"an earlier run's containers exist: {' '.join(leftover)}; remove them with: "
                 f"podman rm -f {' '.join(n for n in leftover if n != fleet_stand.NETWORK.name)}; "
                 f"podman network rm -f {fleet_stand.NETWORK.name}")

    def interrupted(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # SIGTERM too leaves through the clean-up of stood_up

    signal.signal(signal.SIGTERM, interrupted)
    rows: dict[str, tuple[float, int]] = {}
    start_load = load_avg()
    for size in sizes:
        deploys(size, rows, args)
    print(f"\nmailprov fleet benchmark, trixie, {os.cpu_count()} cores, load average (1/5/15 min) "
          f"{start_load} at the start, {load_avg()} at the end")
    print("\n".join(table(rows, THROUGHPUT)))


if __name__ == "__main__":
    main()
