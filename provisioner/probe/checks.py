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
from provisioner.probe.session import SERVICES, ProbeFailed, Skip, Target
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
    """The hosts to probe; in a fleet those that submit come first, so that the proxies read
    back what they sent (the round trip crosses hosts)."""
    hosts = [h for h in inventory.hosts if limit is None or _selected(h, limit, inventory.is_fleet)]
    sent: dict[str, float] | None = None
    if inventory.is_fleet:
        hosts.sort(key=lambda h: "submission" not in h.functions)
        sent = {}
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
            services=services_of(inventory, h),
            sent=sent,
        )
        for h in hosts
    ]


def services_of(inventory: Inventory, host: Host) -> frozenset[str]:
    """What `check` probes on a host: everything on a complete server; in a fleet what its
    functions serve (nothing from outside on a pure mailbox back end: SSH rows instead)."""
    if not inventory.is_fleet:
        return SERVICES
    functions = set(host.functions)
    served = {"smtp"} if functions & {"mx", "backup_mx"} else set()
    served |= {"srs"} if "mx" in functions else set()
    served |= {"submission"} & functions
    served |= {"imap"} if "proxy" in functions else set()
    served |= {"web"} if host.faces_internet else set()
    return frozenset(served)


def _ca_file(inventory: Inventory) -> str | None:
    tls = inventory.settings.tls
    return str(inventory.path / tls.ca_file) if tls.mode == "acme" and tls.ca_file else None


def _selected(host: Host, limit: str, fleet: bool) -> bool:
    """--limit names hosts, or in a fleet function groups too (`--limit proxy`)."""
    wanted = {p.strip() for p in limit.split(",")}
    return host.name in wanted or (fleet and bool(wanted & set(host.functions)))


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
    """Every probe of what the host serves (all of them on a complete server), in a fixed order."""
    results: list[Check] = []
    serves = target.services

    def add(name: str, probe: Callable[[], str], service: str | None = None) -> None:
        if service is not None and service not in serves:
            return
        check = _timed(target.host, name, probe)
        results.append(check)
        if on_check is not None:
            on_check(check)

    t, p = target, target.ports
    add(f"smtp :{p['smtp']} STARTTLS", lambda: smtp_banner(t, "smtp", starttls=True), "smtp")
    add(f"submission :{p['submission']} STARTTLS", lambda: smtp_banner(t, "submission", starttls=True), "submission")
    add(f"smtps :{p['smtps']} TLS", lambda: smtp_banner(t, "smtps", starttls=False), "submission")
    add(f"imap :{p['imap']} STARTTLS", lambda: imap_banner(t, implicit=False), "imap")
    add(f"imaps :{p['imaps']} TLS", lambda: imap_banner(t, implicit=True), "imap")
    add(f"pop3 :{p['pop3']} STLS", lambda: pop3_banner(t, implicit=False), "imap")
    add(f"pop3s :{p['pop3s']} TLS", lambda: pop3_banner(t, implicit=True), "imap")
    add(f"managesieve :{p['managesieve']} STARTTLS", lambda: sieve_banner(t), "imap")
    add(f"https :{p['https']} TLS", lambda: https_banner(t), "web")
    if inventory is not None:
        add("MTA-STS policy (https)", lambda: mta_sts(t, inventory), "web")
        add("autoconfig (https)", lambda: autoconfig(t, inventory), "web")
    add("open relay refused (smtp)", lambda: relay_refused(t), "smtp")
    add("AUTH before TLS refused (submission)", lambda: smtp_cleartext_auth_refused(t), "submission")
    add("LOGIN before TLS refused (imap)", lambda: imap_cleartext_login_refused(t), "imap")
    add("USER/PASS before TLS refused (pop3)", lambda: pop3_cleartext_login_refused(t), "imap")
    add("wrong password refused (smtps)", lambda: wrong_password_refused(t), "submission")
    if serves:  # wherever anything answers from outside, rspamd's UI must not
        add("rspamd web UI closed from outside", lambda: rspamd_ui_closed(t))
    add("SRS running (smtp)", lambda: srs_running(t), "srs")
    sent: dict[str, float] = {} if target.sent is None else target.sent
    add("AUTH + send (submission)", lambda: submit(t, "submission", sent), "submission")
    add("AUTH + send (smtps)", lambda: submit(t, "smtps", sent), "submission")
    add(ROUND_TRIP_CHECK, lambda: read_back_imap(t, _sent_here(t, sent)), "imap")
    add("read over POP3", lambda: read_back_pop3(t, _sent_here(t, sent)), "imap")
    if inventory is not None and inventory.settings.webmail.enabled:
        add("webmail login (https)", lambda: webmail_login(t, inventory), "web")
    return results


def _sent_here(target: Target, tokens: dict[str, float]) -> dict[str, float]:
    """The messages to read back; a proxy that sends nothing itself reads what a submission
    host sent in this run, and has nothing to read when none was checked (`--limit`)."""
    if not tokens and "submission" not in target.services and target.login and target.creds is not None:
        raise Skip("nothing sent in this run: no submission host checked (see --limit)")
    return tokens
