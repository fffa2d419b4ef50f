"""The backup step of the e2e main job: mail, flags, keywords, Sieve and DKIM survive a restore.

On the main job's deployed sandbox: mail_backup (a local repository in the container, its
password a vault value) is deployed; mail goes into several folders with flags and keywords,
a Sieve script is made active; `mailprov backup now` runs while a message is being sent,
then once more. A copy of the repository is restored with `mailprov restore --to-sandbox`
into a fresh container, where every message is found by Message-ID with its UIDVALIDITY, UID
and flags, the Sieve script still files mail, the DKIM public key is the same and the
checks pass. Last, `restore` onto the source, which now holds newer mail, is refused.
"""

from __future__ import annotations

import imaplib
import json
import re
import smtplib
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from provisioner.inventory.vault import encrypt
from provisioner.sandbox import server as sandbox

REPOSITORY = "/srv/mailprov-backup/restic"
USER = sandbox.DEMO_USER
HOME = f"/var/vmail/{sandbox.DEMO_DOMAIN}/{USER.split('@')[0]}"
SIEVE = 'require ["fileinto"];\nif header :contains "subject" "sieve-proof" { fileinto "Projects"; }\n'
# folder -> messages as (Message-ID, flags to set)
MAIL = {
    "INBOX": [("<inbox-seen@backup.test>", r"(\Seen)"), ("<inbox-flagged@backup.test>", r"(\Flagged project-x)"),
              ("<inbox-new@backup.test>", "()")],
    "Projects": [("<projects-answered@backup.test>", r"(\Seen \Answered $Important)"),
                 ("<projects-draft@backup.test>", r"(\Draft)")],
    "Receipts": [("<receipts-1@backup.test>", r"(\Seen receipt)")],
}
Run = Callable[..., subprocess.CompletedProcess[str]]


def _tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the sandbox's certificate is self-signed
    return ctx


def _message(message_id: str, subject: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = USER, USER, subject, message_id
    msg.set_content(f"{subject}\n" + "body line\n" * 20)
    return msg.as_bytes()


def write_backup_settings(inv: Path) -> None:
    vault = encrypt(b"e2e-backup-pass-w0rd", inv / ".vault-password").decode()
    block = "".join(f"      {line}\n" for line in vault.strip().splitlines())
    (inv / "group_vars" / "mailservers" / "backup.yml").write_text(
        "---\nmail_backup:\n"
        f"  repository: {REPOSITORY}\n"
        "  password: !vault |\n" + block +
        "  schedule: daily\n  keep: {daily: 7, weekly: 4, monthly: 6}\n"
    )


def fill_mailbox(port: int, password: str) -> None:
    with imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=_tls(), timeout=30) as client:
        client.login(USER, password)
        for folder, messages in MAIL.items():
            if folder != "INBOX":
                client.create(folder)
            for message_id, flags in messages:
                typ, _ = client.append(folder, flags, None, _message(message_id, f"backup test {message_id}"))
                assert typ == "OK", (folder, message_id)


def mailbox_state(port: int, password: str) -> dict[str, tuple[str, int, int, tuple[str, ...]]]:
    """Message-ID -> (folder, UIDVALIDITY, UID, flags) of every message of every folder."""
    state: dict[str, tuple[str, int, int, tuple[str, ...]]] = {}
    with imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=_tls(), timeout=30) as client:
        client.login(USER, password)
        _, folders = client.list()
        for line in folders:
            match = re.fullmatch(r'\((.*?)\) (NIL|"[^"]*") (.+)', line.decode())
            assert match, line
            name = match.group(3).strip('"')
            typ, _ = client.select(f'"{name}"', readonly=True)
            assert typ == "OK", name
            validity = int(client.untagged_responses["UIDVALIDITY"][0])
            typ, data = client.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            for item in data:
                if not isinstance(item, tuple):
                    continue
                meta, header = item[0].decode(), item[1].decode()
                uid = int(meta.split("UID ")[1].split()[0].rstrip(")"))
                flags = tuple(sorted(f for f in meta.split("FLAGS (")[1].split(")")[0].split() if f != r"\Recent"))
                message_id = header.split(":", 1)[1].strip() if ":" in header else ""
                state[message_id] = (name, validity, uid, flags)
    return state


