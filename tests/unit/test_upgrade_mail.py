"""The mailboxes an upgrade rehearsal writes to, and their throwaway passwords (private copy only)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner

from provisioner.cli import main
from provisioner.inventory.probe_account import Credentials
from provisioner.inventory.store import load_inventory
from provisioner.rehearse.upgrade_mail import choose, mailboxes_for

PROBE = Credentials("mailprov-probe@example.org", "probe-secret")


@pytest.fixture
def five_boxes(inventory: Path) -> Path:
    for name in ("alice", "bob", "carol", "mailprov-probe"):
        result = CliRunner().invoke(main, ["user", "add", f"{name}@example.org", "--password-stdin", "-i",
                                           str(inventory)], input="operator-password\n", catch_exceptions=False)
        assert result.exit_code == 0, result.output
    return inventory


def hashes(inv: Path) -> dict[str, str]:
    return {m.address: m.password for m in load_inventory(inv).mailboxes}


def test_up_to_three_mailboxes_never_the_probe_account(five_boxes: Path) -> None:
    inventory = load_inventory(five_boxes)
    assert choose(inventory, PROBE) == ["postmaster@example.org", "alice@example.org", "bob@example.org"]
    assert choose(inventory, PROBE, limit=10)[-1] == "carol@example.org"
    assert "mailprov-probe@example.org" not in choose(inventory, PROBE, limit=10)


def test_throwaway_passwords_only_in_the_private_copy(five_boxes: Path, tmp_path: Path) -> None:
    original = hashes(five_boxes)
    copy = tmp_path / "private"
    shutil.copytree(five_boxes, copy)
    boxes = mailboxes_for(copy, load_inventory(five_boxes), PROBE)
    assert [b.address for b in boxes] == ["postmaster@example.org", "alice@example.org", "bob@example.org"]
    assert hashes(five_boxes) == original  # the operator's inventory is untouched
    changed = hashes(copy)
    for box in boxes:
        assert changed[box.address] != original[box.address]
        assert PasswordHasher().verify(changed[box.address].removeprefix("{ARGON2ID}"), box.password)
        assert box.password not in repr(box) and len(box.password) >= 24
    assert changed["carol@example.org"] == original["carol@example.org"]
    assert changed[PROBE.address] == original[PROBE.address]  # `check` still logs in with its password
    assert len({b.password for b in boxes}) == 3


def test_only_the_probe_account_then_it_is_used_as_it_is(inventory: Path, tmp_path: Path) -> None:
    alone = tmp_path / "alone"
    shutil.copytree(inventory, alone)
    postmaster = Credentials("postmaster@example.org", "x")
    assert mailboxes_for(alone, load_inventory(alone), postmaster) == [postmaster]
