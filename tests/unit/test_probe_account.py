"""`mailprov probe-account create` on an ordinary inventory (the sample)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import Result

from provisioner.inventory.probe_account import PROBE_FILE_NAME, load
from provisioner.inventory.store import load_inventory


@pytest.fixture(autouse=True)
def _no_vault_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAILPROV_VAULT_PASSWORD_FILE", raising=False)


def test_create_adds_a_hashed_mailbox_and_a_vaulted_password(cli: Callable[..., Result], inventory: Path) -> None:
    result = cli("probe-account", "create")
    assert result.exit_code == 0, result.output
    assert "mailprov-probe@example.org" in result.output
    assert "deploy --tags accounts" in result.output
    creds = load(inventory)
    assert creds is not None and creds.address == "mailprov-probe@example.org"
    assert creds.password not in result.output
    [mailbox] = [m for m in load_inventory(inventory).mailboxes if m.address == creds.address]
    assert PasswordHasher().verify(mailbox.password.removeprefix("{ARGON2ID}"), creds.password)
    text = "".join(p.read_text() for p in inventory.rglob("*.yml"))
    assert creds.password not in text
    assert (inventory / ".vault-password").stat().st_mode & 0o777 == 0o600
    assert (inventory / PROBE_FILE_NAME).stat().st_mode & 0o777 == 0o600
    assert (inventory / PROBE_FILE_NAME).read_text().startswith("$ANSIBLE_VAULT;")


def test_existing_vault_password_is_reused(cli: Callable[..., Result], inventory: Path) -> None:
    secret = inventory / ".vault-password"
    secret.write_text("kept\n")
    secret.chmod(0o600)
    assert cli("probe-account", "create", "--address", "probe@example.org").exit_code == 0
    assert secret.read_text() == "kept\n"
    creds = load(inventory)
    assert creds is not None and creds.address == "probe@example.org"


def test_second_create_is_refused_and_changes_nothing(
    cli: Callable[..., Result], inventory: Path, accounts_file: Path
) -> None:
    assert cli("probe-account", "create").exit_code == 0
    before = accounts_file.read_text(), (inventory / PROBE_FILE_NAME).read_bytes()
    result = cli("probe-account", "create")
    assert result.exit_code == 2
    assert "probe account already" in result.output
    assert (accounts_file.read_text(), (inventory / PROBE_FILE_NAME).read_bytes()) == before


def test_existing_mailbox_is_refused_and_no_vault_file_left(
    cli: Callable[..., Result], inventory: Path, accounts_file: Path
) -> None:
    before = accounts_file.read_text()
    result = cli("probe-account", "create", "--address", "postmaster@example.org")
    assert result.exit_code == 2
    assert accounts_file.read_text() == before
    assert not (inventory / PROBE_FILE_NAME).exists()