def send(port: int, password: str, message_id: str, subject: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        smtp.starttls(context=_tls())
        smtp.login(USER, password)
        smtp.sendmail(USER, [USER], _message(message_id, subject))


def wait_for(port: int, password: str, message_id: str, folder: str = "INBOX", timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = mailbox_state(port, password).get(message_id)
        if found and found[0] == folder:
            return
        time.sleep(2)
    raise AssertionError(f"{message_id} did not arrive in {folder} within {timeout:.0f} s")


def podman(*args: str) -> str:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=True, timeout=300).stdout


def make_sieve_active(name: str) -> None:
    """As ManageSieve stores it: the script under ~/sieve, ~/.dovecot.sieve linking to the active one."""
    script = f"mkdir -p {HOME}/sieve && cat > {HOME}/sieve/proof.sieve && ln -sfn sieve/proof.sieve " \
             f"{HOME}/.dovecot.sieve && chown -R vmail:vmail {HOME}/sieve {HOME}/.dovecot.sieve"
    subprocess.run(["podman", "exec", "-i", name, "sh", "-ec", script], input=SIEVE, text=True, check=True)


def dkim_public_key(name: str) -> str:
    """Derived from the private key rspamd signs with (not the published copy)."""
    key = f"/var/lib/rspamd/dkim/{sandbox.DEMO_DOMAIN}.mail.key"
    return podman("exec", name, "openssl", "pkey", "-in", key, "-pubout")


def exercise(env: dict[str, str], box: sandbox.Sandbox, password: str, run: Run, ok: Run) -> None:
    inv, ports = box.inventory, box.ports()
    write_backup_settings(inv)
    ok(run(env, "deploy", "-i", str(inv), "--tags", "backup", "--json"))
    fill_mailbox(ports["imaps"], password)
    make_sieve_active(box.name)
    send(ports["submission"], password, "<sieve-before@backup.test>", "sieve-proof before the backup")
    wait_for(ports["imaps"], password, "<sieve-before@backup.test>", "Projects")

    # A message sent while the backup runs: in this snapshot or the next, never torn.
    during: dict[str, Any] = {}
    backing_up = threading.Thread(target=lambda: during.update(result=run(env, "backup", "now", "-i", str(inv),
                                                                          "--json")))
    backing_up.start()
    time.sleep(1)
    send(ports["submission"], password, "<during-backup@backup.test>", "sent during the backup")
    backing_up.join()
    ok(during["result"])
    wait_for(ports["imaps"], password, "<during-backup@backup.test>")
    second = json.loads(ok(run(env, "backup", "now", "-i", str(inv), "--json")).stdout)
    assert second["ok"] and second["hosts"][0]["record"]["snapshot"], second
    listed = json.loads(ok(run(env, "backup", "list", "-i", str(inv), "--json")).stdout)
    assert len(listed["hosts"][0]["snapshots"]) >= 2, listed
    checked = json.loads(ok(run(env, "check", "-i", str(inv), "--json")).stdout)
    assert [c["status"] for c in checked["checks"] if c["name"] == "backup"] == ["pass"], checked

    before = mailbox_state(ports["imaps"], password)
    assert len(before) == sum(len(m) for m in MAIL.values()) + 2, before
    key = dkim_public_key(box.name)
    restored_env = {**env, "MAILPROV_RESTORE_NAME": f"{box.name}-restore",
                    "MAILPROV_RESTORE_PORT_BASE": str(ports["ssh"] - 22 + 600)}  # free in the sandbox's range
    with tempfile.TemporaryDirectory() as copy:
        podman("cp", f"{box.name}:{REPOSITORY}", f"{copy}/repo")  # the second disk, on this machine
        try:
            result = run(restored_env, "restore", "-i", str(inv), "--to-sandbox", "--keep",
                         "--repository-dir", f"{copy}/repo", "--json")
            summary = json.loads(result.stdout or "{}")
            assert result.returncode == 0 and summary["ok"], f"{result.stdout}\n{result.stderr}"
            restored = summary["container"]
            imaps = summary["ports"]["imaps"]
            assert mailbox_state(imaps, password) == before  # Message-ID, folder, UIDVALIDITY, UID, flags
            assert dkim_public_key(restored) == key
            send(summary["ports"]["submission"], password, "<sieve-after@backup.test>", "sieve-proof after restore")
            wait_for(imaps, password, "<sieve-after@backup.test>", "Projects")
        finally:
            subprocess.run(["podman", "rm", "-f", "-t", "5", f"{box.name}-restore"], capture_output=True, check=False)

    # The source now holds mail newer than the last snapshot: restore refuses to overwrite it.
    send(ports["submission"], password, "<after-backup@backup.test>", "newer than the snapshot")
    wait_for(ports["imaps"], password, "<after-backup@backup.test>")
    refused = run(env, "restore", "-i", str(inv))
    assert refused.returncode == 1 and "newer than snapshot" in refused.stdout + refused.stderr, refused
