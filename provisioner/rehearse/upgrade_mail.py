"""Mail that must survive an upgrade: sent before it, read back over IMAP after it.

The inventory holds only password hashes, so a rehearsal cannot log in as the
operator's mailboxes. :func:`give_throwaway_passwords` gives a few of them
fresh random passwords in the PRIVATE inventory copy (hashes only; the
plaintext lives in memory, is never written, logged or printed). The probe
account keeps its own password (`mailprov check` logs in with it); it is
the fallback when the inventory has no other mailbox.

Mail goes in over port 25 (STARTTLS when offered), like mail from another
server; it is read back over IMAPS, found by its unique Message-ID and
fetched whole.
"""

from __future__ import annotations

import dataclasses
import email
import imaplib
import secrets
import smtplib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from provisioner.inventory.accounts import set_password
from provisioner.inventory.model import Inventory
from provisioner.inventory.passwords import hash_password
from provisioner.inventory.probe_account import Credentials
from provisioner.inventory.store import edit_accounts
from provisioner.probe.mailbox import imaps
from provisioner.probe.session import ProbeFailed, Target, tls_info
from provisioner.probe.smtp import HELO, smtp_session, starttls

MAX_MAILBOXES = 3
MESSAGES_EACH = 2
SENDER = "upgrade-rehearsal@example.com"  # RFC 2606: nobody's address
ID_DOMAIN = "rehearse.mailprov.invalid"
DELIVERY_TIMEOUT = 90.0


@dataclass(frozen=True)
class Sent:
    mailbox: str
    message_id: str


def choose(inventory: Inventory, probe: Credentials | None, limit: int = MAX_MAILBOXES) -> list[str]:
    """Up to ``limit`` mailboxes other than the probe account, in inventory order."""
    skip = probe.address.lower() if probe is not None else None
    return [m.address for m in inventory.mailboxes if m.address.lower() != skip][:limit]


def give_throwaway_passwords(private_inventory: Path, addresses: Sequence[str]) -> list[Credentials]:
    """New random passwords for ``addresses``, stored as hashes in the private copy only."""
    creds = [Credentials(address, secrets.token_urlsafe(24)) for address in addresses]
    if creds:
        with edit_accounts(private_inventory) as domains:
            for c in creds:
                set_password(domains, c.address, hash_password(c.password))
    return creds


def mailboxes_for(private_inventory: Path, inventory: Inventory, probe: Credentials | None) -> list[Credentials]:
    """The mailboxes a rehearsal writes to, with passwords it can log in with."""
    chosen = give_throwaway_passwords(private_inventory, choose(inventory, probe))
    return chosen or ([probe] if probe is not None else [])


def _message(to: str, message_id: str, index: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = SENDER
    msg["To"] = to
    msg["Subject"] = f"mailprov upgrade rehearsal {index}"
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id
    msg.set_content(f"Sent before the upgrade; must be readable after it. {message_id}\n")
    return msg


def send(target: Target, mailboxes: Sequence[Credentials], each: int = MESSAGES_EACH) -> tuple[list[Sent], list[str]]:
    """``each`` messages to every mailbox over port 25; returns what was accepted and the errors."""
    sent: list[Sent] = []
    errors: list[str] = []
    try:
        with smtp_session(target, "smtp") as client:
            client.ehlo(HELO)
            if client.has_extn("starttls"):
                starttls(client, target)
                client.ehlo(HELO)
            for box in mailboxes:
                for i in range(each):
                    message_id = f"<{uuid.uuid4().hex}@{ID_DOMAIN}>"
                    try:
                        client.send_message(_message(box.address, message_id, i + 1))
                        sent.append(Sent(box.address, message_id))
                    except smtplib.SMTPException as exc:
                        errors.append(f"to {box.address}: {exc}")
    except (smtplib.SMTPException, OSError) as exc:
        errors.append(f"port {target.ports['smtp']}: {type(exc).__name__}: {exc}")
    return sent, errors


def _found(client: imaplib.IMAP4, message_id: str) -> bool:
    """The message is there and its full text can be fetched."""
    typ, data = client.search(None, "HEADER", "Message-ID", f'"{message_id}"')
    if typ != "OK" or not data or not data[0]:
        return False
    number = data[0].split()[0]
    typ, parts = client.fetch(number, "(BODY.PEEK[])")
    raw = next((p[1] for p in parts if isinstance(p, tuple)), None) if typ == "OK" else None
    return raw is not None and email.message_from_bytes(raw)["Message-ID"] == message_id


def read_back(target: Target, box: Credentials, message_ids: Sequence[str], timeout: float) -> set[str]:
    """Which of ``message_ids`` ``box`` can read over IMAPS, waiting up to ``timeout`` for delivery."""
    target = dataclasses.replace(target, creds=box)
    found: set[str] = set()
    deadline = time.monotonic() + timeout
    with imaps(target) as client:
        tls_info(target, client.sock)  # the certificate covers the mail hostname before we log in
        client.login(box.address, box.password)
        while True:
            client.select("INBOX", readonly=True)
            found |= {m for m in message_ids if m not in found and _found(client, m)}
            if len(found) == len(message_ids) or time.monotonic() > deadline:
                return found
            time.sleep(0.5)


def readable(
    target: Target, mailboxes: Sequence[Credentials], sent: Sequence[Sent], timeout: float = DELIVERY_TIMEOUT
) -> tuple[set[str], list[str]]:
    """The Message-IDs of ``sent`` readable by their mailbox now, and the errors seen."""
    found: set[str] = set()
    errors: list[str] = []
    for box in mailboxes:
        ids = [s.message_id for s in sent if s.mailbox == box.address]
        if not ids:
            continue
        try:
            found |= read_back(target, box, ids, timeout)
        except (imaplib.IMAP4.error, OSError, ProbeFailed) as exc:
            errors.append(f"{box.address}: {type(exc).__name__}: {exc}")
    return found, errors
