"""The upgrade from the last release to this tree, end to end, through the real command.

`mailprov rehearse --upgrade-from <baseline> --json` on a one-host trixie
inventory made like an operator makes it (`init`, two more mailboxes with
`user add`, `probe-account create`). The baseline is the commit or tag named
in tests/e2e/upgrade_baseline; it must be in this checkout's history (.ci/run
unshallows a shallow clone), else the test fails: an upgrade path nobody
tests is one that breaks.

Needs root, podman, git and the local trixie image (built on demand).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from rehearsal_support import mailprov, ok, operator_inventory

from provisioner.rehearse import rehearsal as rehearse

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_rehearsal_leftovers")]

REPO = Path(__file__).resolve().parents[2]
BASELINE_FILE = Path(__file__).with_name("upgrade_baseline")
MORE_MAILBOXES = ("alice@example.org", "bob@example.org")


def baseline() -> str:
    lines = [line.strip() for line in BASELINE_FILE.read_text().splitlines()]
    refs = [line for line in lines if line and not line.startswith("#")]
    assert len(refs) == 1, f"{BASELINE_FILE}: want exactly one ref, found {refs}"
    return refs[0]


def baseline_commit(ref: str) -> str:
    found = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
                           capture_output=True, text=True, check=False)
    if found.returncode != 0:
        pytest.fail(f"upgrade baseline {ref} ({BASELINE_FILE}) is not in this checkout's history; "
                    "run `git fetch --unshallow` (.ci/run does)")
    return found.stdout.strip()


@pytest.fixture(scope="module")
def one_host(tmp_path_factory: pytest.TempPathFactory) -> Path:
    inv = operator_inventory(tmp_path_factory.mktemp("upgrade") / "inventory")
    for address in MORE_MAILBOXES:
        ok(mailprov("user", "add", address, "--password-stdin", "-i", str(inv), stdin="not-used-by-the-test\n"))
    ok(mailprov("validate", "-i", str(inv)))
    return inv


def test_upgrade_from_the_baseline_keeps_mail_and_converges_cleanly(one_host: Path) -> None:
    ref = baseline()
    commit = baseline_commit(ref)
    result = mailprov("rehearse", "-i", str(one_host), "--upgrade-from", ref, "--json")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "{ARGON2ID}" not in output and "$argon2" not in output  # no hash, let alone a password
    summary = json.loads(result.stdout)
    assert summary["ok"] is True
    assert summary["upgrade_from"] == {"ref": ref, "kind": "git", "commit": commit, "wheel": None, "version": None}
    assert [r["phase"] for r in summary["runs"]] == ["old converge", "new converge", "idempotence"]
    assert all(r["rc"] == 0 for r in summary["runs"]), summary["runs"]
    # postmaster@ (from init) and the two added; never the probe account (check needs its password)
    assert sorted(summary["mailboxes"]) == sorted(["postmaster@example.org", *MORE_MAILBOXES])
    [host] = summary["hosts"]
    assert host["host"] == "mail.example.org" and host["release"] == "trixie"
    assert host["ok"] is True
    assert host["old_converge"]["ok"] and host["old_converge"]["changed"] > 0, host["old_converge"]
    mail = host["mail"]
    assert mail["ok"] and mail["sent"] == 6 and mail["delivered"] == 6, mail
    assert len(set(mail["message_ids"])) == 6
    assert host["new_converge"]["ok"], host["new_converge"]
    readable = host["mail_readable"]
    assert readable["ok"] and readable["readable"] == 6 and readable["missing"] == [], readable
    assert host["checks"]["ok"] and host["checks"]["failed"] == [] and host["checks"]["passed"] >= 15, host["checks"]
    again = host["idempotence"]
    assert again["ok"] and again["idempotent"] and again["changed"] == 0 and again["changed_tasks"] == [], again
    config = host["config_changes"]
    assert config["compared"] is True and config["error"] is None and isinstance(config["summary"], str), config
    for change in config["files"]:
        assert change["status"] in ("added", "removed", "changed"), change
        if change["secret"]:
            assert change["diff"] is None and change["added_lines"] is None, change
        elif change["added_lines"] is not None:
            assert change["diff"], change
    assert rehearse.leftover_containers() == []
