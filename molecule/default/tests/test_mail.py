"""Real client sessions from the host over the published 127.0.0.1 ports."""

from __future__ import annotations

import base64
import imaplib
import json
import poplib
import re
import smtplib
import subprocess
import time

import pytest
from conftest import LOCALHOST, PASSWORDS, TIMEOUT, ManageSieve, Server, make_message, token

# (recipient as sent, mailbox that must receive it)
DELIVERIES = [
    pytest.param("alice@example.test", "alice@example.test", id="mailbox"),
    pytest.param("team@example.test", "bob@example.test", id="alias"),
    pytest.param("no-such-user@example.test", "carol@example.test", id="catch-all"),
    pytest.param("dave@other-alias.test", "dave@other.test", id="alias-domain"),
]


@pytest.mark.parametrize("port", [587, 465])
@pytest.mark.parametrize(("recipient", "owner"), DELIVERIES)
def test_submit_and_read_back(server: Server, port: int, recipient: str, owner: str) -> None:
    """AUTH on 587 (after STARTTLS) and 465; read back over IMAPS and POP3S."""
    subject = token(f"deliver-{port}")
    with server.submission(port, "alice@example.test") as smtp:
        refused = smtp.send_message(make_message("alice@example.test", [recipient], subject))
    assert refused == {}
    imap_copy = server.imap_fetch(owner, subject)
    assert imap_copy is not None, f"{recipient} -> {owner}: not delivered"
    assert f"Subject: {subject}".encode() in imap_copy
    pop_copy = server.pop3_fetch(owner, subject)
    assert pop_copy is not None
    assert f"Subject: {subject}".encode() in pop_copy


def test_mailboxes_and_aliases_win_over_catch_all(server: Server) -> None:
    """A mailbox, an alias, a mailbox alias and alias-domain addresses: the catch-all gets none of them."""
    subject = token("no-catch-all")
    recipients = [
        "bob@example.test",  # mailbox
        "team@example.test",  # alias (delivers to bob and dave)
        "alice.alias@example.test",  # mailbox alias
        "alice@alias.test",  # mailbox in the alias domain
        "team@alias.test",  # alias in the alias domain
    ]
    with server.submission(465, "alice@example.test") as smtp:
        assert smtp.send_message(make_message("alice@example.test", recipients, subject)) == {}
    assert server.imap_fetch("bob@example.test", subject) is not None
    assert server.imap_fetch("alice@example.test", subject) is not None
    assert server.imap_fetch("carol@example.test", subject, wait=3) is None


def test_catch_all_of_alias_domain(server: Server) -> None:
    """unknown@alias.test reaches the catch-all of example.test (alias.test is its alias domain)."""
    subject = token("alias-domain-catch-all")
    with server.submission(587, "alice@example.test") as smtp:
        assert smtp.send_message(make_message("alice@example.test", ["no-such-user@alias.test"], subject)) == {}
    assert server.imap_fetch("carol@example.test", subject) is not None


def test_alias_with_several_and_external_targets(server: Server) -> None:
    subject = token("alias-many")
    with server.submission(587, "alice@example.test") as smtp:
        smtp.send_message(make_message("alice@example.test", ["team@example.test"], subject))
    assert server.imap_fetch("bob@example.test", subject) is not None
    assert server.imap_fetch("dave@other.test", subject) is not None
    # The external target is kept in the queue (tests defer smtp delivery).
    deadline = time.monotonic() + 30
    while True:
        queue = [json.loads(line) for line in server.host.check_output("postqueue -j").splitlines() if line]
        recipients = [r["address"] for entry in queue for r in entry["recipients"]]
        if "someone@external.test" in recipients:
            break
        assert time.monotonic() < deadline, f"external target not queued: {queue}"
        time.sleep(1)


def test_inbound_on_port_25(server: Server) -> None:
    subject = token("inbound-25")
    smtp = server.smtp(25)
    try:
        smtp.starttls(context=server.tls)
        smtp.send_message(make_message("someone@external.test", ["dave@other.test"], subject))
    finally:
        smtp.quit()
    assert server.imap_fetch("dave@other.test", subject) is not None


def test_special_use_folders(server: Server) -> None:
    conn = server.imaps("carol@example.test")
    try:
        _, listing = conn.list()
    finally:
        conn.logout()
    text = b"\n".join(line for line in listing if isinstance(line, bytes)).decode()
    for flag in ("\\Sent", "\\Drafts", "\\Trash", "\\Junk"):
        assert flag in text, text


# --- Sieve over ManageSieve -------------------------------------------------


