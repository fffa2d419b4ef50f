"""`mailprov check` over IMAP, POP3 and ManageSieve: banners, cleartext refusals, reading back."""

from __future__ import annotations

import imaplib
import poplib
import socket
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from provisioner.probe.session import (
    BOGUS_PASSWORD,
    BOGUS_USER,
    ProbeFailed,
    Target,
    closing,
    read_back_creds,
    refused,
    safe_for_password,
    tls_verdict,
)

DELIVERY_TIMEOUT = 60.0


class _IMAP4SSLNamed(imaplib.IMAP4_SSL):
    def __init__(self, target: Target) -> None:
        self._sni = target.hostname
        self._tls = target.context
        super().__init__(target.address, target.ports["imaps"], ssl_context=self._tls, timeout=target.timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        raw = socket.create_connection((self.host, self.port), timeout)
        return self._tls.wrap_socket(raw, server_hostname=self._sni)


def _imap_starttls(client: imaplib.IMAP4, target: Target) -> None:
    # imaplib's starttls() has no server_hostname; wrap with our SNI ourselves
    # by setting the host it uses.
    client.host = target.hostname
    client.starttls(ssl_context=target.context)


@contextmanager
def _imap(target: Target, implicit: bool) -> Iterator[imaplib.IMAP4]:
    client: imaplib.IMAP4
    if implicit:
        client = _IMAP4SSLNamed(target)
    else:
        client = imaplib.IMAP4(target.address, target.ports["imap"], timeout=target.timeout)
    with closing(client, client.logout, client.shutdown, (imaplib.IMAP4.error, OSError)):
        yield client


def imap_session(target: Target, *, implicit: bool) -> AbstractContextManager[imaplib.IMAP4]:
    """An IMAP session: TLS from the first byte (imaps) or plain until STARTTLS (imap)."""
    return _imap(target, implicit)


def imap_starttls(client: imaplib.IMAP4, target: Target) -> None:
    """STARTTLS with SNI for the mail hostname."""
    _imap_starttls(client, target)


def pop3_session(target: Target, *, implicit: bool) -> AbstractContextManager[poplib.POP3]:
    """A POP3 session: TLS from the first byte (pop3s) or plain until STLS (pop3)."""
    return _pop3(target, implicit)


def imaps(target: Target) -> AbstractContextManager[imaplib.IMAP4]:
    """An IMAP session over TLS from the first byte, with SNI for the mail hostname."""
    return _imap(target, implicit=True)


def imap_banner(target: Target, *, implicit: bool) -> str:
    with _imap(target, implicit) as client:
        if not client.welcome.startswith(b"* OK"):
            raise ProbeFailed(f"greeting {client.welcome[:60]!r}")
        if not implicit:
            if "STARTTLS" not in client.capabilities:
                raise ProbeFailed("STARTTLS not offered")
            _imap_starttls(client, target)
        return tls_verdict(target, client.sock, "imaps" if implicit else "imap")


def imap_cleartext_login_refused(target: Target) -> str:
    with _imap(target, implicit=False) as client:
        if "LOGINDISABLED" in client.capabilities:
            return "LOGINDISABLED advertised"
        return refused(lambda: client.login(BOGUS_USER, BOGUS_PASSWORD), imaplib.IMAP4.error, "LOGIN")


def read_back_imap(target: Target, tokens: dict[str, float]) -> str:
    creds = read_back_creds(target, tokens)
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    seen: dict[str, float] = {}
    with _imap(target, implicit=True) as client:
        safe_for_password(target, client.sock, "imaps")
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


class _POP3SSLNamed(poplib.POP3_SSL):
    def __init__(self, target: Target) -> None:
        self._sni = target.hostname
        self._tls = target.context
        super().__init__(target.address, target.ports["pop3s"], timeout=target.timeout, context=self._tls)

    def _create_socket(self, timeout: float) -> socket.socket:
        raw = socket.create_connection((self.host, self.port), timeout)
        return self._tls.wrap_socket(raw, server_hostname=self._sni)


@contextmanager
def _pop3(target: Target, implicit: bool) -> Iterator[poplib.POP3]:
    client: poplib.POP3 = (
        _POP3SSLNamed(target) if implicit else poplib.POP3(target.address, target.ports["pop3"], timeout=target.timeout)
    )
    with closing(client, client.quit, client.close, (poplib.error_proto, OSError)):
        yield client


def pop3_banner(target: Target, *, implicit: bool) -> str:
    with _pop3(target, implicit) as client:
        welcome = client.getwelcome()
        if not welcome.startswith(b"+OK"):
            raise ProbeFailed(f"greeting {welcome[:60]!r}")
        if not implicit:
            if "STLS" not in client.capa():
                raise ProbeFailed("STLS not offered")
            client.host = target.hostname
            client.stls(context=target.context)
        return tls_verdict(target, client.sock, "pop3s" if implicit else "pop3")


def pop3_cleartext_login_refused(target: Target) -> str:
    with _pop3(target, implicit=False) as client:
        return refused(
            lambda: (client.user(BOGUS_USER), client.pass_(BOGUS_PASSWORD)), poplib.error_proto, "USER/PASS"
        )


def read_back_pop3(target: Target, tokens: dict[str, float]) -> str:
    """Finds the probe messages over POP3 and deletes them (the mailbox stays clean)."""
    creds = read_back_creds(target, tokens)
    found = 0
    with _pop3(target, implicit=True) as client:
        safe_for_password(target, client.sock, "pop3s")
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


def sieve_banner(target: Target) -> str:
    """ManageSieve (RFC 5804): capability lines end with OK; then STARTTLS."""
    port = target.ports["managesieve"]
    with socket.create_connection((target.address, port), target.timeout) as raw:
        reader = raw.makefile("rb")
        caps = _sieve_response(reader)
        if not any(line.upper().startswith('"STARTTLS"') for line in caps):
            raise ProbeFailed("STARTTLS not offered")
        raw.sendall(b"STARTTLS\r\n")
        _sieve_response(reader)
        with target.context.wrap_socket(raw, server_hostname=target.hostname) as tls:
            verdict = tls_verdict(target, tls, "managesieve")
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
