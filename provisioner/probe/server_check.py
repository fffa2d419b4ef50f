"""`mailprov settings --check`: what really answers at each server of an answer.

For each server: is the port open, which TLS version, is the certificate valid for the name
(chain and name, as a client checks them), and which AUTH mechanisms are offered once TLS is
up (SMTP EHLO, IMAP CAPABILITY, POP3 CAPA). No login is ever attempted. The sessions are those
of `mailprov check` (probe/smtp.py, probe/mailbox.py) with a shorter timeout.
"""

from __future__ import annotations

import imaplib
import poplib
import smtplib
import socket
import ssl
from dataclasses import dataclass

from provisioner.probe.mailbox import imap_session, imap_starttls, pop3_session
from provisioner.probe.session import ProbeFailed, Target
from provisioner.probe.smtp import smtp_session, starttls
from provisioner.probe.tlsinfo import TlsInfo, client_context, inspect

TIMEOUT = 3.0
_SERVICES = {("smtp", "SSL"): "smtps", ("smtp", "STARTTLS"): "submission", ("imap", "SSL"): "imaps",
             ("imap", "STARTTLS"): "imap", ("pop3", "SSL"): "pop3s", ("pop3", "STARTTLS"): "pop3"}
_ERRORS = (OSError, smtplib.SMTPException, imaplib.IMAP4.error, poplib.error_proto, ProbeFailed)


@dataclass(frozen=True)
class ServerCheck:
    protocol: str  # imap | pop3 | smtp
    hostname: str
    port: int
    security: str  # SSL | STARTTLS
    port_open: bool
    tls: str = ""  # TLSv1.3...
    certificate: str = ""  # what the certificate says, or why it is not valid
    certificate_valid: bool = False
    auth: tuple[str, ...] = ()  # mechanisms offered after TLS
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.port_open and self.certificate_valid and not self.error


@dataclass(frozen=True)
class _Seen:
    info: TlsInfo
    auth: tuple[str, ...]


def check_server(protocol: str, hostname: str, port: int, security: str, *,
                 context: ssl.SSLContext | None = None, connect_to: str | None = None,
                 timeout: float = TIMEOUT) -> ServerCheck:
    """Check one server; ``context`` verifies certificates (system CAs unless given),
    ``connect_to`` is the address to connect to instead of ``hostname`` (tests)."""
    address = connect_to or hostname
    head = (protocol, hostname, port, security)
    try:
        socket.create_connection((address, port), timeout).close()
    except OSError as err:
        return ServerCheck(*head, port_open=False, error=_why(err))
    target = _target(head, address, timeout)
    target.context = context or client_context(verify=True)
    try:
        seen = _session(target, protocol, security)
    except ssl.SSLCertVerificationError as err:
        problem = f"not valid for {hostname}: {err.verify_message}"
        target.context = client_context(verify=False)
        try:
            seen = _session(target, protocol, security)
        except _ERRORS as again:
            return ServerCheck(*head, port_open=True, certificate=problem, error=_why(again))
        return ServerCheck(*head, port_open=True, tls=seen.info.protocol, certificate=problem, auth=seen.auth)
    except _ERRORS as err:
        return ServerCheck(*head, port_open=True, error=_why(err))
    problems = seen.info.problems(hostname)
    described = f"valid for {hostname} until {seen.info.not_after:%Y-%m-%d}"
    return ServerCheck(*head, port_open=True, tls=seen.info.protocol,
                       certificate="; ".join(problems) or described, certificate_valid=not problems,
                       auth=seen.auth)


def _target(head: tuple[str, str, int, str], address: str, timeout: float) -> Target:
    protocol, hostname, port, security = head
    service = _SERVICES[(protocol, security)]
    return Target(host=hostname, address=address, hostname=hostname, ports={service: port},
                  verify_tls=True, login=False, timeout=timeout)


def _tls(sock: object) -> TlsInfo:
    if not isinstance(sock, ssl.SSLSocket):
        raise ProbeFailed("no TLS session")
    return inspect(sock)


def _session(target: Target, protocol: str, security: str) -> _Seen:
    implicit = security == "SSL"
    if protocol == "smtp":
        with smtp_session(target, "smtps" if implicit else "submission") as smtp:
            smtp.ehlo()
            if not implicit:
                if not smtp.has_extn("starttls"):
                    raise ProbeFailed("STARTTLS not offered")
                starttls(smtp, target)
                smtp.ehlo()
            return _Seen(_tls(smtp.sock), tuple(smtp.esmtp_features.get("auth", "").upper().split()))
    if protocol == "imap":
        with imap_session(target, implicit=implicit) as imap:
            if not implicit:
                if "STARTTLS" not in imap.capabilities:
                    raise ProbeFailed("STARTTLS not offered")
                imap_starttls(imap, target)
            caps = tuple(str(c) for c in imap.capabilities)
            auth = tuple(c[5:] for c in caps if c.startswith("AUTH="))
            return _Seen(_tls(imap.sock), auth + (("LOGINDISABLED",) if "LOGINDISABLED" in caps else ()))
    with pop3_session(target, implicit=implicit) as pop:
        if not implicit:
            if "STLS" not in pop.capa():
                raise ProbeFailed("STLS not offered")
            pop.host = target.hostname
            pop.stls(context=target.context)
        capa = pop.capa()
        return _Seen(_tls(pop.sock), tuple(capa.get("SASL", [])) + (("USER",) if "USER" in capa else ()))


def _why(err: BaseException) -> str:
    if isinstance(err, TimeoutError | socket.timeout):
        return "no answer in time"
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    if isinstance(err, socket.gaierror):
        return f"name not found ({err.strerror})"
    text = err.args[0] if err.args else err
    text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return text[:100] or type(err).__name__


def describe(check: ServerCheck) -> str:
    """One line for the text report."""
    if not check.port_open:
        return f"port closed: {check.error}"
    parts = [check.tls or "no TLS"]
    if check.certificate:
        parts.append(f"certificate {check.certificate}")
    parts.append(f"AUTH {' '.join(check.auth)}" if check.auth else "no AUTH offered")
    if check.error:
        parts.append(f"error: {check.error}")
    return "; ".join(parts)
