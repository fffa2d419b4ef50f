"""`mailprov status` and the account plan of `deploy --check`, with the read-only play faked
(issue 18 items 5 and 7)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from provisioner.cli import main
from provisioner.cli.status import screen
from provisioner.cli.tables import render
from provisioner.deployed import plan
from provisioner.deployed.status import HostStatus, parse_enddate
from provisioner.runner import run as runner_run
from provisioner.runner.options import PlaybookRun
from provisioner.runner.progress import HostCounts, Progress
from provisioner.runner.run import RunResult

HOST = "mail.example.org"
RECORD = {"version": "0.1.0", "commit": "0003dbf8de78", "time": "2026-11-30T20:00:00Z", "result": "ok",
          "tags": ["all"]}


def slurped(data: dict[str, Any]) -> dict[str, Any]:
    return {"content": base64.b64encode(json.dumps(data).encode()).decode(), "encoding": "base64"}


def command(stdout: str, rc: int = 0) -> dict[str, Any]:
    return {"rc": rc, "stdout": stdout, "stderr": ""}


TAGS = {"Read the deploy record": {"status"}, "Read the accounts manifest": {"status", "accounts"},
        "Read the certificate expiry": {"status"}, "Count the mail queue": {"status"},
        "Measure the mail store": {"status"}}


class FakeAnsible:
    """status.yml answers from ``hosts`` (task name -> res); other playbooks 'succeed'."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.hosts: dict[str, dict[str, dict[str, Any]]] = {}
        self.unreachable: list[str] = []
        self.runs: list[PlaybookRun] = []
        monkeypatch.setattr(runner_run, "run_playbook", self.run)
        monkeypatch.setattr(runner_run, "count_tasks", lambda *_: None)
        monkeypatch.delenv("MAILPROV_VAULT_PASSWORD_FILE", raising=False)

    def run(self, run: PlaybookRun, *, on_event: Any = None, **_: Any) -> RunResult:
        self.runs.append(run)
        progress = Progress()

        def emit(kind: str, data: dict[str, Any]) -> None:
            event = {"event": kind, "event_data": data}
            progress.handle(event)
            if on_event is not None:
                on_event(event, progress)

        if run.playbook.name != "status.yml":
            progress.hosts[HOST] = HostCounts(ok=10)
            return RunResult(0, progress)
        for host in self.unreachable:
            emit("runner_on_unreachable", {"host": host, "task": "Read the deploy record",
                                           "res": {"msg": "ssh: connect to host: no route"}})
        for host, tasks in self.hosts.items():
            for task, res in tasks.items():
                if not run.options.tags or TAGS[task] & set(run.options.tags):
                    emit("runner_on_ok", {"host": host, "task": task, "res": res})
        return RunResult(4 if self.unreachable else 0, progress)


@pytest.fixture
def ansible(monkeypatch: pytest.MonkeyPatch) -> FakeAnsible:
    return FakeAnsible(monkeypatch)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


# -- status --------------------------------------------------------------------------------------

def a_deployed_host() -> dict[str, dict[str, Any]]:
    return {
        "Read the deploy record": slurped(RECORD),
        "Read the accounts manifest": {"failed": True, "msg": "file not found"},
        "Read the certificate expiry": command("notAfter=Feb  1 12:00:00 2027 GMT"),
        "Count the mail queue": command("3"),
        "Measure the mail store": command("5242880\t/var/vmail"),
    }


def test_status_one_screen_per_host(ansible: FakeAnsible, inventory: Path) -> None:
    ansible.hosts[HOST] = a_deployed_host()
    result = invoke("status", "-i", str(inventory))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "mailprov    0.1.0 (commit 0003dbf8de78)" in out
    assert "last deploy 2026-11-30T20:00:00Z: ok" in out
    assert "certificate expires 2027-02-01T12:00:00Z" in out
    assert "queue       3 messages" in out and "mail store  5.0 MiB" in out and "last backup none" in out
    [run] = ansible.runs
    assert run.playbook.name == "status.yml" and run.options.tags == ("status",) and not run.options.check


def test_status_json(ansible: FakeAnsible, inventory: Path) -> None:
    ansible.hosts[HOST] = a_deployed_host()
    result = invoke("status", "-i", str(inventory), "--json")
    data = json.loads(result.stdout)
    assert data["ok"] is True
    [host] = data["hosts"]
    assert host["host"] == HOST and host["version"] == "0.1.0" and host["commit"] == "0003dbf8de78"
    assert host["queue"] == 3 and host["mail_store_bytes"] == 5242880 and host["last_backup"] is None
    assert host["certificate_expires"] == "2027-02-01T12:00:00Z" and isinstance(host["certificate_days_left"], int)


