"""The local resolver (unbound, offline in tests) and internationalised mail (SMTPUTF8).

Nothing accepted with 250 may be bounced later for lack of SMTPUTF8: on trixie
(Dovecot 2.4, mail_utf8_extensions) the whole path delivers it; on bookworm
(Dovecot 2.3, whose LMTP cannot) Postfix refuses it at SMTP time.
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import json
import poplib
import smtplib
import subprocess
import time
from collections.abc import Iterator
from email.utils import formatdate, make_msgid
from typing import Any

import pytest
import yaml
from conftest import LOCALHOST, SCENARIO, TIMEOUT, ManageSieve, Server, playbook, token


def test_unbound_answers_on_loopback_from_local_data(server: Server) -> None:
    """unbound runs, serves loopback only, answers at once and never asks upstream."""
    assert server.host.service("unbound").is_running
    assert server.host.service("unbound").is_enabled
    listening = server.host.run("ss -Hlnu 'sport = :53'").stdout
    assert "127.0.0.1:53" in listening
    assert "0.0.0.0:53" not in listening
    started = time.monotonic()
    # A DNSBL name: answered NXDOMAIN by the offline local zone, not by a timeout.
    probe = server.host.run(
        "python3 -c \"import socket; socket.getaddrinfo('2.0.0.127.zen.spamhaus.org', 25)\" 2>&1; true"
    )
    assert time.monotonic() - started < 5
    assert server.host.run("unbound-checkconf").rc == 0
    assert "Name or service not known" in probe.stdout or probe.stdout == ""


def _utf8_message(subject: str, sender: str, recipient: str) -> bytes:
    return (
        f"From: Jörg Müller <{sender}>\r\nTo: {recipient}\r\nSubject: Grüße {subject}\r\n"
        f"Date: {formatdate()}\r\nMessage-ID: {make_msgid(domain='sender.example')}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
        f"\r\nGrüße aus Köln, {subject}\r\n"
    ).encode()


def test_smtputf8_on_25_delivered_or_refused_never_bounced(server: Server) -> None:
    """trixie: SMTPUTF8 offered and the message reaches the mailbox; bookworm: not offered and refused at MAIL."""
    subject = token("eai")
    sender = "jörg@sender.example"
    with server.smtp(25) as smtp:
        smtp.ehlo()
        offered = smtp.has_extn("smtputf8")
        if server.release == "bookworm":
            assert not offered
            # What a client that sends it anyway gets: refused, never queued.
            smtp.send(f"MAIL FROM:<{sender}> SMTPUTF8\r\n".encode())
            code, reply = smtp.getreply()
            assert 500 <= code < 600, reply
            assert b"SMTPUTF8" in reply
            return
        assert offered
        code, reply = smtp.mail(sender, ["SMTPUTF8", "BODY=8BITMIME"])
        assert code == 250, reply
        code, reply = smtp.rcpt("alice@example.test")
        assert code == 250, reply
        code, reply = smtp.data(_utf8_message(subject, sender, "alice@example.test"))
        assert code == 250, reply
    # Delivered is what counts here, not the spam verdict (INBOX or Junk).
    copy = server.imap_fetch("alice@example.test", subject, wait=30) or server.imap_fetch(
        "alice@example.test", subject, "Junk", wait=1
    )
    assert copy is not None, "accepted SMTPUTF8 mail never reached the mailbox"
    assert "Grüße".encode() in copy
    # And no bounce (5.6.7 "SMTPUTF8 is required, but was not offered") was made.
    log = server.host.run("journalctl -u postfix@- -t postfix/lmtp --since '-2 min' --no-pager").stdout
    assert "SMTPUTF8 is required" not in log


@pytest.mark.parametrize("port", [587, 465])
def test_submission_smtputf8_matches_the_release(server: Server, port: int) -> None:
    """Submission offers SMTPUTF8 exactly where port 25 does."""
    with server.submission(port, "alice@example.test") as smtp:
        smtp.ehlo()
        assert smtp.has_extn("smtputf8") == (server.release != "bookworm")
        if server.release == "bookworm":
            with pytest.raises(smtplib.SMTPException):
                smtp.sendmail("alice@example.test", ["bob@example.test"], b"Subject: x\r\n\r\nx\r\n", ["SMTPUTF8"])


# --- IDN domains: both forms of the name work -----------------------------------------------

IDN_A = "idn@xn--bcher-kva.test"
IDN_U = "idn@bücher.test"
IDN_PASSWORD = "Grüße-Secret-1"  # UTF-8 password


def _plain(user: str, password: str) -> str:
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


@contextlib.contextmanager
def _submission_utf8(server: Server, user: str, password: str = IDN_PASSWORD) -> Iterator[smtplib.SMTP]:
    """AUTH PLAIN with UTF-8 credentials on 465 (smtplib's login() encodes them as ASCII)."""
    smtp = server.smtp(465)
    try:
        smtp.ehlo()
        code, reply = smtp.docmd("AUTH", f"PLAIN {_plain(user, password)}")
        assert code == 235, reply
        yield smtp
    finally:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.quit()


@pytest.mark.parametrize("user", [IDN_A, IDN_U], ids=["a-label", "u-label"])
def test_idn_login_with_utf8_password(server: Server, user: str) -> None:
    """IMAP, POP3, ManageSieve and submission: either form of the domain, a UTF-8 password."""
    imap = imaplib.IMAP4_SSL(LOCALHOST, server.port(993), ssl_context=server.tls, timeout=TIMEOUT)
    typ, _ = imap.authenticate("PLAIN", lambda _: f"\0{user}\0{IDN_PASSWORD}".encode())
    assert typ == "OK"
    imap.logout()
    pop = poplib.POP3_SSL(LOCALHOST, server.port(995), context=server.tls, timeout=TIMEOUT)
    assert pop._shortcmd(f"AUTH PLAIN {_plain(user, IDN_PASSWORD)}").startswith(b"+OK")
    pop.quit()
    sieve = ManageSieve(server)
    try:
        sieve.starttls()
        sieve.authenticate(user, IDN_PASSWORD)
    finally:
        sieve.close()
    with _submission_utf8(server, user):
        pass


@pytest.mark.parametrize("sender", [IDN_A, IDN_U], ids=["a-label", "u-label"])
def test_idn_rcpt_and_sender_both_forms(server: Server, sender: str) -> None:
    """Port 25 takes RCPT to the U-label address (trixie, SMTPUTF8; bookworm refuses it at
    once: a U-label is no legal address without SMTPUTF8); a U-label login may send as either
    form."""
    subject = token("idn")
    utf8 = server.release != "bookworm"
    with server.smtp(25) as smtp:
        smtp.ehlo()
        smtp.send(f"MAIL FROM:<someone@sender.example>{' SMTPUTF8' if utf8 else ''}\r\n".encode())
        assert smtp.getreply()[0] == 250
        smtp.send(f"RCPT TO:<{IDN_U}>\r\n".encode())
        code, reply = smtp.getreply()
        assert code == 250 if utf8 else 500 <= code < 600, reply
        smtp.rset()
    with _submission_utf8(server, IDN_U) as smtp:
        options = ["SMTPUTF8"] if utf8 and not sender.isascii() else []
        body = f"From: {sender}\r\nTo: {IDN_A}\r\nSubject: {subject}\r\n\r\nidn\r\n".encode()
        if not sender.isascii() and not utf8:
            return  # bookworm: no U-label on the wire without SMTPUTF8 (the login above worked)
        assert smtp.sendmail(sender, [IDN_A], body, options) == {}


# --- Non-ASCII local parts: delivered and logged in on trixie, refused on bookworm ------------

EAI_USER = "jörg@example.test"
EAI_PASSWORD = "Jörg-Secret-1"
EAI_HASH = (
    "{SHA512-CRYPT}$6$mailproveai01$"
    "jufESI9wLdIzevcAWoCtarzc5l2NWTcGaI8RlNhLwHX2sE5gG/TclI0FnZFKkXyEzn4n.ZYr2Xtrx.VL5X1Yn/"
)


@pytest.fixture(scope="module")
def eai_mailbox(servers: list[Server]) -> Iterator[dict[str, subprocess.CompletedProcess[str]]]:
    """accounts.yml with one more mailbox, jörg@example.test: bookworm in check mode (refused,
    nothing changes), trixie for real (restored afterwards)."""
    inventory = yaml.safe_load((SCENARIO / "group_vars" / "mailservers" / "accounts.yml").read_text())
    domains: list[dict[str, Any]] = inventory["mail_domains"]
    example = next(domain for domain in domains if domain["name"] == "example.test")
    example["mailboxes"].append({"address": EAI_USER, "password": EAI_HASH})
    extra = json.dumps({"mail_domains": domains})
    by_release = {s.release: s.container for s in servers}
    results = {
        "bookworm": playbook("accounts.yml", "--check", "--limit", by_release["bookworm"], "-e", extra),
        "trixie": playbook("accounts.yml", "--limit", by_release["trixie"], "-e", extra),
    }
    yield results
    restored = playbook("accounts.yml", "--limit", by_release["trixie"])
    assert restored.returncode == 0, restored.stdout[-3000:]


def test_non_ascii_mailbox(server: Server, eai_mailbox: dict[str, subprocess.CompletedProcess[str]]) -> None:
    """trixie: SMTPUTF8 mail on 25 to jörg@ arrives, jörg logs in with a UTF-8 password;
    bookworm: the role refuses the mailbox, naming the release."""
    result = eai_mailbox[server.release]
    if server.release == "bookworm":
        assert result.returncode != 0
        assert "jörg@example.test: non-ASCII local parts" in result.stdout
        assert "(bookworm)" in result.stdout
        return
    assert result.returncode == 0, result.stdout[-3000:]
    subject = token("eai-mailbox")
    with server.smtp(25) as smtp:
        assert smtp.sendmail("müller@sender.example", [EAI_USER], _utf8_message(subject, "müller@sender.example",
                             EAI_USER), ["SMTPUTF8", "BODY=8BITMIME"]) == {}  # fmt: skip
    imap = imaplib.IMAP4_SSL(LOCALHOST, server.port(993), ssl_context=server.tls, timeout=TIMEOUT)
    try:
        typ, _ = imap.authenticate("PLAIN", lambda _: f"\0{EAI_USER}\0{EAI_PASSWORD}".encode())
        assert typ == "OK"
    finally:
        imap.logout()
    with _submission_utf8(server, EAI_USER, EAI_PASSWORD):
        pass


def test_outbound_tls_is_dane_with_dnssec_lookups(server: Server) -> None:
    """Direct delivery: DANE where TLSA records are signed, opportunistic TLS elsewhere."""
    settings = dict(
        line.split(" = ", 1)
        for line in server.host.check_output("postconf smtp_tls_security_level smtp_dns_support_level").splitlines()
    )
    assert settings == {"smtp_tls_security_level": "dane", "smtp_dns_support_level": "dnssec"}
