"""After bookworm -> trixie and a second converge: Debian 13 with Dovecot 2.4,
and everything made on bookworm (messages, their UIDs and flags, a folder,
POP3 UIDLs, a Sieve script, a message queued during the upgrade) still there."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from conftest import Server, make_message, token
from upgrade_mail import FOLDER, SIEVE_FOLDER, SIEVE_SUBJECT, SIEVE_USER, mailbox_state


def test_debian_13_with_dovecot_2_4(server: Server) -> None:
    release = server.host.file("/etc/os-release").content_string
    assert "VERSION_CODENAME=trixie" in release
    assert 'VERSION_ID="13"' in release
    assert server.host.check_output("dovecot --version").startswith("2.4")
    assert "dovecot_config_version" in server.host.file("/etc/dovecot/dovecot.conf").content_string


def test_packages_fully_configured(server: Server) -> None:
    """No package left half-installed or unconfigured, no apt override left behind."""
    assert server.host.check_output("dpkg --audit") == ""
    assert not server.host.file("/usr/sbin/policy-rc.d").exists
    assert "bookworm" not in server.host.file("/etc/apt/sources.list.d/debian.sources").content_string


@pytest.mark.parametrize(
    ("identifier", "started", "version"),
    [
        pytest.param("postfix/master", r"daemon started -- version (\S+),", "3.10.", id="postfix"),
        pytest.param("dovecot", r"Dovecot v(\S+) .*starting up", "2.4.", id="dovecot"),
    ],
)
def test_new_versions_run(server: Server, identifier: str, started: str, version: str) -> None:
    """Not bookworm's Postfix master or Dovecot running on; Dovecot 2.4 never tried the 2.3 configuration."""
    log = server.host.check_output(f"journalctl --no-pager -o cat -t {identifier}")
    versions = re.findall(started, log)
    assert versions and versions[-1].startswith(version), versions
    assert "Unknown setting" not in log


def test_no_failed_units(server: Server) -> None:
    assert server.host.check_output("systemctl list-units --failed --plain --no-legend") == ""


def test_messages_kept_with_uids_and_flags(server: Server, record: dict[str, Any]) -> None:
    """Same UIDVALIDITY, UIDs and flags (clients keep their caches) and same POP3 UIDLs."""
    for user, before in record["mailboxes"].items():
        after = mailbox_state(server, user)
        assert after["uidvalidity"] == before["uidvalidity"], user
        for message_id, seen in before["messages"].items():
            assert after["messages"].get(message_id) == seen, f"{user}: {message_id}"
        assert set(before["uidls"]) <= set(after["uidls"]), user
    flags = [seen["flags"] for seen in record["mailboxes"]["alice@example.test"]["messages"].values()]
    assert ["\\Flagged"] in flags and ["\\Seen"] in flags and ["$MailprovLabel"] in flags


def test_messages_readable_over_imap_and_pop3(server: Server, record: dict[str, Any]) -> None:
    for sent in record["sent"]:
        for owner in sent["owners"]:
            copy = server.imap_fetch(owner, sent["subject"], wait=0)
            assert copy is not None and f"Subject: {sent['subject']}".encode() in copy, owner
            assert server.pop3_fetch(owner, sent["subject"]) is not None, owner


def test_folder_kept(server: Server, record: dict[str, Any]) -> None:
    conn = server.imaps("alice@example.test")
    try:
        _, subscribed = conn.lsub()
        assert any(FOLDER.encode() in line for line in subscribed if isinstance(line, bytes)), subscribed
        conn.select(f'"{FOLDER}"', readonly=True)
        _, data = conn.search(None, "FLAGGED")
        assert len(data[0].split()) == 1
    finally:
        conn.logout()
    assert server.imap_fetch("alice@example.test", record["sent"][0]["subject"], mailbox=FOLDER, wait=0)


def test_message_sent_during_the_upgrade_delivered(server: Server, record: dict[str, Any]) -> None:
    """Accepted while Dovecot was down, queued through the upgrade, delivered after the converge."""
    window = record["window"]
    assert server.imap_fetch("alice@example.test", window["subject"], wait=120) is not None
    queue = [json.loads(line) for line in server.host.check_output("postqueue -j").splitlines() if line]
    assert window["queue_id"] not in [entry["queue_id"] for entry in queue]


def test_nothing_bounced(server: Server) -> None:
    log = server.host.check_output("journalctl --no-pager -o cat -t postfix/lmtp -t postfix/bounce")
    assert "status=bounced" not in log
    assert re.search(r"status=deferred .*dovecot-lmtp", log), "the window message was never held"


def test_sieve_script_kept(server: Server) -> None:
    subject = token(SIEVE_SUBJECT)
    with server.submission(587, "alice@example.test") as smtp:
        assert smtp.send_message(make_message("alice@example.test", [SIEVE_USER], subject)) == {}
    assert server.imap_fetch(SIEVE_USER, subject, mailbox=SIEVE_FOLDER) is not None
    assert server.imap_fetch(SIEVE_USER, subject, wait=0) is None
