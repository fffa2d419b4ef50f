"""Runner plumbing that needs no Ansible run: vault lookup, environment, playbooks."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from provisioner.inventory.vault import VAULT_ENV, VaultFileError, find_vault_password_file
from provisioner.runner.options import AnsibleOptions, PlaybookRun
from provisioner.runner.run import (
    ansible_env,
    run_playbook,
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
    run = with_vault(PlaybookRun(Path("/pb.yml"), tmp_path, AnsibleOptions(limit="m1", tags=("a",), check=True)))
    assert run.options.vault_password_file == secret.resolve()
    assert (run.options.limit, run.options.tags, run.options.check) == ("m1", ("a",), True)  # the rest kept
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


def test_env_of_an_earlier_release_uses_its_roles_and_config(tmp_path: Path) -> None:
    (tmp_path / "roles").mkdir()
    assert ansible_env(tmp_path)["ANSIBLE_ROLES_PATH"] == str(tmp_path / "roles")
    assert "ANSIBLE_CONFIG" not in ansible_env(tmp_path)  # it shipped none: not ours either
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    assert ansible_env(tmp_path)["ANSIBLE_CONFIG"] == str(tmp_path / "ansible.cfg")
    assert ansible_env()["ANSIBLE_ROLES_PATH"] != str(tmp_path / "roles")


@pytest.fixture
def fake_runner(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Stub ``ansible_runner.run``: record its arguments and the data dir as it was then."""
    import ansible_runner

    calls: list[dict[str, Any]] = []

    def run(**kwargs: Any) -> SimpleNamespace:
        data_dir = Path(kwargs["private_data_dir"])
        calls.append({**kwargs, "mode": data_dir.stat().st_mode & 0o777, "entries": list(data_dir.iterdir())})
        (data_dir / "artifacts").mkdir()  # what ansible-runner leaves behind
        kwargs["event_handler"]({"event": "playbook_on_start", "event_data": {}})
        return SimpleNamespace(rc=2)

    monkeypatch.setattr(ansible_runner, "run", run)
    return calls


def test_run_playbook_private_dir_removed(fake_runner: list[dict[str, Any]]) -> None:
    seen: list[str] = []
    run = PlaybookRun(Path("/pb/site.yml"), Path("/inv"), AnsibleOptions(tags=("accounts",)))
    result = run_playbook(run, on_event=lambda event, _: seen.append(event["event"]))
    [call] = fake_runner
    assert result.rc == 2  # Ansible's own
    assert call["suppress_env_files"] is True
    assert call["mode"] == 0o700 and call["entries"] == []  # fresh and private
    assert call["playbook"] == "/pb/site.yml" and call["cmdline"] == "--tags accounts"
    assert call["envvars"]["ANSIBLE_NOCOLOR"] == "1"
    assert not Path(call["private_data_dir"]).exists()
    assert result.artifacts is None
    assert seen == ["playbook_on_start"]


def test_run_playbook_keep_artifacts(fake_runner: list[dict[str, Any]]) -> None:
    result = run_playbook(PlaybookRun(Path("/pb/site.yml"), Path("/inv")), keep_artifacts=True)
    try:
        data_dir = Path(fake_runner[0]["private_data_dir"])
        assert result.artifacts == data_dir
        assert (data_dir / "artifacts").is_dir()
    finally:
        shutil.rmtree(fake_runner[0]["private_data_dir"])


def test_run_playbook_fresh_dir_each_run(fake_runner: list[dict[str, Any]]) -> None:
    run_playbook(PlaybookRun(Path("/pb/site.yml"), Path("/inv")))
    run_playbook(PlaybookRun(Path("/pb/site.yml"), Path("/inv")))
    assert fake_runner[0]["private_data_dir"] != fake_runner[1]["private_data_dir"]


def test_host_key_checking_stays_on_through_ansible_runner(tmp_path: Path) -> None:
    """ansible-runner sets ANSIBLE_HOST_KEY_CHECKING=False unless the env already has it."""
    from ansible_runner.config.runner import RunnerConfig

    playbook = tmp_path / "pb.yml"
    playbook.write_text("- hosts: all\n  tasks: []\n")
    config = RunnerConfig(private_data_dir=str(tmp_path / "run"), playbook=str(playbook),
                          envvars=ansible_env(), suppress_env_files=True)
    config.prepare()
    assert config.env["ANSIBLE_HOST_KEY_CHECKING"] == "True"
