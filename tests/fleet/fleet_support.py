"""Shared by the fleet proofs: the fleet inventory, and what the tests do to the stand-ins.

Everything goes through ports published on 127.0.0.1 or `podman exec`; between the stand-ins
only on the rehearsal's own private network.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from provisioner.inventory.passwords import hash_password
from provisioner.rehearse.overlay import Stand
from provisioner.rehearse.rehearsal import Rehearsal

FRONT, BACKUP_MX, STORE1, STORE2 = "front1.example.org", "backupmx.example.org", "store1.example.org", "store2.example.org"
HOSTS = f"""\
---
# A fleet (docs/fleet.md): one front (mx, submission, proxy), a backup MX, two mailbox back ends,
# store2 on bookworm (Dovecot 2.3) beside the trixie ones (Dovecot 2.4). Real addresses are
# documentation and private ones that must never be contacted.
all:
  children:
    mailservers:
      hosts:
        {FRONT}: {{ansible_host: 198.51.100.10, mail_hostname: {FRONT}}}
        {BACKUP_MX}: {{ansible_host: 198.51.100.11, mail_hostname: {BACKUP_MX}}}
        {STORE1}: {{ansible_host: 10.0.0.20, mail_hostname: {STORE1}}}
        {STORE2}: {{ansible_host: 10.0.0.21, mail_hostname: {STORE2}, mailprov_release: bookworm}}
      children:
        mx: {{hosts: {{{FRONT}: }}}}
        submission: {{hosts: {{{FRONT}: }}}}
        proxy: {{hosts: {{{FRONT}: }}}}
        backup_mx: {{hosts: {{{BACKUP_MX}: }}}}
        mailbox: {{hosts: {{{STORE1}: , {STORE2}: }}}}
"""
# address -> password; the domain decides the back end
USERS = {"alice@example.org": "alice-Fleet-pass-1", "bob@example.net": "bob-Fleet-pass-2"}
BACKEND = {"example.org": STORE1, "example.net": STORE2}
SENDER = "tester@example.com"
# The client's HELO name: smtplib's default here is "[127.0.0.1]", which rspamd scores towards
# spam (the back end's Sieve then files the message into Junk).
CLIENT = "client.example.com"
MAIL_ROOT = "/var/vmail"
MAILPROV = str(Path(sys.executable).parent / "mailprov")


def mailprov(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command, as an operator runs it."""
    env = {k: v for k, v in os.environ.items() if k != "MAILPROV_VAULT_PASSWORD_FILE"}
    return subprocess.run([MAILPROV, *args], env=env, capture_output=True, text=True, timeout=600, check=False)


def accounts_yaml() -> str:
    lines = ["---", "mail_domains:"]
    for domain, backend in BACKEND.items():
        lines += [f"  - name: {domain}", f"    backend: {backend}", "    mailboxes:"]
        for address, password in USERS.items():
            if address.endswith("@" + domain):
                lines.append(f"      - {{address: {address}, password: {json.dumps(hash_password(password))}, "
                             "quota: 1G}")
    return "\n".join(lines) + "\n"


def write_fleet_inventory(inv: Path) -> Path:
    """`mailprov init`, then the fleet's hosts.yml and accounts.yml, then a probe account."""
    result = mailprov("init", str(inv), "--domain", "example.org", "--hostname", FRONT, "--host", "198.51.100.10")
    assert result.returncode == 0, result.stderr
    (inv / "hosts.yml").write_text(HOSTS)
    (inv / "group_vars" / "mailservers" / "accounts.yml").write_text(accounts_yaml())
    result = mailprov("probe-account", "create", "-i", str(inv))
    assert result.returncode == 0, result.stdout + result.stderr
    return inv


@dataclass
class Fleet:
    rehearsal: Rehearsal
    stands: dict[str, Stand]  # inventory host -> its stand-in
    deploy_seconds: float

    def name(self, host: str) -> str:
        return self.stands[host].name

    def port(self, host: str, service: str) -> int:
        return self.stands[host].ports[service]

    def address(self, host: str) -> str:
        address = self.stands[host].address
        assert address is not None
        return address


def tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the stand-ins' certificates are self-signed
    return ctx


def run_in(name: str, script: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", "exec", name, "sh", "-c", script], capture_output=True, text=True,
                          timeout=timeout, check=False)


def ok_in(name: str, script: str, timeout: float = 120) -> str:
    result = run_in(name, script, timeout)
    assert result.returncode == 0, f"{name}: {script}: rc={result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def connects(name: str, address: str, port: int, timeout: float = 3) -> str | None:
    """From inside container ``name``: the first line the service at address:port says, None if unreachable."""
    script = (
        "import socket, sys\n"
        "try:\n"
        f"    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout={timeout})\n"
        "    print(s.recv(200).decode(errors='replace').splitlines()[0])\n"
        "except OSError as e:\n"
        "    sys.exit(repr(e))\n"
    )
    result = subprocess.run(["podman", "exec", name, "python3", "-c", script, address, str(port)],
                            capture_output=True, text=True, timeout=timeout + 30, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def message(to: str, subject: str, sender: str = SENDER) -> EmailMessage:
    """A plain, well-formed message (Date and Message-ID too: without them rspamd scores it
    towards spam, and the back end's Sieve files it into Junk)."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"], msg["Message-ID"] = formatdate(localtime=True), make_msgid(domain=CLIENT)
    msg.set_content(f"{subject}\nfleet proof body\n")
    return msg


def send_many(port: int, mails: Iterable[tuple[str, str]], per_session: int = 50) -> dict[str, int]:
    """Each (recipient, subject) to 127.0.0.1:port over SMTP; subject -> the RCPT reply code (250 accepted)."""
    codes: dict[str, int] = {}
    pending = list(mails)
    while pending:
        batch, pending = pending[:per_session], pending[per_session:]
        with smtplib.SMTP("127.0.0.1", port, timeout=60, local_hostname=CLIENT) as smtp:
            smtp.ehlo()  # mail() does not greet by itself
            for to, subject in batch:
                smtp.mail(SENDER)
                code, _ = smtp.rcpt(to)
                if code == 250:
                    code, _ = smtp.data(message(to, subject).as_bytes())
                else:
                    smtp.rset()
                codes[subject] = code
    return codes


# The message files of every Maildir folder, not Dovecot's index and cache files beside them
# (the cache holds headers too).
MESSAGE_FILES = f"find {MAIL_ROOT} -type f \\( -path '*/cur/*' -o -path '*/new/*' \\) -print0 2>/dev/null | xargs -0r"


def subjects(name: str, tag: str) -> set[str]:
    """The distinct subjects ``TAG-N`` among the messages in the container's Maildirs."""
    result = run_in(name, f"{MESSAGE_FILES} grep -hoE -- '{tag}-[0-9]+' | sort -u")
    return set(result.stdout.split())


def file_count(name: str, tag: str) -> int:
    """How many message files hold ``tag``: a message delivered twice counts twice."""
    result = run_in(name, f"{MESSAGE_FILES} grep -lF -- '{tag}' | wc -l")
    return int(result.stdout.strip() or 0)


def wait_until(what: str, predicate: Callable[[], bool], timeout: float, interval: float = 2) -> float:
    """Poll ``predicate``; the seconds it took. Fails the test with ``what`` after ``timeout``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)
    return time.monotonic() - start


def queue(name: str) -> list[dict[str, object]]:
    """The container's Postfix queue (postqueue -j), one dict per message."""
    out = run_in(name, "postqueue -j 2>/dev/null").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def deliveries(name: str) -> dict[str, int]:
    """How many deliveries Postfix logged on this host since it started: sent, deferred, bounced.

    Read from the journal; a host that logged no `status=sent` at all shows that the log is not
    where this looks, so callers assert on ``sent`` too before trusting ``bounced == 0``."""
    log = ok_in(name, "journalctl --no-pager -q -o cat")
    return {status: log.count(f"status={status}") for status in ("sent", "deferred", "bounced")}
