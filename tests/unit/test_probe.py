"""Probe flow without a real mail server: closed ports, a scripted SMTP server."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fake_smtp import HOSTNAME, Script, closed_port, self_signed_context, serve

from provisioner.inventory.ports import PUBLIC_PORTS
from provisioner.inventory.probe_account import Credentials
from provisioner.probe.checks import Target, run_checks
from provisioner.probe.exposure import rspamd_ui_closed
from provisioner.probe.session import ProbeFailed
from provisioner.probe.smtp import FOREIGN_SENDER, relay_refused, smtp_banner, submit

CREDS = Credentials("a@example.org", "sup3r-secret")


def target(creds: Credentials | None, *, login: bool = True, port: int | None = None) -> Target:
    return Target(
        host=HOSTNAME,
        address="127.0.0.1",
        hostname=HOSTNAME,
        ports=dict.fromkeys(PUBLIC_PORTS, port or closed_port()),
        verify_tls=False,
        creds=creds,
        login=login,
    )


def test_closed_ports_fail_with_a_readable_reason() -> None:
    seen = []
    results = run_checks(target(None), seen.append)
    assert seen == results
    banners = [c for c in results if " :" in c.name]
    assert len(banners) == len(PUBLIC_PORTS) - 1  # every service but http (a redirect to https)
    assert all(c.status == "fail" and "connection refused" in c.detail for c in banners)


def test_without_account_login_checks_fail_and_say_why() -> None:
    results = {c.name: c for c in run_checks(target(None))}
    for name in ("AUTH + send (submission)", "delivered, read over IMAP", "read over POP3"):
        assert results[name].status == "fail"
        assert "no account to log in with" in results[name].detail
        assert "--no-login" in results[name].detail


def test_no_login_skips_login_checks_on_purpose() -> None:
    results = {c.name: c for c in run_checks(target(None, login=False))}
    assert results["AUTH + send (smtps)"].status == "skip"
    assert results["read over POP3"].status == "skip"
    assert "--no-login" in results["read over POP3"].detail


def test_password_never_in_results() -> None:
    results = run_checks(target(CREDS))
    assert all("sup3r-secret" not in f"{c.name} {c.detail}" for c in results)


# -- open relay -------------------------------------------------------------------


def test_relay_probe_uses_an_outside_sender_and_passes_on_rcpt_refusal() -> None:
    script = Script()
    with serve(script) as port:
        assert relay_refused(target(None, port=port)).startswith("554")
    assert f"MAIL FROM:<{FOREIGN_SENDER}>" in script.commands
    assert any(c.startswith("RCPT TO:<relay-test@example.net>") for c in script.commands)


def test_relay_probe_refused_at_mail_from_is_inconclusive() -> None:
    script = Script(mail_from="553 5.7.1 Sender address rejected")
    with serve(script) as port, pytest.raises(ProbeFailed, match="inconclusive: MAIL FROM"):
        relay_refused(target(None, port=port))
    assert not any(c.startswith("RCPT") for c in script.commands)


def test_relay_accepted_is_an_open_relay() -> None:
    with serve(Script(rcpt_to="250 2.1.5 Ok")) as port, pytest.raises(ProbeFailed, match="OPEN RELAY"):
        relay_refused(target(None, port=port))


# -- the password goes only to the certificate checked in this run (selfsigned) ----------


def test_password_sent_to_the_certificate_seen_by_the_tls_check(tmp_path: Path) -> None:
    script = Script(rcpt_to="250 2.1.5 Ok", contexts=[self_signed_context(tmp_path)])
    with serve(script) as port:
        t = target(CREDS, port=port)
        smtp_banner(t, "smtps", starttls=False)
        tokens: dict[str, float] = {}
        assert submit(t, "smtps", tokens) == f"accepted for {CREDS.address}"
    assert any(c.startswith("AUTH PLAIN") for c in script.commands)


def test_password_not_sent_when_the_certificate_changed(tmp_path: Path) -> None:
    script = Script(contexts=[self_signed_context(tmp_path), self_signed_context(tmp_path)])
    with serve(script) as port:
        t = target(CREDS, port=port)
        smtp_banner(t, "smtps", starttls=False)
        with pytest.raises(ProbeFailed, match="password not sent: certificate changed"):
            submit(t, "smtps", {})
    assert not any(c.startswith("AUTH") for c in script.commands)


def test_password_not_sent_without_a_checked_certificate(tmp_path: Path) -> None:
    script = Script(contexts=[self_signed_context(tmp_path)])
    with serve(script) as port, pytest.raises(ProbeFailed, match="no certificate to compare"):
        submit(target(CREDS, port=port), "smtps", {})
    assert not any(c.startswith("AUTH") for c in script.commands)


def test_password_not_sent_to_a_certificate_for_another_name(tmp_path: Path) -> None:
    script = Script(contexts=[self_signed_context(tmp_path, "other.example.org")])
    with serve(script) as port:
        t = target(CREDS, port=port)
        t.seen["smtps"] = "pinned-by-an-earlier-probe"
        with pytest.raises(ProbeFailed, match=r"password not sent: certificate names other\.example\.org"):
            submit(t, "smtps", {})
    assert not any(c.startswith("AUTH") for c in script.commands)


# -- internal services ---------------------------------------------------------------


def test_rspamd_ui_probe_passes_when_closed_and_fails_when_it_answers() -> None:
    assert rspamd_ui_closed(target(None), port=closed_port()) == "connection refused"
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        with pytest.raises(ProbeFailed, match=r"must listen on 127\.0\.0\.1 only"):
            rspamd_ui_closed(target(None), port=listener.getsockname()[1])
