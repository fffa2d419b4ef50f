"""roles/dovecot/files/mailprov-dovecot-inbox-layout on real Maildir trees (no container).

The script runs as root on the server; here it runs with this interpreter on
a temporary vmail home laid out as Dovecot 2.4 left it with an empty
`mail_inbox_path` (INBOX in Maildir/.INBOX).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "roles/dovecot/files/mailprov-dovecot-inbox-layout"
VMAIL_UID = 5000  # the role's default vmail uid: ownership must survive the move
IS_ROOT = os.geteuid() == 0


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if IS_ROOT:
        os.chown(path, VMAIL_UID, VMAIL_UID)
        os.chown(path.parent, VMAIL_UID, VMAIL_UID)
    return path


def old_layout(vmail: Path, user: str = "alice") -> Path:
    """A Maildir whose INBOX lives in .INBOX, with Dovecot's files and one root message."""
    maildir = vmail / "example.org" / user / "Maildir"
    inbox = maildir / ".INBOX"
    write(inbox / "new" / "1700000001.M1P1.mail,S=10,W=11", "new one\n")
    write(inbox / "new" / "1700000002.M2P1.mail,S=10,W=11", "clash in .INBOX\n")
    write(inbox / "cur" / "1700000003.M3P1.mail,S=10,W=11:2,Sa", "seen, keyword a\n")
    write(inbox / "tmp" / "1700000004.M4P1.mail", "never finished\n")
    for name in ("dovecot-uidlist", "dovecot.index", "dovecot.index.log", "dovecot.index.cache", "maildirfolder"):
        write(inbox / name, "index\n")
    write(inbox / "dovecot-keywords", "0 $Forwarded\n")
    write(maildir / "cur" / "1700000002.M2P1.mail,S=10,W=11:2,S", "clash in the root\n")
    write(maildir / "dovecot.list.index.log", "list index\n")
    (maildir / "new").mkdir()
    return maildir


def test_moves_mail_to_the_root_without_overwriting_and_keeps_owner(tmp_path: Path) -> None:
    maildir = old_layout(tmp_path)
    result = run(str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "moved 3 messages of example.org/alice to INBOX (2 from .INBOX/new, 1 from .INBOX/cur)"
    ]
    assert not (maildir / ".INBOX").exists()
    new = {p.name: p.read_text() for p in (maildir / "new").iterdir()}
    cur = {p.name: p.read_text() for p in (maildir / "cur").iterdir()}
    assert new["1700000001.M1P1.mail,S=10,W=11"] == "new one\n"
    # same unique part as a root message: a new unique part, size fields and content kept
    assert new["1700000002.M2P1.mail.inbox1,S=10,W=11"] == "clash in .INBOX\n"
    assert cur["1700000002.M2P1.mail,S=10,W=11:2,S"] == "clash in the root\n"
    assert cur["1700000003.M3P1.mail,S=10,W=11:2,Sa"] == "seen, keyword a\n"  # flags survive
    assert len(new) == 2 and len(cur) == 2
    assert (maildir / "dovecot-keywords").read_text() == "0 $Forwarded\n"  # letter a still means it
    assert not (maildir / "dovecot.list.index.log").exists()  # Dovecot rebuilds the folder list
    if IS_ROOT:
        moved = [*(maildir / "new").iterdir(), *(maildir / "cur").iterdir(), maildir / "dovecot-keywords"]
        assert {(p.stat().st_uid, p.stat().st_gid) for p in moved} == {(VMAIL_UID, VMAIL_UID)}
    again = run(str(tmp_path))
    assert (again.returncode, again.stdout) == (0, "nothing to move\n")


def test_check_lists_pending_mailboxes_and_changes_nothing(tmp_path: Path) -> None:
    old_layout(tmp_path, "alice")
    old_layout(tmp_path, "bob")
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    result = run("--check", str(tmp_path))
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "pending example.org/alice: 3 messages in .INBOX",
        "pending example.org/bob: 3 messages in .INBOX",
    ]
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_different_keyword_lists_are_reported_and_the_root_one_kept(tmp_path: Path) -> None:
    maildir = old_layout(tmp_path)
    write(maildir / "dovecot-keywords", "0 $Junk\n")
    result = run(str(tmp_path))
    assert result.returncode == 0
    assert "differ; messages keep their keyword letters" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("moved 3 messages of example.org/alice")
    assert (maildir / "dovecot-keywords").read_text() == "0 $Junk\n"


def test_unknown_files_keep_the_old_folder(tmp_path: Path) -> None:
    maildir = old_layout(tmp_path)
    write(maildir / ".INBOX" / "notes.txt", "the operator's\n")
    result = run(str(tmp_path))
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == f"warning: kept {maildir / '.INBOX'}: it also holds notes.txt"
    assert (maildir / ".INBOX" / "notes.txt").exists()
    assert len(list((maildir / "new").iterdir())) == 2  # the mail moved all the same


def test_an_empty_old_folder_is_removed(tmp_path: Path) -> None:
    maildir = tmp_path / "example.org" / "carol" / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / ".INBOX" / sub).mkdir(parents=True)
    result = run(str(tmp_path))
    assert (result.returncode, result.stdout) == (0, "removed the empty .INBOX folder of example.org/carol\n")
    assert not (maildir / ".INBOX").exists()


@pytest.mark.parametrize("args", [[], ["--check"]])
def test_nothing_to_do_is_success(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "example.org" / "dave" / "Maildir" / "cur").mkdir(parents=True)
    result = run(*args, str(tmp_path))
    assert (result.returncode, result.stdout) == (0, "nothing to move\n")
    missing = run(*args, str(tmp_path / "absent"))
    assert missing.returncode == 0 and "does not exist" in missing.stdout


def test_bad_arguments() -> None:
    result = run("--force")
    assert result.returncode == 2 and "usage:" in result.stderr
