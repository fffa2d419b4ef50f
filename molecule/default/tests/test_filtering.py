"""Filtering on both releases (docs/filtering.md), with real sessions:

- SRS: mail from outside that an alias forwards to an outside address leaves Postfix's SMTP
  client with a postsrsd sender of the server's own name, whose SPF passes at the receiver
  (where the original sender's would fail); a bounce to that address reaches the original
  sender; the local copy and the server's own users' mail keep their sender.
- Spam training: an IMAP MOVE into Junk raises rspamd's learned spam count, out of Junk its
  learned ham count (`rspamc stat`).
- DNSBLs: postscreen refuses a client the list names (127.0.0.2, listed by the offline
  unbound), a clean one (127.0.0.3) gets through.

The receiver (srs_receiver.py) and the DNSBL clients run inside the mail container (its own
network namespace, 127.0.0.x only): nothing is sent anywhere else."""

from __future__ import annotations

import email
import email.policy
import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import HOSTNAME, Server, make_message, token

RECEIVER = Path(__file__).with_name("srs_receiver.py")
RECEIVER_PORT = 2526
LOG = "/run/mailprov-srs-receiver.jsonl"
ORIGINAL = "someone@srs-receiver.test"
FORWARDED_TO = "friend@srs-receiver.test"
SRS_FORM = re.compile(r"^SRS0=[^=@]+=[^=@]+=srs-receiver\.test=someone@" + re.escape(HOSTNAME) + "$")
# Enough words for rspamd's Bayes to learn the message (it skips tiny ones).
BODY = " ".join(f"word{i} training{i % 7} sample{i % 11}" for i in range(80)) + "\n"


def _exec(server: Server, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["podman", "exec", server.container, *argv], capture_output=True, text=True,
                            timeout=120, check=False)  # fmt: skip
    assert not check or result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def receiver(server: Server) -> Iterator[Server]:
    """srs_receiver.py serving 127.0.0.1:2526 in the container (the transport of srs-receiver.test)."""
    subprocess.run(["podman", "cp", str(RECEIVER), f"{server.container}:/run/srs_receiver.py"], check=True,
                   timeout=60)  # fmt: skip
    _exec(server, "sh", "-c", f"rm -f {LOG}; python3 /run/srs_receiver.py serve {RECEIVER_PORT} {LOG} "
          f">/dev/null 2>&1 & echo $! > /run/srs_receiver.pid")  # fmt: skip
    deadline = time.monotonic() + 20
    while _exec(server, "python3", "-c", f"import socket; socket.create_connection(('127.0.0.1', {RECEIVER_PORT}))",
                check=False).returncode:  # fmt: skip
        assert time.monotonic() < deadline, "the receiver did not start"
        time.sleep(0.5)
    yield server
    _exec(server, "sh", "-c", "kill $(cat /run/srs_receiver.pid); rm -f /run/srs_receiver.pid", check=False)


def _received(server: Server, tag: str, wait: float = 90) -> dict[str, Any]:
    """The envelope of the message with `tag` the receiver got (Postfix retries within seconds)."""
    deadline = time.monotonic() + wait
    while True:
        log = _exec(server, "sh", "-c", f"cat {LOG} 2>/dev/null || true").stdout
        for line in log.splitlines():
            envelope = json.loads(line)
            if tag in envelope["data"]:
                return dict(envelope)
        assert time.monotonic() < deadline, f"the receiver never got {tag}: {log[-2000:]}"
        _exec(server, "postqueue", "-f", check=False)
        time.sleep(2)


def _send_on_25(server: Server, sender: str, recipients: list[str], subject: str) -> None:
    """From outside; an empty sender is a bounce (its From: is the receiver's mailer daemon)."""
    message = make_message(sender or "MAILER-DAEMON@srs-receiver.test", recipients, subject)
    smtp = server.smtp(25)
    try:
        smtp.starttls(context=server.tls)
        assert smtp.send_message(message, from_addr=sender) == {}
    finally:
        smtp.quit()


def test_postsrsd_runs_with_a_private_secret(server: Server) -> None:
    service = server.host.service("postsrsd")
    assert service.is_running and service.is_enabled
    secret = server.host.file("/etc/postsrsd.secret")
    assert secret.user == "root" and secret.mode == 0o600 and secret.size > 16
    defaults = server.host.file("/etc/default/postsrsd").content_string
    assert f"SRS_DOMAIN={HOSTNAME}\n" in defaults
    assert "SRS_EXCLUDE_DOMAINS=alias.test,example.test,other-alias.test,other.test,xn--bcher-kva.test\n" in defaults


