"""The fleet routes by domain (docs/fleet.md, issue 17 part 3), proven on the rehearsed stand-ins.

Mail for each domain lands on its back end and nowhere else; IMAP, POP3 and submission logins
through the front reach the back end of the user's domain; the back ends admit LMTP and IMAP
from the front only; the front is no open relay for the rehearsal network's gateway (which is
where the published ports' clients come from) and the backup MX refuses unknown recipients.
"""

from __future__ import annotations

import imaplib
import poplib
import smtplib
import uuid

import pytest
from fleet_support import (
    BACKUP_MX,
    CLIENT,
    FRONT,
    SENDER,
    STORE1,
    STORE2,
    USERS,
    Fleet,
    connects,
    file_count,
    message,
    send_many,
    subjects,
    tls,
    wait_until,
)

pytestmark = pytest.mark.fleet

ALICE, BOB = "alice@example.org", "bob@example.net"
TAG = "route" + uuid.uuid4().hex[:8]
ALL = (FRONT, BACKUP_MX, STORE1, STORE2)


@pytest.fixture(scope="module")
def delivered(fleet: Fleet) -> Fleet:
    """One message for each domain through the front's port 25, waited for on its back end."""
    codes = send_many(fleet.port(FRONT, "smtp"), [(ALICE, f"{TAG}-001"), (BOB, f"{TAG}-002")])
    assert codes == {f"{TAG}-001": 250, f"{TAG}-002": 250}, codes
    wait_until("example.org's message on store1", lambda: f"{TAG}-001" in subjects(fleet.name(STORE1), TAG), 120)
    wait_until("example.net's message on store2", lambda: f"{TAG}-002" in subjects(fleet.name(STORE2), TAG), 120)
    return fleet


def test_mail_for_each_domain_lands_on_its_backend_and_nowhere_else(delivered: Fleet) -> None:
    found = {host: subjects(delivered.name(host), TAG) for host in ALL}
    assert found == {FRONT: set(), BACKUP_MX: set(), STORE1: {f"{TAG}-001"}, STORE2: {f"{TAG}-002"}}
    assert file_count(delivered.name(STORE1), f"{TAG}-001") == 1  # once, not twice


def _imap_subjects(fleet: Fleet, user: str) -> set[str]:
    """This test's subjects in the user's INBOX, read through the front's IMAP proxy."""
    with imaplib.IMAP4_SSL("127.0.0.1", fleet.port(FRONT, "imaps"), ssl_context=tls(), timeout=30) as client:
        client.login(user, USERS[user])
        client.select("INBOX", readonly=True)
        _, [found] = client.search(None, "SUBJECT", TAG)
        if not found:
            return set()
        _, data = client.fetch(b",".join(found.split()).decode(), "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    return {item[1].decode().split(":", 1)[1].strip() for item in data if isinstance(item, tuple)}


def test_imap_through_the_proxy_reads_the_users_own_backend(delivered: Fleet) -> None:
    alice, bob = _imap_subjects(delivered, ALICE), _imap_subjects(delivered, BOB)
    assert f"{TAG}-001" in alice and f"{TAG}-002" not in alice
    assert f"{TAG}-002" in bob and f"{TAG}-001" not in bob


def test_pop3_through_the_proxy_reads_the_users_own_backend(delivered: Fleet) -> None:
    client = poplib.POP3_SSL("127.0.0.1", delivered.port(FRONT, "pop3s"), context=tls(), timeout=30)
    try:
        client.user(BOB)
        client.pass_(USERS[BOB])
        count, _ = client.stat()
        bodies = [b"\n".join(client.retr(i + 1)[1]) for i in range(count)]
    finally:
        client.quit()
    assert any(f"Subject: {TAG}-002".encode() in body for body in bodies), bodies
    assert not any(f"{TAG}-001".encode() in body for body in bodies)


def test_wrong_password_through_the_proxy_is_refused(delivered: Fleet) -> None:
    port = delivered.port(FRONT, "imaps")
    with imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=tls(), timeout=30) as client, \
            pytest.raises(imaplib.IMAP4.error):
        client.login(ALICE, "not-" + USERS[ALICE])


def test_submission_from_one_domain_reaches_the_other_domains_backend(delivered: Fleet) -> None:
    with smtplib.SMTP("127.0.0.1", delivered.port(FRONT, "submission"), timeout=60, local_hostname=CLIENT) as smtp:
        smtp.starttls(context=tls())
        smtp.login(ALICE, USERS[ALICE])
        refused = smtp.send_message(message(BOB, f"{TAG}-003", sender=ALICE))
    assert refused == {}
    wait_until("submitted message on store2", lambda: f"{TAG}-003" in subjects(delivered.name(STORE2), TAG), 120)
    assert f"{TAG}-003" in _imap_subjects(delivered, BOB)
    assert f"{TAG}-003" not in subjects(delivered.name(STORE1), TAG)


@pytest.mark.parametrize("port", [24, 143])
def test_backends_admit_lmtp_and_imap_from_the_front_only(fleet: Fleet, port: int) -> None:
    for store in (STORE1, STORE2):
        address = fleet.address(store)
        banner = connects(fleet.name(FRONT), address, port)
        assert banner is not None and banner.startswith(("220", "* OK")), (store, port, banner)
        assert connects(fleet.name(BACKUP_MX), address, port) is None, (store, port, "reached from the backup MX")


def test_backends_published_imap_port_is_closed_to_clients(fleet: Fleet) -> None:
    """The host's client arrives from the network's gateway: not a front, so the back end drops it."""
    port = fleet.port(STORE1, "imaps")
    with pytest.raises(OSError), imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=tls(), timeout=5) as client:
        client.login(ALICE, USERS[ALICE])


@pytest.mark.parametrize("host", [FRONT, BACKUP_MX])
def test_mx_hosts_relay_nothing_for_the_gateway_and_refuse_unknown_recipients(fleet: Fleet, host: str) -> None:
    with smtplib.SMTP("127.0.0.1", fleet.port(host, "smtp"), timeout=60, local_hostname=CLIENT) as smtp:
        smtp.ehlo()
        assert smtp.mail(SENDER)[0] == 250
        relay = smtp.rcpt("someone@example.com")
        unknown = smtp.rcpt("nobody-here@example.org")
    # Refused as Postfix refuses these (not a protocol error that would refuse anything).
    assert relay[0] in (550, 554) and b"5.7.1" in relay[1], f"{host} relays for the network's gateway: {relay}"
    assert unknown[0] == 550 and b"5.1.1" in unknown[1], f"{host} accepts an unknown recipient: {unknown}"


def test_the_rehearsals_own_checks_pass_on_every_host(fleet: Fleet) -> None:
    """`mailprov check`, as the rehearsal ran it: each host probed for what its functions serve."""
    failed = {o.stand.host: [f"{c.name}: {c.detail}" for c in o.checks_failed] for o in fleet.rehearsal.outcomes}
    assert all(o.checked for o in fleet.rehearsal.outcomes)
    assert not any(failed.values()), failed
