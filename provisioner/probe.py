"""`mailprov check`: talk to each host from outside, like a mail client would.

Every probe is a small function returning a :class:`Check`. Connections go
only to the host's published address and ports (``provisioner.ports``).
Credentials are never sent before TLS: the "AUTH without TLS" probes use a
made-up account and only expect a refusal.
"""

from __future__ import annotations

import imaplib
import poplib
import smtplib
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

from provisioner.model import Host, Inventory
from provisioner.ports import host_ports, probe_address
from provisioner.probe_account import Credentials
from provisioner.tlsinfo import TlsInfo, client_context, inspect

TIMEOUT = 10.0
DELIVERY_TIMEOUT = 60.0
# Our HELO name: syntactically valid, owned by nobody.
HELO = "check.mailprov.invalid"
# A domain no mail server of ours serves (RFC 2606): relaying to it must be refused.
FOREIGN_RCPT = "relay-test@example.net"
ROUND_TRIP_CHECK = "delivered, read over IMAP"
BOGUS_USER, BOGUS_PASSWORD = "nobody@mailprov.invalid", "not-a-password"


@dataclass
class Check:
    host: str
    name: str
    status: str  # pass | fail | skip
    detail: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status != "fail"


@dataclass
class Target:
    host: str
    address: str
    hostname: str  # the name on the certificate, in banners
    ports: dict[str, int]
    verify_tls: bool
    creds: Credentials | None = field(default=None, repr=False)


def targets(inventory: Inventory, creds: Credentials | None, limit: str | None = None) -> list[Target]:
    return [
        Target(
            host=h.name,
            address=probe_address(h),
            hostname=inventory.hostname_for(h),
            ports=host_ports(h),
            verify_tls=inventory.settings.tls.mode != "selfsigned",
            creds=creds,
        )
        for h in inventory.hosts
        if limit is None or _selected(h, limit)
    ]


def _selected(host: Host, limit: str) -> bool:
    return host.name in {p.strip() for p in limit.split(",")}


# -- running probes ------------------------------------------------------------


class ProbeFailed(Exception):
    """A probe's expectation was not met; the message says what was seen."""


def _timed(host: str, name: str, probe: Callable[[], str]) -> Check:
    start = time.monotonic()
    try:
        detail = probe()
        status = "pass"
    except _Skip as skip:
        return Check(host, name, "skip", str(skip), 0.0)
    except (
        ProbeFailed,
        OSError,
        smtplib.SMTPException,
        imaplib.IMAP4.error,
        poplib.error_proto,
    ) as exc:
        detail, status = _describe(exc), "fail"
    return Check(host, name, status, detail, time.monotonic() - start)


class _Skip(Exception):
    pass


def _text(exc: BaseException, limit: int = 60) -> str:
    """A server's reply carried by an exception, as short readable text."""
    arg = exc.args[0] if exc.args else exc
    raw = arg.decode(errors="replace") if isinstance(arg, bytes) else str(arg)
    return raw[:limit]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (service down or port not published)"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, ProbeFailed) else f"{type(exc).__name__}: {text}"


def run_checks(target: Target, on_check: Callable[[Check], None] | None = None) -> list[Check]:
    """Every probe against one host, in a fixed order."""
    results: list[Check] = []

    def add(name: str, probe: Callable[[], str]) -> None:
        check = _timed(target.host, name, probe)
        results.append(check)
        if on_check is not None:
            on_check(check)

    t, p = target, target.ports
    add(f"smtp :{p['smtp']} STARTTLS", lambda: smtp_banner(t, "smtp", starttls=True))
    add(f"submission :{p['submission']} STARTTLS", lambda: smtp_banner(t, "submission", starttls=True))
    add(f"smtps :{p['smtps']} TLS", lambda: smtp_banner(t, "smtps", starttls=False))
    add(f"imap :{p['imap']} STARTTLS", lambda: imap_banner(t, implicit=False))
    add(f"imaps :{p['imaps']} TLS", lambda: imap_banner(t, implicit=True))
    add(f"pop3 :{p['pop3']} STLS", lambda: pop3_banner(t, implicit=False))
    add(f"pop3s :{p['pop3s']} TLS", lambda: pop3_banner(t, implicit=True))
    add(f"managesieve :{p['managesieve']} STARTTLS", lambda: sieve_banner(t))
    add("open relay refused (smtp)", lambda: relay_refused(t))
    add("AUTH before TLS refused (submission)", lambda: smtp_cleartext_auth_refused(t))
    add("LOGIN before TLS refused (imap)", lambda: imap_cleartext_login_refused(t))
    add("USER/PASS before TLS refused (pop3)", lambda: pop3_cleartext_login_refused(t))
    add("wrong password refused (smtps)", lambda: wrong_password_refused(t))
    tokens: dict[str, float] = {}
    add("AUTH + send (submission)", lambda: submit(t, "submission", tokens))
    add("AUTH + send (smtps)", lambda: submit(t, "smtps", tokens))
    add(ROUND_TRIP_CHECK, lambda: read_back_imap(t, tokens))
    add("read over POP3", lambda: read_back_pop3(t, tokens))
    return results


