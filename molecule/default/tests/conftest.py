"""Shared fixtures: the two converged containers and real mail clients.

Every network test talks to 127.0.0.1 only, through the ports the scenario
publishes (trixie 12xxx, bookworm 13xxx); everything else goes through
`podman exec` (testinfra's podman:// backend).
"""

from __future__ import annotations

import contextlib
import imaplib
import json
import os
import poplib
import shutil
import smtplib
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
import testinfra

LOCALHOST = "127.0.0.1"
HOSTNAME = "mail.example.test"
CLIENT_HELO = "client.example.test"
PORT_BASE = {"trixie": 12000, "bookworm": 13000}
# Container port -> offset on the published range.
PORT_OFFSET = {25: 25, 587: 587, 465: 465, 143: 143, 993: 993, 110: 110, 995: 995, 4190: 190}
PASSWORDS = {
    "alice@example.test": "alice-Secret-1",
    "bob@example.test": "bob-Secret-1",
    "carol@example.test": "carol-Secret-1",
    "quota@example.test": "quota-Secret-1",
    "dave@other.test": "dave-Secret-1",
}
TIMEOUT = 30

SCENARIO = Path(__file__).resolve().parent.parent
PROJECT = SCENARIO.parent.parent


def _inventory() -> str:
    """Molecule's inventory folder (group_vars linked next to it)."""
    inventory = os.environ.get("MOLECULE_INVENTORY_FILE")
    if not inventory:
        pytest.skip("needs molecule's inventory (run through `molecule verify`)")
    return str(Path(inventory).parent)


