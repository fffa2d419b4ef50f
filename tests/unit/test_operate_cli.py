"""deploy / apply / check commands without running Ansible: validation first, argv, exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from provisioner import __version__
from provisioner.cli import check as check_cli
from provisioner.cli import main
from provisioner.inventory.probe_account import create as create_probe_account
from provisioner.probe import checks as probe
from provisioner.probe.session import need_creds
from provisioner.resources import source_commit
from provisioner.runner import run as runner_run
from provisioner.runner.options import PlaybookRun
from provisioner.runner.progress import HostCounts, Progress
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
    status_read, run = runs  # --check: the deployed accounts are read first (read-only)
    assert status_read.playbook.name == "status.yml" and status_read.options.tags == ("accounts",)
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
        json.dumps({"mailprov_version": __version__, "mailprov_commit": source_commit() or ""}),
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

    def fake_run_checks(target: probe.Target, on_check: Any = None, inventory: Any = None) -> list[probe.Check]:
        return [probe._timed(target.host, "AUTH + send", lambda: need_creds(target).address)]

    monkeypatch.setattr(probe, "run_checks", fake_run_checks)
    # The protections are read over SSH (status.yml): nothing answers here.
    monkeypatch.setattr(check_cli, "read_protection", lambda *_: {})


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


# -- deploy runs `check` at the end --------------------------------------------------------------

@pytest.fixture
def green_deploy(monkeypatch: pytest.MonkeyPatch) -> list[PlaybookRun]:
    """Ansible 'succeeds' on the sample's host (rc 0, 3 changed)."""
    seen: list[PlaybookRun] = []

    def fake_run(run: PlaybookRun, **_: Any) -> RunResult:
        seen.append(run)
        progress = Progress()
        progress.hosts["mail.example.org"] = HostCounts(ok=40, changed=3)
        return RunResult(rc=0, progress=progress)

    monkeypatch.setattr(runner_run, "run_playbook", fake_run)
    monkeypatch.setattr(runner_run, "count_tasks", lambda *_: None)
    monkeypatch.delenv("MAILPROV_VAULT_PASSWORD_FILE", raising=False)
    return seen


def fake_checks(monkeypatch: pytest.MonkeyPatch, failing: str | None = None) -> list[probe.Target]:
    seen: list[probe.Target] = []

    def run_checks(target: probe.Target, on_check: Any = None, inventory: Any = None) -> list[probe.Check]:
        seen.append(target)
        return [probe.Check(target.host, name, "fail" if name == failing else "pass", "fine")
                for name in ("SMTP banner", "IMAPS login")]

    monkeypatch.setattr(probe, "run_checks", run_checks)
    return seen


def test_deploy_checks_the_deployed_hosts_with_the_probe_account(
    cli: Callable[..., Result], green_deploy: list[PlaybookRun], inventory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_probe_account(inventory)
    seen = fake_checks(monkeypatch)
    result = cli("deploy")
    assert result.exit_code == 0, result.output
    [target] = seen
    assert target.host == "mail.example.org" and target.login and target.creds is not None
    assert "done: 3 changed; 2/2 checks passed" in result.output
    assert "IMAPS login" in result.output  # the check table


def test_deploy_with_a_failed_check_exits_1_and_says_which(
    cli: Callable[..., Result], green_deploy: list[PlaybookRun], inventory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_probe_account(inventory)
    fake_checks(monkeypatch, failing="IMAPS login")
    result = cli("deploy")
    assert result.exit_code == 1
    assert "deployed, but the server does not work" in result.output
    assert "1/2 checks passed; failed: mail.example.org: IMAPS login" in " ".join(result.output.split())


def test_deploy_json_folds_the_checks_in(
    cli: Callable[..., Result], green_deploy: list[PlaybookRun], inventory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_probe_account(inventory)
    fake_checks(monkeypatch, failing="SMTP banner")
    result = CliRunner().invoke(main, ["deploy", "--json", "-i", str(inventory)], catch_exceptions=False)
    summary = json.loads(result.stdout)
    assert result.exit_code == 1 and summary["rc"] == 0 and summary["exit"] == 1
    assert summary["check"]["ok"] is False and len(summary["check"]["checks"]) == 2


@pytest.mark.parametrize("flag", ["--no-check", "--check"])
def test_deploy_no_check_and_dry_run_skip_the_checks(
    cli: Callable[..., Result], green_deploy: list[PlaybookRun], monkeypatch: pytest.MonkeyPatch, flag: str
) -> None:
    seen = fake_checks(monkeypatch, failing="SMTP banner")
    result = cli("deploy", flag)
    assert result.exit_code == 0 and seen == []


def test_failed_deploy_runs_no_checks(
    cli: Callable[..., Result], runs: list[PlaybookRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = fake_checks(monkeypatch)
    result = cli("deploy")
    assert result.exit_code == 4 and seen == [] and "deploy failed: checks not run" in result.output


def test_deploy_without_probe_account_skips_only_the_logins(
    cli: Callable[..., Result], green_deploy: list[PlaybookRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = fake_checks(monkeypatch)
    result = cli("deploy")
    assert result.exit_code == 0
    assert [t.login for t in seen] == [False]
    assert "login checks skipped" in result.output and "probe-account create" in result.output
