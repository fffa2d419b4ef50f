"""Runner plumbing that needs no Ansible run: vault lookup, environment, playbooks."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from provisioner.inventory.vault import VAULT_ENV, VaultFileError, find_vault_password_file
from provisioner.problems import InventoryInvalid
from provisioner.runner import run as runner_run
from provisioner.runner.options import AnsibleOptions, PlaybookRun
from provisioner.runner.run import (
    ansible_env,
    execute,
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


# --- execute: the one call every command makes -------------------------------------------------

@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """Stub the task count (an extra ansible-playbook): record the environment it was given."""
    envs: list[dict[str, str]] = []

    def count(run: PlaybookRun, env: dict[str, str]) -> int:
        envs.append(env)
        return 7

    monkeypatch.setattr(runner_run, "count_tasks", count)
    return envs


def test_execute_validates_before_anything_runs(
    inventory: Path, accounts_file: Path, fake_runner: list[dict[str, Any]], counted: list[dict[str, str]]
) -> None:
    accounts_file.write_text(accounts_file.read_text().replace("quota: 2G", "quota: lots"))
    with pytest.raises(InventoryInvalid):
        execute(PlaybookRun(Path("/pb/site.yml"), inventory))
    assert fake_runner == [] and counted == []


def test_execute_completes_the_run_then_counts_then_runs(
    inventory: Path, monkeypatch: pytest.MonkeyPatch, fake_runner: list[dict[str, Any]],
    counted: list[dict[str, str]],
) -> None:
    monkeypatch.delenv(VAULT_ENV, raising=False)
    monkeypatch.chdir(inventory.parent)
    secret = inventory / ".vault-password"
    secret.write_text("x\n")
    secret.chmod(0o600)
    started: list[PlaybookRun] = []
    result = execute(PlaybookRun(Path("/pb/site.yml"), Path(inventory.name)), on_start=started.append)
    [run] = started
    assert run.inventory == inventory.resolve()  # absolute: ansible-runner works in its own dir
    assert run.options.vault_password_file == secret.resolve()
    assert result.rc == 2 and result.progress.tasks_total == 7
    assert fake_runner[0]["inventory"] == str(inventory.resolve())
    assert "--vault-password-file" in fake_runner[0]["cmdline"]


def test_execute_unsafe_vault_file_runs_nothing(
    inventory: Path, monkeypatch: pytest.MonkeyPatch, fake_runner: list[dict[str, Any]]
) -> None:
    monkeypatch.delenv(VAULT_ENV, raising=False)
    secret = inventory / ".vault-password"
    secret.write_text("x\n")
    secret.chmod(0o644)
    with pytest.raises(VaultFileError):
        execute(PlaybookRun(Path("/pb/site.yml"), inventory))
    assert fake_runner == []


def test_execute_without_count_and_with_a_bundle(
    inventory: Path, tmp_path: Path, fake_runner: list[dict[str, Any]], counted: list[dict[str, str]]
) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "roles").mkdir(parents=True)
    result = execute(PlaybookRun(bundle / "site.yml", inventory, bundle=bundle), count=False)
    assert counted == [] and result.progress.tasks_total is None
    assert fake_runner[0]["envvars"]["ANSIBLE_ROLES_PATH"] == str(bundle / "roles")
    execute(PlaybookRun(bundle / "site.yml", inventory, bundle=bundle))
    assert counted[0]["ANSIBLE_ROLES_PATH"] == str(bundle / "roles")  # counted with the same roles
