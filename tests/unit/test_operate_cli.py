"""deploy / apply / check commands without running Ansible: validation first, argv, exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from provisioner.probe import checks as probe
from provisioner.probe.session import need_creds
from provisioner.runner import run as runner_run
from provisioner.runner.options import PlaybookRun
from provisioner.runner.progress import Progress
from provisioner.runner.run import RunResult


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[PlaybookRun]:
    """Record what would run; pretend Ansible returned rc 4 (unreachable)."""
    seen: list[PlaybookRun] = []

    def fake_run(run: PlaybookRun, **_: Any) -> RunResult:
        seen.append(run)
        progress = Progress()
        progress.handle(
            {
                "event": "runner_on_unreachable",
                "event_data": {"host": "mail.example.org", "task": "Gathering Facts", "res": {"msg": "no route"}},
            }
        )
        return RunResult(rc=4, progress=progress)

    # Only Ansible itself is faked: validation and the vault lookup of runner.execute stay real.
    monkeypatch.setattr(runner_run, "run_playbook", fake_run)
    monkeypatch.setattr(runner_run, "count_tasks", lambda *_: None)
    monkeypatch.delenv("MAILPROV_VAULT_PASSWORD_FILE", raising=False)
    return seen


def test_deploy_argv_and_exit_code(
    cli: Callable[..., Result], runs: list[PlaybookRun], inventory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(inventory.parent)
    (inventory.parent / "extra.yml").write_text("a: 1\n")
    result = cli("deploy", "-t", "accounts", "--check", "--diff", "-e", "@extra.yml", "-l", "mail.example.org")
    assert result.exit_code == 4  # Ansible's own
    [run] = runs
    argv = run.argv()
    assert argv[:3] == ["ansible-playbook", "-i", str(inventory.resolve())]
    assert argv[3:] == [
        "--limit",
        "mail.example.org",
        "--tags",
        "accounts",
        "--check",
        "--diff",
        "-e",
        f"@{inventory.parent.resolve() / 'extra.yml'}",
        str(run.playbook),
    ]
    assert run.playbook.name == "site.yml"
    assert "UNREACHABLE mail.example.org" in result.output
    assert "no route" in result.output


def test_deploy_missing_extra_vars_file_runs_nothing(
    cli: Callable[..., Result], runs: list[PlaybookRun], inventory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(inventory.parent)
    result = cli("deploy", "-e", "@missing.yml")
    assert result.exit_code == 2
    assert "missing.yml: no such file" in result.output
    assert runs == []


def test_deploy_json_summary(cli: Callable[..., Result], runs: list[PlaybookRun]) -> None:
    result = cli("deploy", "--json")
    assert result.exit_code == 4
    start = result.output.index("{")
    summary = json.loads(result.output[start : result.output.rindex("}") + 1])
    assert summary["rc"] == 4 and summary["ok"] is False
    assert summary["failures"][0]["unreachable"] is True


def test_apply_accounts_uses_accounts_playbook(cli: Callable[..., Result], runs: list[PlaybookRun]) -> None:
    cli("apply", "accounts")
    assert runs[0].playbook.name == "accounts.yml"


def test_vault_password_file_is_passed(cli: Callable[..., Result], runs: list[PlaybookRun], inventory: Path) -> None:
    secret = inventory / ".vault-password"
    secret.write_text("x\n")
    secret.chmod(0o600)
    cli("deploy")
    assert runs[0].options.vault_password_file == secret.resolve()


def test_unsafe_vault_file_exit_2(cli: Callable[..., Result], runs: list[PlaybookRun], inventory: Path) -> None:
    secret = inventory / ".vault-password"
    secret.write_text("x\n")
    secret.chmod(0o644)
    result = cli("deploy")
    assert result.exit_code == 2
    assert runs == []


def test_invalid_inventory_runs_nothing(
    cli: Callable[..., Result], runs: list[PlaybookRun], accounts_file: Path
) -> None:
    accounts_file.write_text(accounts_file.read_text().replace("quota: 2G", "quota: lots"))
    result = cli("deploy")
    assert result.exit_code == 2
    assert runs == []


def test_check_password_stdin_needs_user(cli: Callable[..., Result]) -> None:
    assert cli("check", "--password-stdin", input="x\n").exit_code == 2


@pytest.fixture
def login_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """`check` with one probe standing for all: the login guard, no network."""

    def fake_run_checks(target: probe.Target, on_check: Any = None) -> list[probe.Check]:
        return [probe._timed(target.host, "AUTH + send", lambda: need_creds(target).address)]

    monkeypatch.setattr(probe, "run_checks", fake_run_checks)


def test_check_without_account_fails_and_says_why(cli: Callable[..., Result], login_probe: None) -> None:
    result = cli("check")
    assert result.exit_code == 1
    assert "no account to log in with" in result.output
    assert "--no-login" in result.output


def test_check_no_login_skips_on_purpose(cli: Callable[..., Result], login_probe: None) -> None:
    result = cli("check", "--no-login")
    assert result.exit_code == 0
    assert "login checks skipped (--no-login)" in result.output


def test_check_no_login_excludes_user(cli: Callable[..., Result], login_probe: None) -> None:
    assert cli("check", "--no-login", "--user", "a@example.org", "--password-stdin", input="x\n").exit_code == 2