def test_forwarded_mail_gets_an_srs_sender_that_passes_spf(receiver: Server) -> None:
    server = receiver
    subject = token("srs-forward")
    _send_on_25(server, ORIGINAL, ["forward@example.test"], subject)
    envelope = _received(server, subject)
    assert envelope["rcpt_to"] == [FORWARDED_TO]
    assert SRS_FORM.match(str(envelope["mail_from"])), envelope["mail_from"]
    client = str(envelope["client"])
    spf = Path(RECEIVER.name)
    # At the receiver: SPF of the SRS sender's domain passes; the original one would fail.
    assert _exec(server, "python3", f"/run/{spf}", "spf", HOSTNAME, client).stdout.strip() == "pass"
    assert _exec(server, "python3", f"/run/{spf}", "spf", "srs-receiver.test", client).stdout.strip() == "fail"
    # The local copy keeps the original sender.
    local = server.imap_fetch("bob@example.test", subject)
    assert local is not None
    message = email.message_from_bytes(local, policy=email.policy.default)
    assert message["Return-Path"] == f"<{ORIGINAL}>"


def test_a_bounce_to_the_srs_address_reaches_the_original_sender(receiver: Server) -> None:
    server = receiver
    subject = token("srs-forward-2")
    _send_on_25(server, ORIGINAL, ["forward@example.test"], subject)
    srs_address = str(_received(server, subject)["mail_from"])
    bounce = token("srs-bounce")
    _send_on_25(server, "", [srs_address], bounce)
    envelope = _received(server, bounce)
    assert envelope["rcpt_to"] == [ORIGINAL]
    assert envelope["mail_from"] == ""


def test_only_srs_addresses_are_accepted_for_the_servers_name(server: Server) -> None:
    smtp = server.smtp(25)
    try:
        smtp.starttls(context=server.tls)
        smtp.ehlo()
        smtp.mail(ORIGINAL)
        code, _ = smtp.rcpt(f"nobody@{HOSTNAME}")
        assert code >= 500
    finally:
        smtp.quit()


def test_the_servers_own_users_keep_their_sender(receiver: Server) -> None:
    server = receiver
    subject = token("srs-own-user")
    with server.submission(587, "alice@example.test") as smtp:
        assert smtp.send_message(make_message("alice@example.test", [FORWARDED_TO], subject)) == {}
    assert _received(server, subject)["mail_from"] == "alice@example.test"


# --- spam training -----------------------------------------------------------------------------


def _learned(server: Server) -> dict[str, int]:
    """rspamd's learned count per statfile (BAYES_SPAM, BAYES_HAM)."""
    stat = _exec(server, "rspamc", "stat").stdout
    found = dict(re.findall(r"Statfile: (\w+) .*?learned: (\d+)", stat))
    return {name: int(count) for name, count in found.items()}


def _wait_learned(server: Server, name: str, above: int) -> int:
    # rspamd reads the counts from Redis now and then (bookworm's 3.4: up to a minute late).
    deadline = time.monotonic() + 120
    while (count := _learned(server).get(name, 0)) <= above and time.monotonic() < deadline:
        time.sleep(1)
    return count


def _move(server: Server, user: str, subject: str, source: str, target: str) -> None:
    conn = server.imaps(user)
    try:
        assert conn.select(f'"{source}"')[0] == "OK"
        _, data = conn.uid("SEARCH", None, "SUBJECT", f'"{subject}"')  # type: ignore[arg-type]
        uids = data[0].split()
        assert len(uids) == 1, data
        typ, answer = conn.uid("MOVE", uids[0].decode(), f'"{target}"')
        assert typ == "OK", answer
    finally:
        conn.logout()


def _new_message(server: Server, label: str, *, junk: bool = False) -> tuple[str, str]:
    """A message for carol, never learned: delivered into her INBOX, or with `junk` put into
    Junk by IMAP APPEND (the training scripts run on copies and moves only)."""
    subject = token(label)
    message = make_message(ORIGINAL, ["carol@example.test"], subject, f"{subject}\n{BODY}")
    if junk:
        conn = server.imaps("carol@example.test")
        try:
            typ, answer = conn.append('"Junk"', None, None, message.as_bytes())  # type: ignore[arg-type]
            assert typ == "OK", answer
        finally:
            conn.logout()
    else:
        smtp = server.smtp(25)
        try:
            smtp.starttls(context=server.tls)
            assert smtp.send_message(message) == {}
        finally:
            smtp.quit()
        assert server.imap_fetch("carol@example.test", subject) is not None
    return subject, str(message["Message-ID"]).strip("<>")


