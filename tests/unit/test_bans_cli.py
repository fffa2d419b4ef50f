"""`mailprov bans list|unban` with playbooks/bans.yml faked (issue 13 item 1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from test_deployed import FakeAnsible as StatusFake

from provisioner.cli import main
from provisioner.cli.check import protection_checks
from provisioner.deployed.bans import Ban, parse_bans
from provisioner.deployed.protection import Protection, parse_jails, parse_limits
from provisioner.runner.options import PlaybookRun
from provisioner.runner.progress import Progress
from provisioner.runner.run import RunResult

HOST = "mail.example.org"
LISTING = ("[sshd]\n[postfix-sasl]\n203.0.113.7 \t2026-12-01 10:00:00 + 3600 = 2026-12-01 11:00:00\n"
           "[dovecot]\n2001:db8::7 \t2026-12-01 10:05:00 + 3600 = 2026-12-01 11:05:00\n")


class FakeAnsible(StatusFake):
    """bans.yml: 'Lift the ban' answers when asked (unban_stdout), 'Read the bans' with ``listing``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(monkeypatch)
        self.listing: str | None = LISTING
        self.unban_stdout = "1"
        self.down = False

    def run(self, run: PlaybookRun, *, on_event: Any = None, **_: Any) -> RunResult:
        self.runs.append(run)
        progress = Progress()

        def emit(kind: str, task: str, res: dict[str, Any]) -> None:
            event = {"event": kind, "event_data": {"host": HOST, "task": task, "res": res}}
            progress.handle(event)
            on_event(event, progress)

        assert run.playbook.name == "bans.yml"
        if self.down:
            emit("runner_on_unreachable", "Read the bans", {"msg": "ssh: connect to host: no route"})
            return RunResult(4, progress)
        if any("mailprov_bans_unban" in e for e in run.options.extra_vars):
            emit("runner_on_ok", "Lift the ban", {"rc": 0, "stdout": self.unban_stdout})
        if self.listing is None:
            emit("runner_on_ok", "Read the bans", {"rc": 255, "stdout": "", "stderr": "no socket"})
        else:
            emit("runner_on_ok", "Read the bans", {"rc": 0, "stdout": self.listing})
        return RunResult(0, progress)


@pytest.fixture
def ansible(monkeypatch: pytest.MonkeyPatch) -> FakeAnsible:
    return FakeAnsible(monkeypatch)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_parse_bans() -> None:
    jails, bans = parse_bans(LISTING + "[roundcube-auth]\n198.51.100.1 198.51.100.2\n")
    assert jails == ["sshd", "postfix-sasl", "dovecot", "roundcube-auth"]
    assert bans == [
        Ban("postfix-sasl", "203.0.113.7", "2026-12-01 10:00:00", 3600, "2026-12-01 11:00:00"),
        Ban("dovecot", "2001:db8::7", "2026-12-01 10:05:00", 3600, "2026-12-01 11:05:00"),
        Ban("roundcube-auth", "198.51.100.1"), Ban("roundcube-auth", "198.51.100.2"),
    ]


def test_list_shows_jails_and_bans(ansible: FakeAnsible, inventory: Path) -> None:
    result = invoke("bans", "list", "-i", str(inventory))
    assert result.exit_code == 0, result.output
    assert "jails  sshd, postfix-sasl, dovecot" in result.output
    assert "banned 203.0.113.7 (postfix-sasl) until 2026-12-01 11:00:00" in result.output
    [run] = ansible.runs
    assert run.options.extra_vars == () and not run.options.check and run.options.limit is None


def test_list_json(ansible: FakeAnsible, inventory: Path) -> None:
    result = invoke("bans", "list", "-i", str(inventory), "--json", "--host", HOST)
    data = json.loads(result.stdout)
    assert data["ok"] is True
    [host] = data["hosts"]
    assert host["host"] == HOST and host["jails"] == ["sshd", "postfix-sasl", "dovecot"]
    assert host["bans"][0] == {"jail": "postfix-sasl", "address": "203.0.113.7", "start": "2026-12-01 10:00:00",
                               "seconds": 3600, "end": "2026-12-01 11:00:00"}
    assert ansible.runs[0].options.limit == HOST


def test_unban_passes_the_address_as_an_extra_var(ansible: FakeAnsible, inventory: Path) -> None:
    result = invoke("bans", "unban", " 203.0.113.7 ", "-i", str(inventory))
    assert result.exit_code == 0, result.output
    assert f"{HOST}: 203.0.113.7 unbanned" in result.output
    [run] = ansible.runs
    assert run.options.extra_vars == (json.dumps({"mailprov_bans_unban": "203.0.113.7"}),)
    ansible.unban_stdout = "0"
    assert "203.0.113.7 was not banned" in invoke("bans", "unban", "203.0.113.7", "-i", str(inventory)).output


def test_unban_refuses_what_is_not_an_address(ansible: FakeAnsible, inventory: Path) -> None:
    result = invoke("bans", "unban", "203.0.113.7; reboot", "-i", str(inventory))
    assert result.exit_code == 2 and "is not an IP address" in result.output
    assert ansible.runs == []


def test_a_host_without_fail2ban_or_unreachable_exits_1(ansible: FakeAnsible, inventory: Path) -> None:
    ansible.listing = None
    result = invoke("bans", "list", "-i", str(inventory))
    assert result.exit_code == 1 and "fail2ban did not answer" in result.output
    ansible.down = True
    result = invoke("bans", "list", "-i", str(inventory))
    assert result.exit_code == 1 and "no route" in result.output


# -- `mailprov check`: the jails loaded and the sending limits configured ------------------------

def test_protection_is_read_from_the_status_play() -> None:
    assert parse_jails("Status\n|- Number of jail:\t2\n`- Jail list:\tdovecot, postfix-sasl\n") == [
        "dovecot", "postfix-sasl"]
    assert parse_jails("") == []
    dump = {"rates": {"mailprov_user": {"bucket": {"burst": 100, "rate": "100 / 1h"}},
                      "mailprov_user_20": {"bucket": {"burst": 20}}}}
    assert parse_limits(json.dumps(dump)) == {"mailprov_user": 100, "mailprov_user_20": 20}
    assert parse_limits("{}") is None and parse_limits("not json") is None


def test_protection_checks() -> None:
    good = Protection(HOST, jails=["sshd", "postfix-sasl", "dovecot"], limits={"mailprov_user": 100, "x": 20})
    bans, limits = protection_checks(HOST, good)
    assert (bans.status, bans.detail) == ("pass", "jails loaded: sshd, postfix-sasl, dovecot")
    assert (limits.status, limits.detail) == ("pass", "100 messages an hour per user, 1 own limits")
    bans, limits = protection_checks(HOST, Protection(HOST, jails=["sshd"], limits=None))
    assert (bans.status, bans.detail) == ("fail", "jails not loaded: postfix-sasl, dovecot")
    assert limits.status == "fail"
    assert protection_checks(HOST, Protection(HOST))[0].detail.startswith("fail2ban does not answer")
    assert [c.status for c in protection_checks(HOST, None)] == ["skip", "skip"]
    unreachable = Protection(HOST, error="unreachable: no route")
    assert [c.detail for c in protection_checks(HOST, unreachable)] == ["unreachable: no route"] * 2
