"""`rehearse` without containers: podman, the playbook run and the probes are faked."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from rehearse_fakes import Deploy, FakePodman, fake_deploy

from provisioner.cli import main
from provisioner.inventory.probe_account import create as create_probe_account
from provisioner.probe import checks as probe
from provisioner.rehearse import rehearsal as rehearse
from provisioner.runner.progress import Failure, HostCounts, Progress, failure_message
from provisioner.runner.run import RunResult
from provisioner.sandbox import container

SECOND_HOST = """\
        mail2.example.org:
          ansible_host: 198.51.100.20
          mail_hostname: mail2.example.org
          mailprov_release: bookworm
"""


@pytest.fixture
def two_hosts(inventory: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("MAILPROV_VAULT_PASSWORD_FILE", raising=False)
    hosts = inventory / "hosts.yml"
    hosts.write_text(hosts.read_text() + SECOND_HOST)
    create_probe_account(inventory)
    return inventory


def deployed(failed_host: str | None = None) -> Deploy:
    def behaviour(run: Any, **_: Any) -> RunResult:
        progress = Progress()
        for host in ("mail.example.org", "mail2.example.org"):
            progress.hosts[host] = HostCounts(ok=30, changed=20, failed=int(host == failed_host))
        if failed_host:
            progress.failures.append(Failure(failed_host, "postfix : Check the configuration", "bogus value"))
        return RunResult(rc=2 if failed_host else 0, progress=progress)

    return behaviour


def passing_checks(monkeypatch: pytest.MonkeyPatch, fail_on: str | None = None) -> list[str]:
    seen: list[str] = []

    def run_checks(target: probe.Target, on_check: Any = None, inventory: Any = None) -> list[probe.Check]:
        seen.append(f"{target.host}@{target.address}:{target.ports['imaps']}")
        status = "fail" if target.host == fail_on else "pass"
        return [probe.Check(target.host, "imaps", status, "seen")]

    monkeypatch.setattr(probe, "run_checks", run_checks)
    return seen


def invoke(inventory: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["rehearse", "-i", str(inventory), *args], catch_exceptions=False)


def test_success_deploys_once_checks_each_container_and_cleans_up(
    two_hosts: Path, podman: FakePodman, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = fake_deploy(monkeypatch, deployed())
    seen = passing_checks(monkeypatch)
    result = invoke(two_hosts)
    assert result.exit_code == 0, result.output
    assert [(m.name, m.release, m.hostname) for m in podman.started] == [
        ("mailprov-rehearse-0", "trixie", "mail.example.org"),
        ("mailprov-rehearse-1", "bookworm", "mail2.example.org"),
    ]
    assert seen == ["mail.example.org@127.0.0.1:16093", "mail2.example.org@127.0.0.1:16193"]
    [run] = calls
    assert run.playbook.name == "site.yml"
    assert run.inventory != two_hosts and run.inventory.name == "inventory"
    assert run.options.vault_password_file == (two_hosts / ".vault-password").resolve()
    assert run.options.extra_vars[0].endswith("/connection.yml")
    assert podman.running == set() and not run.inventory.exists()  # containers and copy removed
    assert "rehearsal passed" in result.output


def test_failed_deploy_is_reported_with_host_task_message_and_cleaned_up(
    two_hosts: Path, podman: FakePodman, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = fake_deploy(monkeypatch, deployed(failed_host="mail2.example.org"))
    seen = passing_checks(monkeypatch)
    result = invoke(two_hosts)
    assert result.exit_code == 1
    assert "FAILED mail2.example.org  postfix : Check the configuration" in result.output
    assert "bogus value" in result.output and "rehearsal failed" in result.output
    assert seen == ["mail.example.org@127.0.0.1:16093"]  # no checks where the deploy failed
    assert podman.running == set() and not calls[0].inventory.exists()


def test_failed_check_fails_the_rehearsal(
    two_hosts: Path, podman: FakePodman, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_deploy(monkeypatch, deployed())
    passing_checks(monkeypatch, fail_on="mail.example.org")
    result = CliRunner().invoke(main, ["rehearse", "-i", str(two_hosts), "--json"], catch_exceptions=False)
    assert result.exit_code == 1
    assert "CHECK FAILED" in result.stderr


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError, rehearse.Terminated])
def test_cleanup_on_interrupt_and_crash(
    two_hosts: Path, podman: FakePodman, monkeypatch: pytest.MonkeyPatch, error: type[BaseException]
) -> None:
    workdirs: list[Path] = []

    def boom(run: Any, **_: Any) -> RunResult:
        workdirs.append(run.inventory.parent)
        raise error

    fake_deploy(monkeypatch, boom)
    with pytest.raises(error):
        rehearse.rehearse(two_hosts)
    assert sorted(podman.removed) == ["mailprov-rehearse-0", "mailprov-rehearse-1"]
    assert podman.running == set() and not workdirs[0].exists()


def test_cleanup_when_a_container_fails_to_start(
    two_hosts: Path, podman: FakePodman, monkeypatch: pytest.MonkeyPatch
) -> None:
    def second_fails(machine: container.Machine) -> None:
        if machine.name.endswith("-1"):
            raise container.ContainerError("podman run failed: port in use")
        podman.start(machine)

    monkeypatch.setattr(container, "start", second_fails)
    calls = fake_deploy(monkeypatch, deployed())
    result = invoke(two_hosts)
    assert result.exit_code == 1 and "port in use" in result.output
    assert calls == [] and podman.running == set()


def test_keep_leaves_containers_and_says_how_to_reach_them(
    two_hosts: Path, podman: FakePodman, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    calls = fake_deploy(monkeypatch, deployed())
    passing_checks(monkeypatch)
    result = invoke(two_hosts, "--keep", "--limit", "mail2.example.org")
    request.addfinalizer(lambda: shutil.rmtree(calls[0].inventory.parent, ignore_errors=True))
    assert result.exit_code == 0, result.output
    assert podman.running == {"mailprov-rehearse-0"} and calls[0].inventory.exists()
    assert "podman exec -it mailprov-rehearse-0" in result.output
    assert f"mailprov check -i {calls[0].inventory}" in result.output.replace("\n", "")


def test_leftover_containers_stop_it_before_anything_starts(
    two_hosts: Path, podman: FakePodman, monkeypatch: pytest.MonkeyPatch
) -> None:
    podman.leftovers = ["mailprov-rehearse-0"]
    calls = fake_deploy(monkeypatch, deployed())
    result = invoke(two_hosts)
    assert result.exit_code == 1 and "podman rm -f mailprov-rehearse-0" in result.output
    assert calls == [] and podman.started == [] and podman.removed == []


def test_invalid_inventory_exits_2_before_podman(inventory: Path, podman: FakePodman) -> None:
    (inventory / "hosts.yml").write_text("all: {}\n")
    result = invoke(inventory)
    assert result.exit_code == 2 and podman.started == []


def test_a_refused_template_shows_the_validators_stderr() -> None:
    res = {"failed": True, "msg": "failed to validate", "exit_status": 1, "stdout": "",
           "stderr": "postconf: fatal: invalid smtpd_tls_security_level value: bogus\n"}
    assert failure_message(res) == (
        "failed to validate: postconf: fatal: invalid smtpd_tls_security_level value: bogus"
    )


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_without_probe_account_a_throwaway_one_is_made_in_the_copy_only(
    inventory: Path, podman: FakePodman, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAILPROV_VAULT_PASSWORD_FILE", raising=False)
    hosts = inventory / "hosts.yml"
    hosts.write_text(hosts.read_text() + SECOND_HOST)
    before = _snapshot(inventory)
    assert not any(name.startswith(".probe-account") for name in before)
    copies: list[str] = []

    def behaviour(run: Any, **kwargs: Any) -> RunResult:
        copies.append((run.inventory / "group_vars" / "mailservers" / "accounts.yml").read_text())
        return deployed()(run, **kwargs)

    fake_deploy(monkeypatch, behaviour)
    logins: list[str | None] = []

    def run_checks(target: probe.Target, on_check: Any = None, inventory: Any = None) -> list[probe.Check]:
        logins.append(target.creds.address if target.creds else None)
        return [probe.Check(target.host, "submission login", "pass" if target.creds else "fail", "")]

    monkeypatch.setattr(probe, "run_checks", run_checks)
    result = invoke(inventory)
    assert result.exit_code == 0, result.output
    assert logins == ["mailprov-probe@example.org"] * 2
    assert "address: mailprov-probe@example.org" in copies[0]  # the copy deployed has its hash
    assert "the login checks cannot pass" not in result.output and "rehearsal passed" in result.output
    assert "mailprov-probe@example.org, made for this rehearsal" in result.output.replace("\n", " ")
    assert _snapshot(inventory) == before  # the operator's files: same bytes, same mtimes, none added
