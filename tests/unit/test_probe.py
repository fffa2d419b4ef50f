"""Probe flow without a mail server: closed 127.0.0.1 ports fail cleanly, logins skip."""

from __future__ import annotations

import socket

from provisioner.ports import PUBLIC_PORTS
from provisioner.probe import Target, run_checks
from provisioner.probe_account import Credentials


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: connecting is refused


def target(creds: Credentials | None) -> Target:
    port = closed_port()
    return Target(
        host="mail.example.org",
        address="127.0.0.1",
        hostname="mail.example.org",
        ports=dict.fromkeys(PUBLIC_PORTS, port),
        verify_tls=False,
        creds=creds,
    )


def test_closed_ports_fail_with_a_readable_reason() -> None:
    seen = []
    results = run_checks(target(None), seen.append)
    assert seen == results
    banners = [c for c in results if " :" in c.name]
    assert len(banners) == len(PUBLIC_PORTS)
    assert all(c.status == "fail" and "connection refused" in c.detail for c in banners)


def test_without_account_login_checks_skip() -> None:
    results = {c.name: c for c in run_checks(target(None))}
    assert results["AUTH + send (submission)"].status == "skip"
    assert results["delivered, read over IMAP"].status == "skip"
    assert "--user" in results["read over POP3"].detail


def test_password_never_in_results() -> None:
    results = run_checks(target(Credentials("a@example.org", "sup3r-secret")))
    assert all("sup3r-secret" not in f"{c.name} {c.detail}" for c in results)