def _rspamd_log(server: Server) -> str:
    """rspamd's log (a file on Debian's package, else the journal)."""
    return _exec(server, "sh", "-c", "cat /var/log/rspamd/rspamd.log 2>/dev/null || journalctl -u rspamd -q --no-pager",
                 check=False).stdout  # fmt: skip


def _count(server: Server, name: str) -> int:
    return _learned(server).get(name, 0)


@pytest.mark.parametrize(
    ("junk", "source", "target", "statfile", "learned_as"),
    [
        pytest.param(False, "INBOX", "Junk", "BAYES_SPAM", "spam", id="into-junk-spam"),
        pytest.param(True, "Junk", "INBOX", "BAYES_HAM", "ham", id="out-of-junk-ham"),
    ],
)
def test_moving_trains_rspamd(server: Server, junk: bool, source: str, target: str, statfile: str,
                              learned_as: str) -> None:  # fmt: skip
    subject, message_id = _new_message(server, f"train-{learned_as}", junk=junk)
    before = _count(server, statfile)
    _move(server, "carol@example.test", subject, source, target)
    assert _wait_learned(server, statfile, before) > before
    assert f"learned message as {learned_as}: {message_id}" in _rspamd_log(server)


def test_deleting_spam_from_junk_teaches_nothing(server: Server) -> None:
    subject, message_id = _new_message(server, "train-trash", junk=True)
    spam, ham = _count(server, "BAYES_SPAM"), _count(server, "BAYES_HAM")
    _move(server, "carol@example.test", subject, "Junk", "Trash")
    time.sleep(5)  # the ham script would have run within the MOVE
    assert (_count(server, "BAYES_SPAM"), _count(server, "BAYES_HAM")) == (spam, ham)
    # A learn's log line names the message: nothing was learned from it.
    assert f"learned message as ham: {message_id}" not in _rspamd_log(server)


# --- DNSBLs ------------------------------------------------------------------------------------

_CLIENT = """
import smtplib, sys
smtp = smtplib.SMTP(local_hostname="client.srs-receiver.test", source_address=(sys.argv[1], 0), timeout=30)
smtp.connect("127.0.0.1", 25)
smtp.ehlo()
smtp.mail("someone@srs-receiver.test")
print(*smtp.rcpt("bob@example.test"))
"""


@pytest.fixture
def resolver_in_resolv_conf(server: Server) -> Iterator[None]:
    """postscreen asks the system resolver; offline containers keep the mirror's, so point it at
    the local unbound (as a real server's resolver role does) while the test runs."""
    _exec(server, "sh", "-c", "cp /etc/resolv.conf /run/resolv.conf.keep && "
          "printf 'nameserver 127.0.0.1\\n' > /etc/resolv.conf && postfix reload")  # fmt: skip
    time.sleep(2)
    try:
        yield
    finally:
        _exec(server, "sh", "-c", "cat /run/resolv.conf.keep > /etc/resolv.conf && rm /run/resolv.conf.keep "
              "&& postfix reload")  # fmt: skip


def test_postscreen_refuses_a_listed_client(server: Server, resolver_in_resolv_conf: None) -> None:
    listed = _exec(server, "python3", "-c", _CLIENT, "127.0.0.2").stdout
    assert listed.startswith("550 ") and "blocked using zen.spamhaus.org" in listed, listed
    clean = _exec(server, "python3", "-c", _CLIENT, "127.0.0.3").stdout
    assert clean.startswith("250 "), clean


def test_dnsbl_sites_and_rspamd_rbl_are_configured(server: Server) -> None:
    sites = server.host.check_output("postconf -h postscreen_dnsbl_sites")
    for site in ("zen.spamhaus.org", "bl.spamcop.net", "psbl.surriel.com", "list.dnswl.org"):
        assert site in sites
    rbl = server.host.check_output("rspamadm configdump rbl")
    assert "zen.spamhaus.org" in rbl