# -- TLS helpers --------------------------------------------------------------


def _tls_verdict(target: Target, sock: object) -> str:
    if not isinstance(sock, ssl.SSLSocket):
        raise ProbeFailed("no TLS session")
    info: TlsInfo = inspect(sock)
    problems = info.problems(target.hostname)
    if problems:
        raise ProbeFailed("; ".join(problems))
    return info.describe()


def _ctx(target: Target) -> ssl.SSLContext:
    return client_context(target.verify_tls)


def _server_name(target: Target) -> str:
    return target.hostname


# -- SMTP -------------------------------------------------------------------------


@contextmanager
def _smtp(target: Target, service: str) -> Iterator[smtplib.SMTP]:
    port = target.ports[service]
    client: smtplib.SMTP
    if service == "smtps":
        client = _SMTPSNamed(target, port)
    else:
        client = smtplib.SMTP(target.address, port, local_hostname=HELO, timeout=TIMEOUT)
    try:
        yield client
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


class _SMTPSNamed(smtplib.SMTP_SSL):
    """SMTP over TLS to an address, with SNI for the mail hostname."""

    def __init__(self, target: Target, port: int) -> None:
        self._sni = target.hostname
        super().__init__(target.address, port, local_hostname=HELO, timeout=TIMEOUT, context=_ctx(target))

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        raw = socket.create_connection((host, port), timeout)
        return self.context.wrap_socket(raw, server_hostname=self._sni)


def _starttls(client: smtplib.SMTP, target: Target) -> None:
    # smtplib.starttls() would use the connect address as SNI; set our name.
    client._host = _server_name(target)  # type: ignore[attr-defined]
    client.starttls(context=_ctx(target))


def smtp_banner(target: Target, service: str, *, starttls: bool) -> str:
    with _smtp(target, service) as client:
        code, greeting = client.ehlo()
        if code != 250:
            raise ProbeFailed(f"EHLO answered {code}")
        if starttls:
            if not client.has_extn("starttls"):
                raise ProbeFailed("STARTTLS not offered")
            _starttls(client, target)
        tls = _tls_verdict(target, client.sock)
        text = greeting.decode(errors="replace").splitlines()[0]
        if target.hostname.lower() not in text.lower():
            raise ProbeFailed(f"EHLO greeting {text!r} does not name {target.hostname}")
        return tls


def relay_refused(target: Target) -> str:
    with _smtp(target, "smtp") as client:
        client.ehlo()
        code, _ = client.mail("probe@mailprov.invalid")
        if code >= 400:
            return f"refused at MAIL FROM ({code})"
        code, msg = client.rcpt(FOREIGN_RCPT)
        client.rset()
        if code < 400:
            raise ProbeFailed(f"OPEN RELAY: RCPT TO:<{FOREIGN_RCPT}> accepted ({code})")
        return f"{code} {msg.decode(errors='replace')[:60]}"


def smtp_cleartext_auth_refused(target: Target) -> str:
    with _smtp(target, "submission") as client:
        client.ehlo()
        if client.has_extn("auth"):
            raise ProbeFailed("AUTH offered before STARTTLS")
        # A made-up account: a server that accepted it anyway must still say no.
        code, _ = client.docmd("AUTH", "PLAIN AG5vYm9keUBtYWlscHJvdi5pbnZhbGlkAG5vdC1hLXBhc3N3b3Jk")
        if 200 <= code < 400:
            raise ProbeFailed(f"AUTH before STARTTLS answered {code}")
        return f"AUTH not offered; attempt answered {code}"


