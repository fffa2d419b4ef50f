"""Runner plumbing that needs no Ansible run: vault lookup, environment, playbooks."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from provisioner.ansible_args import PlaybookRun
from provisioner.runner import (
    VAULT_ENV,
    VaultFileError,
    ansible_env,
    find_vault_password_file,
    with_vault,
)


def test_no_vault_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VAULT_ENV, raising=False)
    assert find_vault_password_file(tmp_path) is None


def test_vault_file_next_to_inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VAULT_ENV, raising=False)
    secret = tmp_path / ".vault-password"
    secret.write_text("s3cret\n")
    secret.chmod(0o600)
    run = with_vault(PlaybookRun(Path("/pb.yml"), tmp_path))
    assert run.options.vault_password_file == secret.resolve()
    assert "s3cret" not in " ".join(run.argv())


def test_vault_file_readable_by_others_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(VAULT_ENV, raising=False)
    secret = tmp_path / ".vault-password"
    secret.write_text("s3cret\n")
    secret.chmod(0o644)
    with pytest.raises(VaultFileError, match="chmod 600"):
        find_vault_password_file(tmp_path)


def test_vault_env_must_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAULT_ENV, str(tmp_path / "missing"))
    with pytest.raises(VaultFileError, match="no such file"):
        find_vault_password_file(tmp_path)


def test_env_puts_our_interpreter_first_on_path() -> None:
    env = ansible_env()
    assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)
