"""`mailprov check` over SMTP: banners and STARTTLS, relay and cleartext refusals, sending."""

from __future__ import annotations

import smtplib
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from email.message import EmailMessage

from provisioner.probe.session import (
    BOGUS_PASSWORD,
    BOGUS_USER,
    ProbeFailed,
    Target,
    closing,
    need_creds,
    safe_for_password,
    tls_verdict,
)

# Our HELO name: syntactically valid, owned by nobody.
HELO = "check.mailprov.invalid"
# Domains no mail server of ours serves (RFC 2606). The sender must be one the
# server accepts from anyone, so that the refusal (if any) comes at RCPT.
FOREIGN_SENDER = "relay-test@example.com"
FOREIGN_RCPT = "relay-test@example.net"


@contextmanager
def _smtp(target: Target, service: str) -> Iterator[smtplib.SMTP]:
    port = target.ports[service]
    client: smtplib.SMTP
    if service == "smtps":
        client = _SMTPSNamed(target, port)
    else:
        client = smtplib.SMTP(target.address, port, local_hostname=HELO, timeout=target.timeout)
    with closing(client, client.quit, client.close, (smtplib.SMTPException, OSError)):
        yield client


class _SMTPSNamed(smtplib.SMTP_SSL):
    """SMTP over TLS to an address, with SNI for the mail hostname."""

    def __init__(self, target: Target, port: int) -> None:
        self._sni = target.hostname
        super().__init__(target.address, port, local_hostname=HELO, timeout=target.timeout, context=target.context)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        raw = socket.create_connection((host, port), timeout)
        return self.context.wrap_socket(raw, server_hostname=self._sni)


def _starttls(client: smtplib.SMTP, target: Target) -> None:
    # smtplib.starttls() would use the connect address as SNI; set our name.
    client._host = target.hostname  # type: ignore[attr-defined]
    client.starttls(context=target.context)


def smtp_session(target: Target, service: str) -> AbstractContextManager[smtplib.SMTP]:
    """An SMTP session to ``service`` (smtp, submission: plain until STARTTLS; smtps: TLS)."""
    return _smtp(target, service)


def starttls(client: smtplib.SMTP, target: Target) -> None:
    """STARTTLS with SNI for the mail hostname."""
    _starttls(client, target)


def smtp_banner(target: Target, service: str, *, starttls: bool) -> str:
    with _smtp(target, service) as client:
        code, greeting = client.ehlo()
        if code != 250:
            raise ProbeFailed(f"EHLO answered {code}")
        if starttls:
            if not client.has_extn("starttls"):
                raise ProbeFailed("STARTTLS not offered")
            _starttls(client, target)
        tls = tls_verdict(target, client.sock, service)
        text = greeting.decode(errors="replace").splitlines()[0]
        if target.hostname.lower() not in text.lower():
            raise ProbeFailed(f"EHLO greeting {text!r} does not name {target.hostname}")
        return tls


def relay_refused(target: Target) -> str:
    """From an outside sender to an outside recipient, without AUTH: RCPT must be refused."""
    with _smtp(target, "smtp") as client:
        client.ehlo()
        code, msg = client.mail(FOREIGN_SENDER)
        if code >= 400:
            raise ProbeFailed(
                f"inconclusive: MAIL FROM:<{FOREIGN_SENDER}> refused ({code} {_reply(msg)}), "
                "so relaying was never tried; the server must accept outside senders on port 25"
            )
        code, msg = client.rcpt(FOREIGN_RCPT)
        client.rset()
        if code < 400:
            raise ProbeFailed(f"OPEN RELAY: RCPT TO:<{FOREIGN_RCPT}> accepted ({code})")
        if code < 500:
            raise ProbeFailed(f"inconclusive: RCPT TO:<{FOREIGN_RCPT}> refused only for now ({code} {_reply(msg)})")
        return f"{code} {_reply(msg)}"


def _reply(msg: bytes) -> str:
    return msg.decode(errors="replace")[:60]


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


def submit(target: Target, service: str, tokens: dict[str, float]) -> str:
    creds = need_creds(target)
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
        safe_for_password(target, client.sock, service)
        client.login(creds.address, creds.password)
        client.send_message(msg)
    tokens[token] = time.monotonic()
    return f"accepted for {creds.address}"