def test_status_of_a_host_never_deployed(ansible: FakeAnsible, inventory: Path) -> None:
    ansible.hosts[HOST] = {task: {"failed": True, "msg": "file not found"} for task in TAGS}
    result = invoke("status", "-i", str(inventory))
    assert result.exit_code == 0
    assert "never" in result.output and "certificate unknown" in " ".join(result.output.split())


def test_status_unreachable_host_exits_1(ansible: FakeAnsible, inventory: Path) -> None:
    ansible.unreachable = [HOST]
    result = invoke("status", "-i", str(inventory))
    assert result.exit_code == 1 and "unreachable" in result.output and "no route" in result.output


@pytest.mark.parametrize("width", [60, 80, 200])
def test_status_screen_fits(width: int) -> None:
    status = HostStatus(HOST, version="0.1.0", commit="0003dbf8de78", deployed_at="2026-11-30T20:00:00Z",
                        result="ok", certificate_expires="2027-02-01T12:00:00Z", certificate_days_left=62,
                        queue=0, mail_store_bytes=10)
    text = render("\n".join(screen(status)), width)
    assert all(len(line) <= width for line in text.splitlines()) and HOST in text


def test_parse_enddate() -> None:
    assert parse_enddate("notAfter=Feb  1 12:00:00 2027 GMT") == datetime(2027, 2, 1, 12, tzinfo=UTC)
    assert parse_enddate("garbage") is None


# -- the account plan ----------------------------------------------------------------------------

def test_the_manifest_holds_no_hash_and_tells_a_new_password_apart(inventory: Path, cli: Callable[..., Result]) -> None:
    before = plan.wanted(inventory)
    text = json.dumps(before)
    assert "argon2" not in text.lower() and "$" not in text
    assert cli("user", "passwd", "postmaster@example.org", "--password-stdin", input="another-one\n").exit_code == 0
    after = plan.wanted(inventory)
    assert plan.compare(before, after) == ["~ mailbox postmaster@example.org: new password"]


def test_compare_names_every_kind_of_change() -> None:
    old = {"domains": ["a.example", "gone.example"], "alias_domains": [],
           "mailboxes": {"x@a.example": {"password": "1", "quota": "1G"}, "y@a.example": {"password": "2", "quota": None}},
           "aliases": {"info@a.example": ["x@a.example"], "old@a.example": ["x@a.example"]}}
    new = {"domains": ["a.example", "new.example"], "alias_domains": ["b.example"],
           "mailboxes": {"x@a.example": {"password": "1", "quota": "2G"}, "z@a.example": {"password": "3", "quota": "5G"}},
           "aliases": {"info@a.example": ["z@a.example"], "@a.example": ["x@a.example"]}}
    assert plan.compare(old, new) == [
        "+ domain new.example",
        "- domain gone.example",
        "+ alias domain b.example",
        "+ mailbox z@a.example (quota 5G)",
        "- mailbox y@a.example",
        "~ mailbox x@a.example: quota 1G -> 2G",
        "+ alias @a.example -> x@a.example",
        "- alias old@a.example",
        "~ alias info@a.example -> z@a.example (was x@a.example)",
    ]
    assert plan.compare(new, new) == []


def test_deploy_check_shows_the_account_plan_without_secrets(
    ansible: FakeAnsible, inventory: Path, cli: Callable[..., Result]
) -> None:
    ansible.hosts[HOST] = {"Read the accounts manifest": slurped(plan.wanted(inventory))}
    assert cli("user", "add", "bob@example.org", "--password-stdin", "--quota", "1G", input="pw-of-bob\n").exit_code == 0
    assert cli("user", "passwd", "postmaster@example.org", "--password-stdin", input="pw-new\n").exit_code == 0
    result = cli("deploy", "--check", "--diff")
    assert result.exit_code == 0, result.output
    assert "mail.example.org: 2 changes" in result.output
    assert "+ mailbox bob@example.org (quota 1G)" in result.output
    assert "~ mailbox postmaster@example.org: new password" in result.output
    assert "argon2" not in result.output.lower() and "pw-" not in result.output
    assert [r.playbook.name for r in ansible.runs] == ["status.yml", "site.yml"]


def test_deploy_check_on_a_host_never_deployed(ansible: FakeAnsible, inventory: Path, cli: Callable[..., Result]) -> None:
    ansible.hosts[HOST] = {"Read the accounts manifest": {"failed": True, "msg": "file not found"}}
    result = cli("deploy", "--check", "--json")
    summary = json.loads(result.stdout)
    entry = summary["accounts_plan"][HOST]
    assert entry["deployed"] is False and "+ mailbox postmaster@example.org (quota 2G)" in entry["changes"]


def test_no_plan_when_the_accounts_are_not_deployed_or_without_check(
    ansible: FakeAnsible, cli: Callable[..., Result]
) -> None:
    cli("deploy", "--check", "--tags", "postfix")
    cli("deploy", "--no-check")
    assert [r.playbook.name for r in ansible.runs] == ["site.yml", "site.yml"]
