"""rspamd on both releases, through real SMTP/IMAP clients: DKIM signatures that verify
(dkimpy) against the key `mailprov dns` prints, spam refused at SMTP time or filed into
Junk, forged signatures failing, the server's own users never judged, everything rspamd
runs on loopback only.

rspamd's resolver is a stub started here inside each container (127.0.0.1:5300, the
scenario's group_vars point rspamd at it) serving the TXT records `mailprov dns` printed:
DKIM keys are looked up the way a receiver on the Internet would, and no lookup leaves
the container. Scores between the thresholds come from the header X-Mailprov-Test, which
a Lua rule of the scenario's group_vars only scores (never on a real server)."""

from __future__ import annotations

import email
import email.policy
import email.utils
import json
import shutil
import smtplib
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dkim
import pytest
from conftest import Server, dkim_dnsfunc, mailprov_dns, make_message, token
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
STUB = Path(__file__).with_name("mailprov_dns_stub.py")
STUB_PORT = 5300
OUTSIDE_SENDER = "someone@sender.test"


@pytest.fixture(scope="module")
def records(server: Server) -> Iterator[list[dict[str, Any]]]:
    """What `mailprov dns` prints for this container, served to rspamd by the stub."""
    found = mailprov_dns(server.container)
    assert any(r["name"] == "mail._domainkey.example.test." for r in found), found
    folder = Path(tempfile.mkdtemp(prefix="mailprov-dns-records-"))
    try:
        (folder / "records.json").write_text(json.dumps(found), encoding="utf-8")
        for name, source in (("records.json", folder / "records.json"), ("stub.py", STUB)):
            subprocess.run(["podman", "cp", str(source), f"{server.container}:/run/mailprov-test-dns-{name}"],
                           check=True, timeout=60)  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    server.host.run_expect(
        [0],
        "systemd-run --unit=mailprov-test-dns --collect python3 /run/mailprov-test-dns-stub.py "
        f"/run/mailprov-test-dns-records.json {STUB_PORT}",
    )
    try:
        wait = f"until ss -lnu | grep -q 127.0.0.1:{STUB_PORT}; do sleep 0.2; done"
        server.host.run_expect([0], f"timeout 30 sh -c '{wait}'")
        yield found
    finally:
        server.host.run("systemctl stop mailprov-test-dns")


def _send(server: Server, port: int, sender: str, recipient: str, raw: bytes, user: str | None = None) -> None:
    if user is not None:
        with server.submission(port, user) as session:
            session.sendmail(sender, [recipient], raw)
        return
    session = server.smtp(port)
    try:
        session.sendmail(sender, [recipient], raw)
    finally:
        session.quit()


def _message(sender: str, recipient: str, label: str, body: str = "", **headers: str) -> tuple[str, bytes]:
    tag = token(label)
    msg = make_message(sender, [recipient], tag, body or f"mailprov rspamd test {tag}\n")
    msg["Date"] = email.utils.formatdate(localtime=False)
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    return tag, msg.as_bytes(policy=email.policy.SMTP)


def _header(raw: bytes, name: str) -> list[str]:
    parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
    return [" ".join(str(v).split()) for v in parsed.get_all(name, [])]


def _dkim_ok(raw: bytes, records: list[dict[str, Any]]) -> bool:
    return bool(dkim.verify(raw, dnsfunc=dkim_dnsfunc(records)))


@pytest.mark.parametrize("sender", ["alice@example.test", "alice@alias.test"])
def test_authenticated_mail_is_signed_with_the_published_key(server: Server, records: list[dict[str, Any]],
                                                             sender: str) -> None:  # fmt: skip
    tag, raw = _message(sender, "bob@example.test", "dkim")
    _send(server, 587, sender, "bob@example.test", raw, user="alice@example.test")
    delivered = server.imap_fetch("bob@example.test", tag)
    assert delivered is not None
    signature = _header(delivered, "DKIM-Signature")
    assert len(signature) == 1, signature
    assert f"d={sender.split('@')[1]};" in signature[0] and "s=mail;" in signature[0]
    assert _dkim_ok(delivered, records)
    # The key is what makes it verify: another domain's published key does not.
    other = [dict(r, value=r["value"]) for r in records]
    for record in other:
        if record["name"].startswith("mail._domainkey."):
            record["value"] = next(r["value"] for r in records if r["name"] == "mail._domainkey.other.test.")
    assert not _dkim_ok(delivered, other)


