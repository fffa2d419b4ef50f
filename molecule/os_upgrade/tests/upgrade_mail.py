"""Mail and mailbox state made before the Debian upgrade, read back after it.

Run by side_effect.yml on the host (real clients to 127.0.0.1:17xxx):

    python upgrade_mail.py seed     # on bookworm: messages, flags, a folder, a Sieve script
    python upgrade_mail.py window   # Dovecot stopped: one message on port 25, must queue

Each step adds to a JSON record in Molecule's ephemeral folder that the
verify tests compare with what the upgraded server shows.
"""

from __future__ import annotations

import imaplib
import json
import os
import poplib
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from mail_clients import PASSWORDS, ManageSieve, Server, connect, make_message, token

# molecule.yml moves the name and ports with the same variables (two checkouts side by side).
CONTAINER = os.environ.get("MAILPROV_MOLECULE_PREFIX", "mailprov-molecule") + "-osupgrade"
PORT_BASE = int(os.environ.get("MAILPROV_OSUPGRADE_PORTS", "17")) * 1000
# (recipient as sent, mailboxes that must hold it, how it is sent)
SEEDS = [
    ("alice@example.test", ["alice@example.test"], 25),
    ("alice@example.test", ["alice@example.test"], 587),
    ("alice.alias@example.test", ["alice@example.test"], 465),
    ("team@example.test", ["bob@example.test", "dave@other.test"], 587),
    ("no-such-user@example.test", ["carol@example.test"], 25),
    ("dave@other-alias.test", ["dave@other.test"], 465),
]
# alice's first three messages get these flags; the first is also copied to FOLDER.
FLAGS = ["\\Flagged", "\\Seen", "$MailprovLabel"]
FOLDER = "Projects/2026"
SIEVE_USER = "bob@example.test"
SIEVE_SUBJECT = "sieve-upgrade"
SIEVE_FOLDER = "Filtered"
SIEVE_SCRIPT = f"""require ["fileinto", "mailbox"];
if header :contains "subject" "{SIEVE_SUBJECT}" {{
  fileinto :create "{SIEVE_FOLDER}";
  stop;
}}
"""
ANSWER = re.compile(rb"queued as ([0-9A-Za-z]+)")


def record_path() -> Path:
    folder = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY")
    if not folder:
        raise SystemExit("MOLECULE_EPHEMERAL_DIRECTORY is not set (run through molecule)")
    return Path(folder) / "upgrade-record.json"


def load_record() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(record_path().read_text())
    return data


def server(release: str) -> Server:
    return connect(CONTAINER, release, PORT_BASE)


def send(target: Server, port: int, recipient: str, subject: str) -> str:
    """One message from the host; the queue ID from Postfix's answer to DATA."""
    message = make_message("alice@example.test", [recipient], subject).as_bytes()
    if port == 25:
        session = target.smtp(25)
        session.starttls(context=target.tls)
        code, answer = _transaction(session, "someone@external.test", recipient, message)
        session.quit()
    else:
        with target.submission(port, "alice@example.test") as session:
            code, answer = _transaction(session, "alice@example.test", recipient, message)
    match = ANSWER.search(answer)
    if code != 250 or match is None:
        raise SystemExit(f"port {port}, {recipient}: {code} {answer!r}")
    return match.group(1).decode()


def _transaction(session: Any, sender: str, recipient: str, message: bytes) -> tuple[int, bytes]:
    session.ehlo()
    for reply in (session.mail(sender), session.rcpt(recipient)):
        if reply[0] != 250:
            return int(reply[0]), bytes(reply[1])
    code, answer = session.data(message)
    return int(code), bytes(answer)


def mailbox_state(target: Server, user: str) -> dict[str, Any]:
    """UIDVALIDITY, and per message UID, Message-ID and flags (INBOX); POP3 UIDLs."""
    conn = target.imaps(user)
    try:
        conn.select("INBOX", readonly=True)
        uidvalidity = conn.response("UIDVALIDITY")[1][0]
        _, data = conn.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    finally:
        conn.logout()
    messages = {}
    for part in data:
        if not isinstance(part, tuple):
            continue
        meta, header = part
        uid = re.search(rb"UID (\d+)", meta)
        flags = re.search(rb"FLAGS \(([^)]*)\)", meta)
        assert uid is not None and flags is not None, meta
        message_id = header.decode().partition(":")[2].strip()
        # \Recent belongs to one session, not to the message.
        kept = sorted(flag for flag in flags.group(1).decode().split() if flag != "\\Recent")
        messages[message_id] = {"uid": int(uid.group(1)), "flags": kept}
    pop = target.pop3s(user)
    try:
        _, lines, _ = pop.uidl()
    finally:
        pop.quit()
    uidls = sorted(line.decode().split()[1] for line in lines)
    return {"uidvalidity": int(uidvalidity or 0), "messages": messages, "uidls": uidls}


def seed() -> None:
    target = server("bookworm")
    sent = []
    for number, (recipient, owners, port) in enumerate(SEEDS):
        subject = token(f"pre-upgrade-{number}")
        send(target, port, recipient, subject)
        sent.append({"subject": subject, "owners": owners})
    for item in sent:
        for owner in item["owners"]:
            if target.imap_fetch(owner, item["subject"], wait=120) is None:
                raise SystemExit(f"{item['subject']} never reached {owner}")
    _mark_alice(target, [item["subject"] for item in sent if "alice@example.test" in item["owners"]])
    sieve = ManageSieve(target)
    try:
        sieve.starttls()
        sieve.authenticate(SIEVE_USER, PASSWORDS[SIEVE_USER])
        sieve.putscript("mailprov-upgrade", SIEVE_SCRIPT)
    finally:
        sieve.close()
    owners = sorted({owner for item in sent for owner in item["owners"]})
    record = {"sent": sent, "mailboxes": {owner: mailbox_state(target, owner) for owner in owners}}
    record_path().write_text(json.dumps(record, indent=2))


def _mark_alice(target: Server, subjects: list[str]) -> None:
    conn = target.imaps("alice@example.test")
    try:
        conn.select("INBOX")
        typ, _ = conn.create(f'"{FOLDER}"')
        assert typ == "OK"
        conn.subscribe(f'"{FOLDER}"')
        for subject, flag in zip(subjects, FLAGS, strict=False):
            _, data = conn.uid("SEARCH", None, "SUBJECT", f'"{subject}"')
            uid = data[0].split()[0].decode()
            typ, _ = conn.uid("STORE", uid, "+FLAGS", f"({flag})")
            assert typ == "OK", flag
            if flag == FLAGS[0]:
                typ, _ = conn.uid("COPY", uid, f'"{FOLDER}"')
                assert typ == "OK"
    finally:
        conn.logout()


def window() -> None:
    """Dovecot is down: a message for alice on port 25 is accepted and queued."""
    record = load_record()
    subject = token("upgrade-window")
    queue_id = send(server("bookworm"), 25, "alice@example.test", subject)
    record["window"] = {"subject": subject, "queue_id": queue_id}
    record_path().write_text(json.dumps(record, indent=2))
    print(queue_id)


if __name__ == "__main__":
    steps = {"seed": seed, "window": window}
    if len(sys.argv) != 2 or sys.argv[1] not in steps:
        raise SystemExit(f"usage: {sys.argv[0]} {'|'.join(steps)}")
    try:
        steps[sys.argv[1]]()
    except (OSError, imaplib.IMAP4.error, poplib.error_proto) as error:
        raise SystemExit(f"{sys.argv[1]}: {error}") from error
