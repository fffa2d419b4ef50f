"""`rehearse --upgrade-from` without containers: podman, the playbook runs, mail and probes are faked.

What is real: REF resolution and extraction (a wheel file), the private
inventory copy with its throwaway passwords, the phase order and gating, the
table and the JSON summary.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from rehearse_fakes import FakePodman, fake_deploy

from provisioner.cli import main
from provisioner.inventory.probe_account import create as create_probe_account
from provisioner.probe import checks as probe
from provisioner.rehearse import config_snapshot, upgrade_mail
from provisioner.rehearse.config_snapshot import FileState
from provisioner.runner.progress import Failure, HostCounts, Progress
from provisioner.runner.run import RunResult

HOST = "mail.example.org"
MAIN_CF = "/etc/postfix/main.cf"
SASL = "/etc/postfix/sasl_passwd"


@pytest.fixture
def probed(inventory: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("MAILPROV_VAULT_PASSWORD_FILE", raising=False)
    create_probe_account(inventory)
    return inventory


@pytest.fixture
def old_wheel(tmp_path: Path) -> Path:
    path = tmp_path / "mailprov-0.0.9-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("provisioner/_data/playbooks/site.yml", "--- # 0.0.9\n")
        zf.writestr("provisioner/_data/roles/postfix/tasks/main.yml", "---\n")
    return path


def converges(*, old_fails: str | None = None, again_changes: int = 0) -> Any:
    """old converge, new converge, idempotence: per call, what Ansible reports for the hosts it ran on."""
    calls: list[dict[str, Any]] = []

    def behaviour(run: Any, **kwargs: Any) -> RunResult:
        calls.append({"playbook": run.playbook, "bundle": run.bundle, "limit": run.options.limit})
        progress = Progress()
        phase = len(calls)
        for host in run.options.limit.split(","):
            failed = old_fails == host and phase == 1
            changed = {1: 25, 2: 3, 3: again_changes}[phase]
            progress.hosts[host] = HostCounts(ok=30, changed=changed, failed=int(failed))
            if failed:
                progress.failures.append(Failure(host, "postfix : Install", "no package"))
            if changed and phase == 3:
                progress.changed_tasks[host] = ["dovecot : Write dovecot.conf"]
        return RunResult(rc=2 if old_fails and phase == 1 else 0, progress=progress)

    behaviour.calls = calls  # type: ignore[attr-defined]
    return behaviour


def fake_mail(monkeypatch: pytest.MonkeyPatch, lost: int = 0) -> list[str]:
    logins: list[str] = []

    def send(target: probe.Target, boxes: list[Any], each: int = 2) -> tuple[list[upgrade_mail.Sent], list[str]]:
        assert target.address == "127.0.0.1" and target.ports["smtp"] == 16025
        return [upgrade_mail.Sent(b.address, f"<{b.address}.{i}@x>") for b in boxes for i in range(each)], []

    reads: list[int] = []

    def readable(target: probe.Target, boxes: list[Any], sent: list[upgrade_mail.Sent], timeout: float = 0) -> Any:
        logins.extend(b.address for b in boxes)
        reads.append(1)
        ids = {s.message_id for s in sent}
        return (set(sorted(ids)[lost:]) if len(reads) == 2 else ids), []

    monkeypatch.setattr(upgrade_mail, "send", send)
    monkeypatch.setattr(upgrade_mail, "readable", readable)
    return logins


def fake_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[str] = []

    def take(name: str) -> dict[str, FileState]:
        taken.append(name)
        if len(taken) == 1:
            return {MAIN_CF: FileState("a", 1, "a = 1\n"), SASL: FileState("s1", 1, None, secret=True)}
        return {MAIN_CF: FileState("b", 1, "a = 2\nb = 3\n"), SASL: FileState("s2", 1, None, secret=True)}

    monkeypatch.setattr(config_snapshot, "take", take)


def passing_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe, "run_checks", lambda target, on_check=None: [probe.Check(target.host, "imaps", "pass")])


def invoke(inventory: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["rehearse", "-i", str(inventory), *args], catch_exceptions=False)


def test_all_phases_pass_and_the_report_lists_them(
    probed: Path, old_wheel: Path, podman: FakePodman, monkeypatch: pytest.MonkeyPatch
) -> None:
    behaviour = converges()
    fake_deploy(monkeypatch, behaviour)
    logins = fake_mail(monkeypatch)
    fake_snapshots(monkeypatch)
    passing_checks(monkeypatch)
    result = invoke(probed, "--upgrade-from", str(old_wheel), "--diff")
    assert result.exit_code == 0, result.output
    old, new, again = behaviour.calls
    assert old["bundle"] is not None and old["playbook"] == old["bundle"] / "playbooks" / "site.yml"
    assert new["bundle"] is None and again["bundle"] is None and new["playbook"].name == "site.yml"
    assert old["limit"] == new["limit"] == again["limit"] == HOST
    assert logins == ["postmaster@example.org", "postmaster@example.org"]  # not the probe account
    out = result.output
    for text in ("Upgrade rehearsal from", "ok (25 changed)", "2/2 delivered", "2/2",
                 "1/1 passed", "yes", "2 changed", "rehearsal passed"):
        assert text in out, (text, out)
    assert f"{MAIN_CF}  changed +2 -1" in out and "+b = 3" in out  # --diff
    assert f"{SASL}  changed (secret: content not shown)" in out
    assert podman.running == set() and not old["bundle"].exists()  # containers and private folder gone


def test_json_has_every_phase(probed: Path, old_wheel: Path, podman: FakePodman, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_deploy(monkeypatch, converges())
    fake_mail(monkeypatch)
    fake_snapshots(monkeypatch)
    passing_checks(monkeypatch)
    result = invoke(probed, "--upgrade-from", str(old_wheel), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["upgrade_from"]["kind"] == "wheel" and summary["upgrade_from"]["version"] == "0.0.9"
    assert [r["phase"] for r in summary["runs"]] == ["old converge", "new converge", "idempotence"]
    [host] = summary["hosts"]
    assert host["mail"]["sent"] == 2 and host["mail_readable"]["readable"] == 2
    assert host["idempotence"] == {"ran": True, "ok": True, "changed": 0, "changed_tasks": [], "failures": [],
                                   "idempotent": True}
    files = {f["path"]: f for f in host["config_changes"]["files"]}
    assert files[MAIN_CF]["diff"].startswith("--- a/etc/postfix/main.cf")
    assert files[SASL] == {"path": SASL, "status": "changed", "secret": True, "added_lines": None,
                           "removed_lines": None, "diff": None}
    assert "password" not in result.stdout


def test_lost_mail_and_a_changing_third_converge_fail_it_and_say_what(
    probed: Path, old_wheel: Path, podman: FakePodman, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_deploy(monkeypatch, converges(again_changes=1))
    fake_mail(monkeypatch, lost=1)
    fake_snapshots(monkeypatch)
    passing_checks(monkeypatch)
    result = invoke(probed, "--upgrade-from", str(old_wheel))
    assert result.exit_code == 1
    assert "MAIL LOST mail.example.org  1 of 2 messages not readable after the upgrade" in result.output
    assert "NOT IDEMPOTENT mail.example.org  changed: dovecot : Write dovecot.conf" in result.output
    assert "no (1 changed)" in result.output and "rehearsal failed" in result.output


def test_a_failed_old_converge_stops_that_host_there(
    probed: Path, old_wheel: Path, podman: FakePodman, monkeypatch: pytest.MonkeyPatch
) -> None:
    behaviour = converges(old_fails=HOST)
    fake_deploy(monkeypatch, behaviour)
    logins = fake_mail(monkeypatch)
    fake_snapshots(monkeypatch)
    passing_checks(monkeypatch)
    result = invoke(probed, "--upgrade-from", str(old_wheel))
    assert result.exit_code == 1
    assert len(behaviour.calls) == 1 and logins == []
    assert "FAILED mail.example.org  postfix : Install" in result.output and "no package" in result.output
    assert podman.running == set()


def test_a_host_that_fails_does_not_hold_back_the_others(
    probed: Path, old_wheel: Path, podman: FakePodman, monkeypatch: pytest.MonkeyPatch
) -> None:
    hosts = probed / "hosts.yml"
    hosts.write_text(hosts.read_text() + "        mail2.example.org:\n          mail_hostname: mail2.example.org\n")
    behaviour = converges(old_fails=HOST)
    fake_deploy(monkeypatch, behaviour)
    monkeypatch.setattr(upgrade_mail, "send", lambda target, boxes: ([upgrade_mail.Sent(boxes[0].address, "<1@x>")], []))
    monkeypatch.setattr(upgrade_mail, "readable", lambda target, boxes, sent, timeout=0: ({"<1@x>"}, []))
    fake_snapshots(monkeypatch)
    passing_checks(monkeypatch)
    result = CliRunner().invoke(main, ["rehearse", "-i", str(probed), "--upgrade-from", str(old_wheel), "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 1
    assert [c["limit"] for c in behaviour.calls] == [f"{HOST},mail2.example.org", "mail2.example.org",
                                                      "mail2.example.org"]
    by_host = {h["host"]: h for h in json.loads(result.stdout)["hosts"]}
    assert by_host["mail2.example.org"]["ok"] is True
    failed = by_host[HOST]
    assert failed["ok"] is False and failed["old_converge"]["failures"] == [{"task": "postfix : Install",
                                                                            "message": "no package"}]
    assert not failed["new_converge"]["ran"] and not failed["checks"]["run"] and not failed["idempotence"]["ran"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--upgrade-from", "no-such-ref-anywhere"], "no such tag, branch or commit"),
        (["--upgrade-from", "old.whl"], "old.whl: no such wheel file"),
        (["--diff"], "--repo and --diff only go with --upgrade-from REF"),
        (["--repo", "."], "--repo and --diff only go with --upgrade-from REF"),
    ],
)
def test_bad_arguments_exit_2_before_any_container(
    probed: Path, podman: FakePodman, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    calls = fake_deploy(monkeypatch, converges())
    result = invoke(probed, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert podman.started == [] and calls == []