SIEVE_SCRIPT = """require ["fileinto", "mailbox"];
if header :contains "subject" "sieve-filter" {
  fileinto :create "Filtered";
  stop;
}
"""


def test_sieve_rule_files_into_folder(server: Server) -> None:
    sieve = ManageSieve(server)
    try:
        sieve.starttls()
        sieve.authenticate("bob@example.test", PASSWORDS["bob@example.test"])
        sieve.putscript("mailprov-test", SIEVE_SCRIPT)
    finally:
        sieve.close()
    subject = token("sieve-filter")
    with server.submission(587, "alice@example.test") as smtp:
        smtp.send_message(make_message("alice@example.test", ["bob@example.test"], subject))
    assert server.imap_fetch("bob@example.test", subject, mailbox="Filtered") is not None
    assert server.imap_fetch("bob@example.test", subject, mailbox="INBOX", wait=2) is None


def test_managesieve_refuses_auth_before_starttls(server: Server) -> None:
    sieve = ManageSieve(server)
    try:
        assert not any(line.startswith(b'"SASL" "P') for line in sieve.capabilities)
        with pytest.raises(RuntimeError):
            sieve.authenticate("bob@example.test", PASSWORDS["bob@example.test"])
    finally:
        sieve.sock.close()


# --- negative cases ------------------------------------------------------------


def test_no_open_relay_on_25(server: Server) -> None:
    smtp = server.smtp(25)
    try:
        smtp.ehlo()
        code, _ = smtp.mail("someone@external.test")
        assert code == 250
        code, reply = smtp.rcpt("victim@elsewhere.test")
        assert code in (454, 554), reply
        assert b"Relay access denied" in reply
    finally:
        smtp.quit()


def test_no_relay_after_starttls_without_auth(server: Server) -> None:
    smtp = server.smtp(25)
    try:
        smtp.starttls(context=server.tls)
        smtp.ehlo()
        smtp.mail("someone@external.test")
        code, _ = smtp.rcpt("victim@elsewhere.test")
        assert code >= 400
    finally:
        smtp.quit()


def test_submission_refuses_auth_before_starttls(server: Server) -> None:
    smtp = server.smtp(587)
    try:
        smtp.ehlo()
        assert not smtp.has_extn("auth")
        blob = base64.b64encode(b"\0alice@example.test\0" + PASSWORDS["alice@example.test"].encode()).decode()
        code, _ = smtp.docmd("AUTH", f"PLAIN {blob}")
        assert code >= 500
        # Nor may mail be submitted without it.
        smtp.mail("alice@example.test")
        code, _ = smtp.rcpt("bob@example.test")
        assert code >= 500
    finally:
        smtp.close()


def test_imap_refuses_login_before_starttls(server: Server) -> None:
    conn = imaplib.IMAP4(LOCALHOST, server.port(143), timeout=TIMEOUT)
    try:
        assert "LOGINDISABLED" in conn.capabilities
        with pytest.raises(imaplib.IMAP4.error):
            conn.login("alice@example.test", PASSWORDS["alice@example.test"])
    finally:
        conn.shutdown()


def test_imap_login_after_starttls(server: Server) -> None:
    conn = imaplib.IMAP4(LOCALHOST, server.port(143), timeout=TIMEOUT)
    try:
        conn.starttls(ssl_context=server.tls)
        typ, _ = conn.login("alice@example.test", PASSWORDS["alice@example.test"])
        assert typ == "OK"
    finally:
        conn.logout()


def test_pop3_refuses_login_before_starttls(server: Server) -> None:
    conn = poplib.POP3(LOCALHOST, server.port(110), timeout=TIMEOUT)
    try:
        with pytest.raises(poplib.error_proto):
            conn.user("alice@example.test")
            conn.pass_(PASSWORDS["alice@example.test"])
    finally:
        conn.close()


def test_pop3_login_after_stls(server: Server) -> None:
    conn = poplib.POP3(LOCALHOST, server.port(110), timeout=TIMEOUT)
    try:
        conn.stls(context=server.tls)
        conn.user("alice@example.test")
        assert conn.pass_(PASSWORDS["alice@example.test"]).startswith(b"+OK")
        conn.quit()
    finally:
        conn.close()


def test_wrong_password_refused(server: Server) -> None:
    with pytest.raises(imaplib.IMAP4.error):
        server.imaps("alice@example.test", "wrong-password")
    with pytest.raises(poplib.error_proto):
        server.pop3s("alice@example.test", "wrong-password")
    for port in (465, 587):
        with (
            pytest.raises(smtplib.SMTPAuthenticationError),
            server.submission(port, "alice@example.test", "wrong-password"),
        ):
            pass


