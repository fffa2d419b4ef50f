"""What every probe of `mailprov check` shares: the target, outcomes, TLS and login guards.

Credentials are never sent before TLS: the "AUTH without TLS" probes use a
made-up account and only expect a refusal. Before the real password goes
out, the session's certificate must cover the mail hostname and, in
selfsigned mode (no chain to verify), be the very certificate the TLS probe
of the same service saw earlier in the run (SHA-256 pin).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from provisioner.inventory.probe_account import Credentials
from provisioner.probe.tlsinfo import TlsInfo, client_context, inspect

TIMEOUT = 10.0
# What a host serves to the outside, by the rows `check` gives it: port 25 (smtp; srs where
# the host is an mx), submission (587/465), imap (IMAP, POP3, ManageSieve), web (443).
SERVICES: frozenset[str] = frozenset({"smtp", "srs", "submission", "imap", "web"})
BOGUS_USER, BOGUS_PASSWORD = "nobody@mailprov.invalid", "not-a-password"
C = TypeVar("C")


class ProbeFailed(Exception):
    """A probe's expectation was not met; the message says what was seen."""


class Skip(Exception):
    """The probe was not run, on purpose (the message says why)."""


@dataclass
class Target:
    host: str
    address: str
    hostname: str  # the name on the certificate, in banners
    ports: dict[str, int]
    verify_tls: bool
    ca_file: str | None = None  # trusted besides the system's roots (mail_tls.ca_file, private CAs)
    creds: Credentials | None = field(default=None, repr=False)
    # False (`check --no-login`): the login checks are skipped on purpose.
    login: bool = True
    timeout: float = TIMEOUT  # each connection and each reply
    services: frozenset[str] = SERVICES  # a complete server serves all; a fleet's host some
    # A fleet's targets share one dict of the messages sent in the run (token -> when): a proxy
    # reads back what a submission host sent. None: each run_checks keeps its own.
    sent: dict[str, float] | None = field(default=None, repr=False)
    # Service -> SHA-256 of the certificate its TLS probe accepted in this run.
    seen: dict[str, str] = field(default_factory=dict, repr=False)
    context: ssl.SSLContext = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.context = client_context(self.verify_tls, self.ca_file)


def tls_info(target: Target, sock: object) -> TlsInfo:
    """The session's TLS facts; ProbeFailed unless it covers the mail hostname, unexpired."""
    if not isinstance(sock, ssl.SSLSocket):
        raise ProbeFailed("no TLS session")
    info = inspect(sock)
    problems = info.problems(target.hostname)
    if problems:
        raise ProbeFailed("; ".join(problems))
    return info


def tls_verdict(target: Target, sock: object, service: str) -> str:
    """A TLS probe: judge the session and remember its certificate for the logins."""
    info = tls_info(target, sock)
    target.seen[service] = info.sha256
    return info.describe()


def safe_for_password(target: Target, sock: object, service: str) -> None:
    """Refuse to send the real password unless this session is the server we checked.

    The chain is verified by the TLS context unless the mode is selfsigned;
    then the certificate must be the one the TLS probe of ``service`` saw.
    """
    try:
        info = tls_info(target, sock)
    except ProbeFailed as exc:
        raise ProbeFailed(f"password not sent: {exc}") from None
    if target.verify_tls:
        return
    pinned = target.seen.get(service)
    if pinned is None:
        raise ProbeFailed(
            f"password not sent: the {service} TLS check did not pass, "
            "so there is no certificate to compare this one with"
        )
    if info.sha256 != pinned:
        raise ProbeFailed(
            f"password not sent: certificate changed since the {service} TLS check "
            f"(sha256 {info.sha256[:16]}..., was {pinned[:16]}...)"
        )


def refused(attempt: Callable[[], object], error: type[Exception], what: str) -> str:
    """A made-up login before TLS: the server must say no."""
    try:
        attempt()
    except error as exc:
        return f"refused: {reply_text(exc)}"
    raise ProbeFailed(f"{what} accepted without TLS")


def read_back_creds(target: Target, tokens: dict[str, float]) -> Credentials:
    creds = need_creds(target)
    if not tokens:
        raise ProbeFailed("nothing was sent")
    return creds


def need_creds(target: Target) -> Credentials:
    if not target.login:
        raise Skip("--no-login: not tested")
    if target.creds is None:
        raise ProbeFailed(
            "no account to log in with: pass --user ADDRESS --password-stdin, create a probe "
            "account (`mailprov probe-account create`), or skip with --no-login"
        )
    return target.creds


def reply_text(exc: BaseException, limit: int = 60) -> str:
    """A server's reply carried by an exception, as short readable text."""
    arg = exc.args[0] if exc.args else exc
    raw = arg.decode(errors="replace") if isinstance(arg, bytes) else str(arg)
    return raw[:limit]


@contextmanager
def closing(client: C, polite: Callable[[], object], rude: Callable[[], object],
            errors: tuple[type[Exception], ...]) -> Iterator[C]:
    """Yield ``client``; then end the session politely (QUIT/LOGOUT), else just close."""
    try:
        yield client
    finally:
        try:
            polite()
        except errors:
            rude()
