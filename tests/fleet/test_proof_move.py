"""A domain moves between back ends while mail flows: nothing lost (issue 17 part 3, docs/fleet.md).

`mailprov domain move example.org --to store2` (Dovecot 2.4 on trixie -> 2.3 on bookworm) on
the rehearsal's kept private copy, while a sender keeps mailing alice@example.org through the
front. Every message the front accepted, before, during and after the move, ends up on store2
and is read through the proxy; the mailbox keeps its UIDVALIDITY; nothing bounces.

The move runs in-process with the rehearsal's own extra variables added to each of its Ansible
runs (the stand-ins stay offline: the copy's group_vars would turn the resolver online), the
move's logic itself unchanged.
"""

from __future__ import annotations

import imaplib
import smtplib
import threading
import time
import uuid
from typing import Any

import pytest
from fleet_support import (
    CLIENT,
    FRONT,
    STORE1,
    STORE2,
    USERS,
    Fleet,
    deliveries,
    file_count,
    message,
    ok_in,
    run_in,
    subjects,
    tls,
    wait_until,
)

from provisioner.fleet import move as domain_move
from provisioner.inventory.store import load_inventory
from provisioner.rehearse.overlay import CONNECTION_FILE
from provisioner.runner.options import AnsibleOptions

pytestmark = pytest.mark.fleet

ALICE = "alice@example.org"
TAG = "move" + uuid.uuid4().hex[:8]


class Sender(threading.Thread):
    """Mails alice every ``pause`` seconds until stopped; keeps the subjects the front accepted.

    A refused or failed attempt (Postfix reloading during the deploy) is retried, as any MTA does."""

    def __init__(self, port: int, pause: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.port, self.pause = port, pause
        self.accepted: list[str] = []
        self.retries = 0
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            subject = f"{TAG}-{n:04d}"
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=30, local_hostname=CLIENT) as smtp:
                    smtp.send_message(message(ALICE, subject))
                self.accepted.append(subject)
                n += 1
            except (OSError, smtplib.SMTPException):
                self.retries += 1
            self.stop.wait(self.pause)


def _uidvalidity(fleet: Fleet) -> int:
    with imaplib.IMAP4_SSL("127.0.0.1", fleet.port(FRONT, "imaps"), ssl_context=tls(), timeout=30) as client:
        client.login(ALICE, USERS[ALICE])
        _, [status] = client.status("INBOX", "(UIDVALIDITY)")
    return int(status.decode().split("UIDVALIDITY")[1].strip(" )"))


def _imap_count(fleet: Fleet) -> int:
    with imaplib.IMAP4_SSL("127.0.0.1", fleet.port(FRONT, "imaps"), ssl_context=tls(), timeout=30) as client:
        client.login(ALICE, USERS[ALICE])
        client.select("INBOX", readonly=True)
        _, [found] = client.search(None, "SUBJECT", TAG)
    return len(found.split())


def _where_alice_is(fleet: Fleet) -> str:
    """For a failure: where the proxy last sent alice, and what each back end's Dovecot finds."""
    proxied = [line for line in ok_in(fleet.name(FRONT), "journalctl --no-pager -q -o cat").splitlines()
               if "proxy(" + ALICE in line][-2:]
    found = {host: run_in(fleet.name(host), f"doveadm search -u {ALICE} subject {TAG} | wc -l").stdout.strip()
             for host in (STORE1, STORE2)}
    return f"proxy: {proxied}; doveadm search by back end: {found}"


def test_a_domain_moved_while_mail_flows_loses_nothing(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    assert fleet.rehearsal.kept is not None
    copy = fleet.rehearsal.kept / "inventory"
    forced = f"@{fleet.rehearsal.kept / CONNECTION_FILE}"

    def offline_options(**options: Any) -> AnsibleOptions:
        return AnsibleOptions(**{**options, "extra_vars": (forced, *options.get("extra_vars", ()))})

    monkeypatch.setattr(domain_move, "AnsibleOptions", offline_options)
    before = _uidvalidity(fleet)
    sender = Sender(fleet.port(FRONT, "smtp"))
    sender.start()
    wait_until("the first messages accepted", lambda: len(sender.accepted) >= 5, 60, interval=0.5)
    started = time.monotonic()
    try:
        move = domain_move.plan(copy, "example.org", STORE2)
        assert (move.source, move.target) == (STORE1, STORE2)
        result = domain_move.run(copy, move, lambda label: print(f"domain move: {label}", flush=True))
        failures = [f"{f.host}: {f.task}: {f.message}" for f in result.progress.failures]
        assert result.rc == 0, failures
        moved_in = time.monotonic() - started
        time.sleep(3)  # a few more messages after the switch
    finally:
        sender.stop.set()
        sender.join(60)
    accepted = set(sender.accepted)
    assert len(accepted) >= 10, sender.accepted
    domain = next(d for d in load_inventory(copy).domains if d.name == "example.org")
    assert (domain.backend, domain.previous_backend) == (STORE2, None)

    try:
        took = wait_until(f"all {len(accepted)} accepted messages on store2",
                          lambda: subjects(fleet.name(STORE2), TAG) >= accepted, 120)
    except AssertionError as late:
        missing = accepted - subjects(fleet.name(STORE2), TAG)
        left = missing & subjects(fleet.name(STORE1), TAG)
        raise AssertionError(f"{late}: {len(missing)} of {len(accepted)} missing on store2 "
                             f"({len(left)} of them only on store1, the old back end): {sorted(missing)}; "
                             f"front1's deliveries: {deliveries(fleet.name(FRONT))}") from None
    on_store2 = subjects(fleet.name(STORE2), TAG)
    assert file_count(fleet.name(STORE2), TAG) == len(on_store2)  # the two dsync passes copied nothing twice
    seen = _imap_count(fleet)
    assert seen == len(on_store2), _where_alice_is(fleet)  # read through the proxy, from the new back end
    assert _uidvalidity(fleet) == before  # mail clients keep their caches
    logged = deliveries(fleet.name(FRONT))
    assert logged["bounced"] == 0, logged
    print(f"domain move: {moved_in:.0f} s; {len(accepted)} messages accepted meanwhile ({sender.retries} "
          f"retried), all on store2 {took:.0f} s after it ended; store1 kept "
          f"{len(subjects(fleet.name(STORE1), TAG))} of them on disk")