def test_may_send_as_own_alias(server: Server) -> None:
    subject = token("own-alias")
    with server.submission(587, "alice@example.test") as smtp:
        assert smtp.send_message(make_message("alice.alias@example.test", ["bob@example.test"], subject)) == {}
    with server.submission(465, "alice@example.test") as smtp:
        assert smtp.send_message(make_message("alice@alias.test", ["bob@example.test"], subject)) == {}


@pytest.mark.parametrize("port", [587, 465])
@pytest.mark.parametrize("sender", ["bob@example.test", "dave@other.test", "someone@external.test"])
def test_may_not_send_as_someone_else(server: Server, port: int, sender: str) -> None:
    with (
        server.submission(port, "alice@example.test") as smtp,
        pytest.raises((smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused)) as excinfo,
    ):
        smtp.send_message(make_message(sender, ["bob@example.test"], token("spoof")))
    assert "553" in str(excinfo.value) or "not owned" in str(excinfo.value)


def test_port_25_accepts_forwarded_mail_with_local_sender(server: Server) -> None:
    """A mailing list or forwarder sends back mail with our own envelope sender: not refused on 25."""
    assert server.host.check_output("postconf -h smtpd_sender_restrictions") == "reject_non_fqdn_sender"
    smtp = server.smtp(25)
    try:
        smtp.ehlo()
        code, reply = smtp.mail("alice@example.test")
        assert code == 250, reply
        code, reply = smtp.rcpt("dave@other.test")
        assert code == 250, reply
        smtp.rset()
    finally:
        smtp.quit()


# Run inside the container: a client on loopback (Dovecot calls it "secured").
LOOPBACK_IMAP = """
import imaplib, sys
conn = imaplib.IMAP4("127.0.0.1", 143)
print("LOGINDISABLED" in conn.capabilities)
print(conn.login(sys.argv[1], sys.argv[2])[0])
conn.logout()
"""


def test_dovecot_lets_loopback_clients_log_in_without_tls(server: Server) -> None:
    """What the dovecot.conf comment says: loopback counts as secured (remote clients: see above)."""
    user = "alice@example.test"
    result = subprocess.run(
        ["podman", "exec", server.container, "python3", "-c", LOOPBACK_IMAP, user, PASSWORDS[user]],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "OK"]
    conf = server.host.file("/etc/dovecot/dovecot.conf").content_string
    assert "treats a client on the server's own IP address or loopback as secured" in conf


@pytest.mark.parametrize("recipient", ["nobody@other.test", "nobody@other-alias.test"])
def test_unknown_local_user_refused_at_rcpt(server: Server, recipient: str) -> None:
    smtp = server.smtp(25)
    try:
        smtp.ehlo()
        smtp.mail("someone@external.test")
        code, reply = smtp.rcpt(recipient)
        assert code == 550, reply
    finally:
        smtp.quit()


def test_over_quota_refused_at_rcpt(server: Server) -> None:
    """A message bigger than the 1M quota is refused while the client still holds it."""
    smtp = server.smtp(25)
    try:
        smtp.ehlo()
        assert smtp.has_extn("size")
        code, _ = smtp.mail("someone@external.test", ["SIZE=2000000"])
        assert code == 250
        code, reply = smtp.rcpt("quota@example.test")
        assert code in (452, 552), reply
    finally:
        smtp.quit()


def test_over_quota_message_bounces_not_lost(server: Server) -> None:
    """Accepted locally (no SIZE check), refused by Dovecot: the sender gets a bounce."""
    subject = token("over-quota")
    body = ("x" * 76 + "\n") * 28000  # ~2 MB
    message = make_message("alice@example.test", ["quota@example.test"], subject, body)
    # The message goes in through `podman exec`, never over the network.
    subprocess.run(
        ["podman", "exec", "-i", server.container, "sendmail", "-f", "alice@example.test", "-t"],
        input=message.as_bytes(),
        check=True,
        timeout=60,
    )
    deadline = time.monotonic() + 90
    while True:
        bounce = server.imap_fetch("alice@example.test", subject, wait=0)
        if bounce is not None and re.search(rb"(?i)quota|mailbox is full", bounce):
            break
        queue = server.host.check_output("postqueue -p")
        if "quota@example.test" in queue and re.search(r"(?i)quota|full", queue):
            break
        assert time.monotonic() < deadline, "over-quota message neither bounced nor queued"
        time.sleep(2)
    assert server.imap_fetch("quota@example.test", subject, wait=0) is None