def wrong_password_refused(target: Target) -> str:
    user = target.creds.address if target.creds else BOGUS_USER
    with _smtp(target, "smtps") as client:
        client.ehlo()
        try:
            client.login(user, BOGUS_PASSWORD)
        except smtplib.SMTPAuthenticationError as exc:
            return f"refused ({exc.smtp_code})"
        raise ProbeFailed("login with a wrong password succeeded")


def _need_creds(target: Target) -> Credentials:
    if target.creds is None:
        raise _Skip("no probe account: pass --user ADDRESS --password-stdin")
    return target.creds


def submit(target: Target, service: str, tokens: dict[str, float]) -> str:
    creds = _need_creds(target)
    token = f"mailprov-check-{uuid.uuid4().hex}"
    msg = EmailMessage()
    msg["From"] = creds.address
    msg["To"] = creds.address
    msg["Subject"] = token
    msg.set_content(f"mailprov check via {service}; safe to delete.\n")
    with _smtp(target, service) as client:
        client.ehlo()
        if service != "smtps":
            _starttls(client, target)
            client.ehlo()
        client.login(creds.address, creds.password)
        client.send_message(msg)
    tokens[token] = time.monotonic()
    return f"accepted for {creds.address}"


# -- IMAP ---------------------------------------------------------------------


class _IMAP4SSLNamed(imaplib.IMAP4_SSL):
    def __init__(self, target: Target) -> None:
        self._sni = target.hostname
        self._tls = _ctx(target)
        super().__init__(target.address, target.ports["imaps"], ssl_context=self._tls, timeout=TIMEOUT)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        raw = socket.create_connection((self.host, self.port), timeout)
        return self._tls.wrap_socket(raw, server_hostname=self._sni)


def _imap_starttls(client: imaplib.IMAP4, target: Target) -> None:
    # imaplib's starttls() has no server_hostname; wrap with our SNI ourselves
    # by setting the host it uses.
    client.host = _server_name(target)
    client.starttls(ssl_context=_ctx(target))


@contextmanager
def _imap(target: Target, implicit: bool) -> Iterator[imaplib.IMAP4]:
    client: imaplib.IMAP4
    if implicit:
        client = _IMAP4SSLNamed(target)
    else:
        client = imaplib.IMAP4(target.address, target.ports["imap"], timeout=TIMEOUT)
    try:
        yield client
    finally:
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            client.shutdown()


def imap_banner(target: Target, *, implicit: bool) -> str:
    with _imap(target, implicit) as client:
        if not client.welcome.startswith(b"* OK"):
            raise ProbeFailed(f"greeting {client.welcome[:60]!r}")
        if not implicit:
            if "STARTTLS" not in client.capabilities:
                raise ProbeFailed("STARTTLS not offered")
            _imap_starttls(client, target)
        return _tls_verdict(target, client.sock)


def imap_cleartext_login_refused(target: Target) -> str:
    with _imap(target, implicit=False) as client:
        if "LOGINDISABLED" in client.capabilities:
            return "LOGINDISABLED advertised"
        try:
            client.login(BOGUS_USER, BOGUS_PASSWORD)
        except imaplib.IMAP4.error as exc:
            return f"refused: {_text(exc)}"
        raise ProbeFailed("LOGIN accepted without TLS")


def read_back_imap(target: Target, tokens: dict[str, float]) -> str:
    creds = _need_creds(target)
    if not tokens:
        raise ProbeFailed("nothing was sent")
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    seen: dict[str, float] = {}
    with _imap(target, implicit=True) as client:
        client.login(creds.address, creds.password)
        while len(seen) < len(tokens):
            client.select("INBOX", readonly=True)
            for token, sent in tokens.items():
                if token in seen:
                    continue
                typ, data = client.search(None, "HEADER", "Subject", token)
                if typ == "OK" and data and data[0]:
                    seen[token] = time.monotonic() - sent
            if len(seen) < len(tokens):
                if time.monotonic() > deadline:
                    missing = len(tokens) - len(seen)
                    raise ProbeFailed(
                        f"{missing} of {len(tokens)} messages not delivered after {DELIVERY_TIMEOUT:.0f} s"
                    )
                time.sleep(0.2)
    worst = max(seen.values())
    return f"{len(seen)} messages, round trip {worst:.2f} s"


