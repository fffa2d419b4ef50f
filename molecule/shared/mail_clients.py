"""Real mail clients for the Molecule scenarios, shared by their tests.

A `Server` is one converged container: testinfra reaches it through
`podman exec`, the clients through the ports it publishes on 127.0.0.1
(`port_base` plus the offset of the standard port).
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import poplib
import smtplib
import socket
import ssl
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

import testinfra

LOCALHOST = "127.0.0.1"
HOSTNAME = "mail.example.test"
CLIENT_HELO = "client.example.test"
# Container port -> offset on the published range.
PORT_OFFSET = {25: 25, 587: 587, 465: 465, 143: 143, 993: 993, 110: 110, 995: 995, 4190: 190, 80: 80, 443: 443}
# The test accounts of molecule/default/group_vars (the hashes live there).
PASSWORDS = {
    "alice@example.test": "alice-Secret-1",
    "bob@example.test": "bob-Secret-1",
    "carol@example.test": "carol-Secret-1",
    "quota@example.test": "quota-Secret-1",
    "dave@other.test": "dave-Secret-1",
}
TIMEOUT = 30


@dataclass
class Server:
    """One converged container."""

    release: str
    container: str
    port_base: int
    host: testinfra.host.Host
    tls: ssl.SSLContext

    def port(self, port: int) -> int:
        return self.port_base + PORT_OFFSET[port]

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


def tls_context(host: testinfra.host.Host) -> ssl.SSLContext:
    """Trust exactly the server's own (self-signed) certificate."""
    pem = host.file(f"/etc/mailprov/tls/{HOSTNAME}.crt").content_string
    context = ssl.create_default_context(cadata=pem)
    # Connections go to 127.0.0.1; the name is checked in test_services.
    context.check_hostname = False
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def connect(container: str, release: str, port_base: int) -> Server:
    host = testinfra.get_host(f"podman://{container}")
    return Server(release=release, container=container, port_base=port_base, host=host, tls=tls_context(host))


class ManageSieve:
    """Just enough of RFC 5804 for the tests."""

    def __init__(self, server: Server) -> None:
        self.sock: socket.socket | ssl.SSLSocket = socket.create_connection(
            (LOCALHOST, server.port(4190)), timeout=TIMEOUT
        )
        self.file = self.sock.makefile("rb")
        self.server = server
        self.capabilities = self.response()

    def response(self) -> list[bytes]:
        lines: list[bytes] = []
        while True:
            line = self.file.readline()
            if not line:
                raise ConnectionError("ManageSieve connection closed")
            if line.startswith((b"OK", b"NO", b"BYE")):
                if not line.startswith(b"OK"):
                    raise RuntimeError(line.decode(errors="replace"))
                return lines
            lines.append(line)

    def command(self, text: bytes) -> list[bytes]:
        self.sock.sendall(text + b"\r\n")
        return self.response()

    def starttls(self) -> None:
        self.command(b"STARTTLS")
        self.sock = self.server.tls.wrap_socket(self.sock)
        self.file = self.sock.makefile("rb")
        self.capabilities = self.response()

    def authenticate(self, user: str, password: str) -> None:
        blob = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        self.command(f'AUTHENTICATE "PLAIN" "{blob}"'.encode())

    def putscript(self, name: str, script: str) -> None:
        data = script.encode()
        self.command(f'PUTSCRIPT "{name}" {{{len(data)}+}}\r\n'.encode() + data)
        self.command(f'SETACTIVE "{name}"'.encode())

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, ConnectionError, OSError):
            self.command(b"LOGOUT")
        self.sock.close()
