"""What the mail benchmarks share: SMTP load over parallel sessions, IMAPS logins, Maildir counts.

Every client talks to a port published on 127.0.0.1; Maildir files are counted through
`podman exec`, so a figure counts mail that was delivered, not only accepted.
"""

from __future__ import annotations

import imaplib
import os
import smtplib
import socket
import ssl
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage


@dataclass(frozen=True)
class Load:
    """Who sends what to whom: one SMTP port, one mailbox, a body of fixed size."""

    port: int
    sender: str
    recipient: str
    body: str
    helo: str = "client.sender.example"


def body_of(kilobytes: int) -> str:
    """A plain-text body of about `kilobytes` KB (lines of 64 characters)."""
    line = "Message path benchmark, a line of text to fill the body up.....\n"
    return line * max(1, kilobytes * 1024 // len(line))


def run(argv: list[str], env: dict[str, str] | None = None, stdin: str | None = None) -> str:
    """Run a command; exit with its output when it fails (a benchmark has nothing to recover)."""
    result = subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(argv)}\n{result.stdout}\n{result.stderr}")
    return result.stdout


def wait_ports_free(ports: Iterable[int], timeout: float = 120.0) -> None:
    """Until every port can be bound on 127.0.0.1, as podman's publishing needs. Ports above
    32767 are also Linux's ephemeral ones: a client connection of this very benchmark holds one
    in TIME-WAIT for 60 s after it closed."""
    deadline = time.monotonic() + timeout
    for port in ports:
        while True:
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        sys.exit(f"127.0.0.1:{port} stays in use; `ss -tanp | grep :{port}` says by what")
            time.sleep(1)


def session(load: Load, count: int, tag: str) -> int:
    """One SMTP session sending `count` messages; returns how many got 250."""
    sent = 0
    with smtplib.SMTP("127.0.0.1", load.port, local_hostname=load.helo, timeout=120) as smtp:
        for n in range(count):
            message = EmailMessage()
            message["From"] = load.sender
            message["To"] = load.recipient
            message["Subject"] = f"bench {tag} {n}"
            message["Message-ID"] = f"<bench-{tag}-{n}-{time.monotonic_ns()}@sender.example>"
            message.set_content(load.body)
            try:
                smtp.send_message(message)
                sent += 1
            except smtplib.SMTPException:
                continue
    return sent


def send_parallel(load: Load, sessions: int, messages: int, tag: str) -> tuple[int, float]:
    """`messages` spread over `sessions` parallel sessions: (accepted with 250, seconds)."""
    each = max(1, messages // sessions)
    start = time.monotonic()
    with ThreadPoolExecutor(sessions) as pool:
        accepted = sum(pool.map(lambda i: session(load, each, f"{tag}{i}"), range(sessions)))
    return accepted, time.monotonic() - start


def maildir_count(container: str, maildir: str) -> int:
    """Messages in a Maildir and its folders (new/ and cur/), counted inside the container."""
    script = f"find {maildir} -type f \\( -path '*/new/*' -o -path '*/cur/*' \\) 2>/dev/null | wc -l"
    return int(run(["podman", "exec", container, "sh", "-c", script]).strip() or 0)


def cpu_ticks(container: str) -> Counter[str]:
    """CPU time so far (clock ticks) by command name in the container: user + system, reaped
    children included (a process that exits counts in its parent: Postfix's short-lived ones in `master`)."""
    script = "for p in /proc/[0-9]*; do cat $p/stat 2>/dev/null; echo; done"
    total: Counter[str] = Counter()
    for line in run(["podman", "exec", container, "sh", "-c", script]).splitlines():
        if ")" in line:
            command = line[line.index("(") + 1 : line.rindex(")")]
            fields = line[line.rindex(")") + 2 :].split()
            total[command] += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return total


@dataclass(frozen=True)
class Delivery:
    accepted: int
    delivered: int
    seconds: float  # from the first connection until the last message was in the Maildir
    cpu: Counter[str]  # CPU clock ticks by command in the container over the run: where the time went

    @property
    def per_second(self) -> float:
        return self.delivered / self.seconds if self.seconds else 0.0

    def cpu_per_message(self, most: int) -> list[tuple[str, float]]:
        """The `most` busiest commands, CPU milliseconds per delivered message."""
        per = 1000 / os.sysconf("SC_CLK_TCK") / max(1, self.delivered)
        return [(command, ticks * per) for command, ticks in self.cpu.most_common(most)]


def delivered_rate(
    load: Load, sessions: int, messages: int, tag: str, container: str, maildir: str, timeout: float = 300.0
) -> Delivery:
    """Send, then wait until every accepted message is in the Maildir (or `timeout` passed)."""
    before, cpu_before = maildir_count(container, maildir), cpu_ticks(container)
    start = time.monotonic()
    accepted, _ = send_parallel(load, sessions, messages, tag)
    delivered = maildir_count(container, maildir) - before
    while delivered < accepted and time.monotonic() - start < timeout:
        time.sleep(0.2)
        delivered = maildir_count(container, maildir) - before
    seconds = time.monotonic() - start
    return Delivery(accepted, delivered, seconds, cpu_ticks(container) - cpu_before)


def imaps_login_p50(port: int, user: str, password: str, logins: int) -> float:
    """Median milliseconds of IMAPS connect + login + logout (a self-signed test certificate)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    times = []
    for _ in range(logins):
        start = time.monotonic()
        imap = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=context, timeout=60)
        imap.login(user, password)
        imap.logout()
        times.append((time.monotonic() - start) * 1000)
    return statistics.median(times)