def playbook(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["ANSIBLE_CONFIG"] = str(PROJECT / "ansible.cfg")
    env["ANSIBLE_ROLES_PATH"] = str(PROJECT / "roles")
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_NOCOLOR"] = "1"
    # The ansible-playbook next to this Python (a venv need not be on PATH).
    beside = Path(sys.executable).parent / "ansible-playbook"
    binary = str(beside) if beside.exists() else "ansible-playbook"
    return subprocess.run(
        [binary, "-i", _inventory(), str(PROJECT / "playbooks" / name), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def play_recap(output: str) -> dict[str, dict[str, int]]:
    recap: dict[str, dict[str, int]] = {}
    for line in output.splitlines():
        if "ok=" in line and " : " in line:
            name, _, counters = line.partition(" : ")
            recap[name.strip()] = {key: int(value) for key, value in (pair.split("=") for pair in counters.split())}
    return recap


@dataclass
class Server:
    """One converged container."""

    release: str
    host: testinfra.host.Host
    tls: ssl.SSLContext

    @property
    def container(self) -> str:
        return f"mailprov-molecule-{self.release}"

    def port(self, port: int) -> int:
        return PORT_BASE[self.release] + PORT_OFFSET[port]

    # --- SMTP -------------------------------------------------------------
    def smtp(self, port: int) -> smtplib.SMTP:
        """A session on 25/587 (plain, caller may STARTTLS) or 465 (TLS)."""
        if port == 465:
            return smtplib.SMTP_SSL(
                LOCALHOST, self.port(465), local_hostname=CLIENT_HELO, timeout=TIMEOUT, context=self.tls
            )
        return smtplib.SMTP(LOCALHOST, self.port(port), local_hostname=CLIENT_HELO, timeout=TIMEOUT)

    @contextlib.contextmanager
    def submission(self, port: int, user: str, password: str | None = None) -> Iterator[smtplib.SMTP]:
        """An authenticated submission session on 587 (after STARTTLS) or 465."""
        session = self.smtp(port)
        try:
            if port == 587:
                session.starttls(context=self.tls)
            session.login(user, password if password is not None else PASSWORDS[user])
            yield session
        finally:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                session.quit()

    # --- IMAP / POP3 --------------------------------------------------------
    def imaps(self, user: str, password: str | None = None) -> imaplib.IMAP4_SSL:
        conn = imaplib.IMAP4_SSL(LOCALHOST, self.port(993), ssl_context=self.tls, timeout=TIMEOUT)
        conn.login(user, password if password is not None else PASSWORDS[user])
        return conn

    def pop3s(self, user: str, password: str | None = None) -> poplib.POP3_SSL:
        conn = poplib.POP3_SSL(LOCALHOST, self.port(995), context=self.tls, timeout=TIMEOUT)
        conn.user(user)
        conn.pass_(password if password is not None else PASSWORDS[user])
        return conn

    def imap_fetch(self, user: str, token: str, mailbox: str = "INBOX", wait: float = 60) -> bytes | None:
        """The first message in `mailbox` whose text contains `token`."""
        deadline = time.monotonic() + wait
        while True:
            conn = self.imaps(user)
            try:
                typ, _ = conn.select(f'"{mailbox}"', readonly=True)
                if typ == "OK":
                    _, data = conn.search(None, "TEXT", f'"{token}"')
                    ids = data[0].split()
                    if ids:
                        _, msg = conn.fetch(ids[0], "(RFC822)")
                        part = msg[0]
                        if isinstance(part, tuple):
                            return bytes(part[1])
            finally:
                conn.logout()
            if time.monotonic() > deadline:
                return None
            time.sleep(1)

    def pop3_fetch(self, user: str, token: str) -> bytes | None:
        conn = self.pop3s(user)
        try:
            count, _ = conn.stat()
            for number in range(count, 0, -1):
                _, lines, _ = conn.retr(number)
                raw = b"\r\n".join(lines)
                if token.encode() in raw:
                    return raw
            return None
        finally:
            conn.quit()


def make_message(sender: str, recipients: list[str], subject: str, body: str = "") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="client.example.test")
    msg.set_content(body or f"mailprov molecule test: {subject}\n")
    return msg


def token(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:12]}"


def _tls_context(host: testinfra.host.Host) -> ssl.SSLContext:
    """Trust exactly the server's own (self-signed) certificate."""
    pem = host.file(f"/etc/mailprov/tls/{HOSTNAME}.crt").content_string
    context = ssl.create_default_context(cadata=pem)
    # Connections go to 127.0.0.1; the name is checked in test_services.
    context.check_hostname = False
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _server(release: str) -> Server:
    host = testinfra.get_host(f"podman://mailprov-molecule-{release}")
    return Server(release=release, host=host, tls=_tls_context(host))


# Module scope: each test module runs on both releases before the next one
# starts (the playbook runs of test_zy_* / test_zz_* must not interleave).
@pytest.fixture(scope="module", params=sorted(PORT_BASE))
def server(request: pytest.FixtureRequest) -> Server:
    return _server(request.param)


@pytest.fixture(scope="module")
def servers() -> list[Server]:
    """Both releases, for tests around one playbook run on both."""
    return [_server(release) for release in sorted(PORT_BASE)]


# --- DKIM: the keys `mailprov dns` publishes --------------------------------------------------


def mailprov_dns(container: str, *args: str) -> list[dict[str, Any]]:
    """The records the real CLI prints for the scenario's domains, keys read from `container`
    (a throwaway inventory: the scenario's group_vars, the container as its one host)."""
    folder = Path(tempfile.mkdtemp(prefix="mailprov-dns-inventory-"))
    try:
        shutil.copytree(SCENARIO / "group_vars", folder / "group_vars")
        (folder / "hosts.yml").write_text(
            f"all:\n  children:\n    mailservers:\n      hosts:\n        {container}:\n"
            "          ansible_connection: containers.podman.podman\n",
            encoding="utf-8",
        )
        beside = Path(sys.executable).parent / "mailprov"
        result = subprocess.run(
            [str(beside) if beside.exists() else "mailprov", "dns", "-i", str(folder), "--format", "json", *args],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert result.returncode == 0, result.stderr
    records: list[dict[str, Any]] = json.loads(result.stdout)
    return records


def dkim_dnsfunc(records: list[dict[str, Any]]) -> Callable[..., bytes | None]:
    """dkimpy's DNS lookup, answered from the records `mailprov dns` printed."""
    txt = {r["name"].rstrip(".").lower(): r["value"] for r in records if r["type"] == "TXT"}

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:  # timeout: dkimpy passes it
        value = txt.get(name.decode().rstrip(".").lower())
        return value.encode() if value else None

    return lookup