# -- POP3 -----------------------------------------------------------------


class _POP3SSLNamed(poplib.POP3_SSL):
    def __init__(self, target: Target) -> None:
        self._sni = target.hostname
        self._tls = _ctx(target)
        super().__init__(target.address, target.ports["pop3s"], timeout=TIMEOUT, context=self._tls)

    def _create_socket(self, timeout: float) -> socket.socket:
        raw = socket.create_connection((self.host, self.port), timeout)
        return self._tls.wrap_socket(raw, server_hostname=self._sni)


@contextmanager
def _pop3(target: Target, implicit: bool) -> Iterator[poplib.POP3]:
    client: poplib.POP3 = (
        _POP3SSLNamed(target) if implicit else poplib.POP3(target.address, target.ports["pop3"], timeout=TIMEOUT)
    )
    try:
        yield client
    finally:
        try:
            client.quit()
        except (poplib.error_proto, OSError):
            client.close()


def pop3_banner(target: Target, *, implicit: bool) -> str:
    with _pop3(target, implicit) as client:
        welcome = client.getwelcome()
        if not welcome.startswith(b"+OK"):
            raise ProbeFailed(f"greeting {welcome[:60]!r}")
        if not implicit:
            if "STLS" not in client.capa():
                raise ProbeFailed("STLS not offered")
            client.host = _server_name(target)
            client.stls(context=_ctx(target))
        return _tls_verdict(target, client.sock)


def pop3_cleartext_login_refused(target: Target) -> str:
    with _pop3(target, implicit=False) as client:
        try:
            client.user(BOGUS_USER)
            client.pass_(BOGUS_PASSWORD)
        except poplib.error_proto as exc:
            return f"refused: {_text(exc)}"
        raise ProbeFailed("USER/PASS accepted without TLS")


def read_back_pop3(target: Target, tokens: dict[str, float]) -> str:
    """Finds the probe messages over POP3 and deletes them (the mailbox stays clean)."""
    creds = _need_creds(target)
    if not tokens:
        raise ProbeFailed("nothing was sent")
    found = 0
    with _pop3(target, implicit=True) as client:
        client.user(creds.address)
        client.pass_(creds.password)
        _, listing, _ = client.list()
        for line in listing:
            number = int(line.split()[0])
            _, headers, _ = client.top(number, 0)
            text = b"\n".join(headers).decode(errors="replace")
            if any(token in text for token in tokens):
                client.dele(number)
                found += 1
    if found < len(tokens):
        raise ProbeFailed(f"found {found} of {len(tokens)} probe messages")
    return f"{found} messages read and deleted"


# -- ManageSieve ----------------------------------------------------------


def sieve_banner(target: Target) -> str:
    """ManageSieve (RFC 5804): capability lines end with OK; then STARTTLS."""
    port = target.ports["managesieve"]
    with socket.create_connection((target.address, port), TIMEOUT) as raw:
        reader = raw.makefile("rb")
        caps = _sieve_response(reader)
        if not any(line.upper().startswith('"STARTTLS"') for line in caps):
            raise ProbeFailed("STARTTLS not offered")
        raw.sendall(b"STARTTLS\r\n")
        _sieve_response(reader)
        with _ctx(target).wrap_socket(raw, server_hostname=target.hostname) as tls:
            verdict = _tls_verdict(target, tls)
            tls.sendall(b"LOGOUT\r\n")
        return verdict


def _sieve_response(reader: object) -> list[str]:
    lines: list[str] = []
    for _ in range(50):
        line = reader.readline().decode(errors="replace").strip()  # type: ignore[attr-defined]
        if not line:
            raise ProbeFailed("connection closed")
        if line.upper().startswith("OK"):
            return lines
        if line.upper().startswith(("NO", "BYE")):
            raise ProbeFailed(f"server said {line[:60]!r}")
        lines.append(line)
    raise ProbeFailed("no OK after 50 lines")