def test_gtube_on_port_25_is_refused_at_smtp_time(server: Server, records: list[dict[str, Any]]) -> None:
    _, raw = _message(OUTSIDE_SENDER, "bob@example.test", "gtube", body=GTUBE + "\n")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        _send(server, 25, OUTSIDE_SENDER, "bob@example.test", raw)
    assert 500 <= refused.value.smtp_code < 600, refused.value


def test_score_above_reject_is_refused_at_smtp_time(server: Server, records: list[dict[str, Any]]) -> None:
    _, raw = _message(OUTSIDE_SENDER, "bob@example.test", "reject", X_Mailprov_Test="reject")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        _send(server, 25, OUTSIDE_SENDER, "bob@example.test", raw)
    assert 500 <= refused.value.smtp_code < 600, refused.value


def test_score_above_junk_goes_into_junk_with_verdict_headers(server: Server, records: list[dict[str, Any]]) -> None:
    tag, raw = _message(OUTSIDE_SENDER, "bob@example.test", "junk", X_Mailprov_Test="junk")
    _send(server, 25, OUTSIDE_SENDER, "bob@example.test", raw)
    filed = server.imap_fetch("bob@example.test", tag, mailbox="Junk")
    assert filed is not None
    assert server.imap_fetch("bob@example.test", tag, wait=0) is None  # not in INBOX
    assert _header(filed, "X-Spam") == ["Yes"]
    assert _header(filed, "X-Spam-Status")[0].startswith("Yes")
    assert _header(filed, "X-Spamd-Bar")
    assert any(r.startswith("mail.example.test;") for r in _header(filed, "Authentication-Results"))


def test_plain_inbound_mail_reaches_the_inbox_unjudged_spam_free(server: Server, records: list[dict[str, Any]]) -> None:
    """First contact from an unknown sender: delivered at once (no greylisting), with verdict headers."""
    tag, raw = _message(OUTSIDE_SENDER, "carol@example.test", "ham")
    _send(server, 25, OUTSIDE_SENDER, "carol@example.test", raw)
    delivered = server.imap_fetch("carol@example.test", tag)
    assert delivered is not None
    assert _header(delivered, "X-Spam-Status")[0].startswith("No")
    assert _header(delivered, "Authentication-Results")


def test_the_servers_own_users_are_never_judged_as_spam(server: Server, records: list[dict[str, Any]]) -> None:
    """A reject-level score from an authenticated user: accepted, INBOX, signed."""
    tag, raw = _message("alice@example.test", "bob@example.test", "own", X_Mailprov_Test="reject")
    _send(server, 587, "alice@example.test", "bob@example.test", raw, user="alice@example.test")
    delivered = server.imap_fetch("bob@example.test", tag)
    assert delivered is not None
    assert server.imap_fetch("bob@example.test", tag, mailbox="Junk", wait=0) is None
    assert not _header(delivered, "X-Spam")
    assert _dkim_ok(delivered, records)


def _attacker_key() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())  # fmt: skip


