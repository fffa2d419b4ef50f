"""`mailprov check`: talk to each host from outside, like a mail client would.

Every probe is a small function returning a :class:`Check`; they live in
``probe_smtp`` and ``probe_mailbox``, and share ``probe_session`` (the
target, TLS and login guards). Connections go only to the host's published
address and ports (``provisioner.inventory.ports``).
"""

from __future__ import annotations

import imaplib
import poplib
import smtplib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from provisioner.inventory.model import Host, Inventory
from provisioner.inventory.ports import host_ports, probe_address
from provisioner.inventory.probe_account import Credentials
from provisioner.probe.exposure import rspamd_ui_closed
from provisioner.probe.mailbox import (
    imap_banner,
    imap_cleartext_login_refused,
    pop3_banner,
    pop3_cleartext_login_refused,
    read_back_imap,
    read_back_pop3,
    sieve_banner,
)
from provisioner.probe.session import ProbeFailed, Skip, Target
from provisioner.probe.smtp import (
    relay_refused,
    smtp_banner,
    smtp_cleartext_auth_refused,
    submit,
    wrong_password_refused,
)
from provisioner.probe.srs import srs_running
from provisioner.probe.web import autoconfig, https_banner, mta_sts
from provisioner.probe.webmail import webmail_login

__all__ = ["ROUND_TRIP_CHECK", "Check", "Target", "run_checks", "targets"]

ROUND_TRIP_CHECK = "delivered, read over IMAP"


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


def targets(
    inventory: Inventory, creds: Credentials | None, limit: str | None = None, *, login: bool = True
) -> list[Target]:
    return [
        Target(
            host=h.name,
            address=probe_address(h),
            hostname=inventory.hostname_for(h),
            ports=host_ports(h),
            verify_tls=inventory.settings.tls.mode != "selfsigned",
            ca_file=_ca_file(inventory),
            creds=creds,
            login=login,
        )
        for h in inventory.hosts
        if limit is None or _selected(h, limit)
    ]


def _ca_file(inventory: Inventory) -> str | None:
    tls = inventory.settings.tls
    return str(inventory.path / tls.ca_file) if tls.mode == "acme" and tls.ca_file else None


def _selected(host: Host, limit: str) -> bool:
    return host.name in {p.strip() for p in limit.split(",")}


# -- running probes ------------------------------------------------------------


def _timed(host: str, name: str, probe: Callable[[], str]) -> Check:
    start = time.monotonic()
    try:
        detail = probe()
        status = "pass"
    except Skip as skip:
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


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (service down or port not published)"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, ProbeFailed) else f"{type(exc).__name__}: {text}"


def run_checks(
    target: Target, on_check: Callable[[Check], None] | None = None, inventory: Inventory | None = None
) -> list[Check]:
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
    add(f"https :{p['https']} TLS", lambda: https_banner(t))
    if inventory is not None:
        add("MTA-STS policy (https)", lambda: mta_sts(t, inventory))
        add("autoconfig (https)", lambda: autoconfig(t, inventory))
    add("open relay refused (smtp)", lambda: relay_refused(t))
    add("AUTH before TLS refused (submission)", lambda: smtp_cleartext_auth_refused(t))
    add("LOGIN before TLS refused (imap)", lambda: imap_cleartext_login_refused(t))
    add("USER/PASS before TLS refused (pop3)", lambda: pop3_cleartext_login_refused(t))
    add("wrong password refused (smtps)", lambda: wrong_password_refused(t))
    add("rspamd web UI closed from outside", lambda: rspamd_ui_closed(t))
    add("SRS running (smtp)", lambda: srs_running(t))
    tokens: dict[str, float] = {}
    add("AUTH + send (submission)", lambda: submit(t, "submission", tokens))
    add("AUTH + send (smtps)", lambda: submit(t, "smtps", tokens))
    add(ROUND_TRIP_CHECK, lambda: read_back_imap(t, tokens))
    add("read over POP3", lambda: read_back_pop3(t, tokens))
    if inventory is not None and inventory.settings.webmail.enabled:
        add("webmail login (https)", lambda: webmail_login(t, inventory))
    return results