def _delivered_anywhere(server: Server, user: str, tag: str, wait: float = 60) -> bytes | None:
    """From INBOX or Junk: where mail from outside lands depends on its score (an SPF failure
    from the test client's address plus a DMARC policy may well pass the junk score)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        for mailbox in ("INBOX", "Junk"):
            found = server.imap_fetch(user, tag, mailbox=mailbox, wait=0)
            if found is not None:
                return found
        time.sleep(1)
    return None


def _authentication_results(server: Server, tag: str, user: str) -> str:
    delivered = _delivered_anywhere(server, user, tag)
    assert delivered is not None
    results = [r for r in _header(delivered, "Authentication-Results") if r.startswith("mail.example.test;")]
    assert len(results) == 1, results
    return results[0]


def test_forged_dkim_signature_fails_and_a_genuine_one_passes(server: Server, records: list[dict[str, Any]]) -> None:
    # Forged: claims example.test's selector, signed with a key that is not the published one.
    tag, raw = _message("alice@example.test", "carol@example.test", "forged")
    forged = dkim.sign(raw, b"mail", b"example.test", _attacker_key(), include_headers=[b"From", b"To", b"Subject"])
    _send(server, 25, "alice@example.test", "carol@example.test", forged + raw)
    forged_results = _authentication_results(server, tag, "carol@example.test")
    assert "dkim=fail" in forged_results and "header.d=example.test" in forged_results, forged_results
    # Genuine: signed by the server for its user, then received from outside like any mail.
    tag, raw = _message("alice@example.test", "bob@example.test", "genuine")
    _send(server, 587, "alice@example.test", "bob@example.test", raw, user="alice@example.test")
    signed = server.imap_fetch("bob@example.test", tag)
    assert signed is not None
    body_start = signed.index(b"DKIM-Signature:")
    _send(server, 25, "alice@example.test", "carol@example.test", signed[body_start:])
    genuine_results = _authentication_results(server, tag, "carol@example.test")
    assert "dkim=pass" in genuine_results and "header.d=example.test" in genuine_results, genuine_results


def test_rspamd_and_redis_listen_on_loopback_only(server: Server) -> None:
    listening = server.host.check_output("ss -H -lntu").splitlines()
    ports = {"11332", "11333", "11334", "11335", "6379"}
    found = [line.split()[4] for line in listening if line.split()[4].rsplit(":", 1)[1] in ports]
    assert {"127.0.0.1:11332", "127.0.0.1:11333", "127.0.0.1:11334", "127.0.0.1:6379"} <= set(found), found
    assert all(address.startswith(("127.0.0.1:", "[::1]:")) for address in found), found
    # And nothing else a rspamd or redis process holds open for listening.
    sockets = server.host.check_output("ss -H -lntup").splitlines()
    assert all(line.split()[4].startswith(("127.", "[::1]")) for line in sockets if "redis" in line or "rspamd" in line)


def test_dkim_keys_private_to_rspamd_public_to_all(server: Server) -> None:
    for domain in ("example.test", "alias.test", "other.test", "other-alias.test"):
        key = server.host.file(f"/var/lib/rspamd/dkim/{domain}.mail.key")
        assert (key.user, key.mode) == ("_rspamd", 0o600)
        pub = server.host.file(f"/var/lib/rspamd/dkim/{domain}.mail.pub")
        assert pub.mode == 0o644
    server.host.run_expect([0], "runuser -u nobody -- cat /var/lib/rspamd/dkim/example.test.mail.pub")
    server.host.run_expect([1], "runuser -u nobody -- cat /var/lib/rspamd/dkim/example.test.mail.key")
    server.host.run_expect([2], "runuser -u nobody -- ls /var/lib/rspamd")  # passable, not listable


def test_a_broken_rspamd_file_never_goes_live(server: Server) -> None:
    live = server.host.file("/etc/rspamd/local.d/actions.conf").content_string
    server.host.run_expect([0], "printf 'reject = 15;\\n' > /tmp/mailprov-good.conf")
    server.host.run_expect([0], "mailprov-rspamd-validate local.d/actions.conf /tmp/mailprov-good.conf")
    server.host.run_expect([0], "printf 'reject = {\\n' > /tmp/mailprov-broken.conf")
    server.host.run_expect([1], "mailprov-rspamd-validate local.d/actions.conf /tmp/mailprov-broken.conf")
    assert server.host.file("/etc/rspamd/local.d/actions.conf").content_string == live
