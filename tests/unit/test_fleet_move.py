"""`mailprov domain move`: what is refused before anything runs, and the inventory edits of a
move (the Ansible runs themselves are proven by the fleet rehearsal)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from fleet_inventory import write_fleet

from provisioner.fleet import move
from provisioner.inventory.store import load_inventory
from provisioner.problems import UsageError
from provisioner.runner.progress import Progress
from provisioner.runner.run import RunResult

Cli = Callable[..., Result]


def test_refused_moves_change_nothing(inventory: Path, cli: Cli, accounts_file: Path) -> None:
    write_fleet(inventory)
    before = accounts_file.read_text()
    for args, message in [
        (["example.com", "--to", "store2.example.org"], "example.com: no such domain"),
        (["example.org", "--to", "mx1.example.org"], "--to: mx1.example.org is not a host of the mailbox group"),
        (["example.org", "--to", "store1.example.org"], "example.org is on store1.example.org already"),
    ]:
        result = cli("domain", "move", *args)
        assert result.exit_code == 2, result.output
        assert message in result.output and "Traceback" not in result.output
    assert accounts_file.read_text() == before


def test_a_move_needs_a_fleet(inventory: Path) -> None:
    with pytest.raises(UsageError, match="no mailbox group"):
        move.plan(inventory, "example.org", "mail.example.org")


def test_a_stopped_move_is_resumed_and_another_refused(inventory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_fleet(inventory)
    monkeypatch.setattr(move, "execute", lambda *_a, **_k: RunResult(1, Progress()))
    plan = move.plan(inventory, "example.org", "store2.example.org")
    assert plan == move.Move("example.org", "store1.example.org", "store2.example.org")
    assert move.run(inventory, plan, lambda _label: None).rc == 1  # stops at the first failed run
    moving = {d.name: (d.backend, d.previous_backend) for d in load_inventory(inventory).domains}
    assert moving["example.org"] == ("store2.example.org", "store1.example.org")
    assert move.plan(inventory, "example.org", "store2.example.org") == plan
    with pytest.raises(UsageError, match="finish that first"):
        move.plan(inventory, "example.org", "store1.example.org")


def test_a_whole_move_runs_its_steps_in_order(inventory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_fleet(inventory)
    runs: list[tuple[str, Any]] = []

    def fake(run: Any, *_a: Any, **_k: Any) -> RunResult:
        runs.append((run.playbook.name, run.options))
        return RunResult(0, Progress())

    monkeypatch.setattr(move, "execute", fake)
    plan = move.plan(inventory, "example.org", "store2.example.org")
    assert move.run(inventory, plan, lambda _label: None).rc == 0
    both = "store1.example.org,store2.example.org"
    assert [(name, o.limit, o.tags) for name, o in runs] == [
        ("site.yml", both, ("accounts",)),
        ("move_domain.yml", both, ()),
        ("site.yml", None, ()),
        ("move_domain.yml", None, ()),
        ("site.yml", "store1.example.org", ("accounts",)),
    ]
    assert [o.extra_vars[1] for name, o in runs if name == "move_domain.yml"] == [
        "mail_move_pass=first", "mail_move_pass=final"]
    moved = {d.name: (d.backend, d.previous_backend) for d in load_inventory(inventory).domains}
    assert moved["example.org"] == ("store2.example.org", None)


def test_acme_is_refused_in_a_fleet(inventory: Path, cli: Cli) -> None:
    write_fleet(inventory)
    main = inventory / "group_vars" / "mailservers" / "main.yml"
    text = main.read_text()
    assert "mode: selfsigned" in text
    main.write_text(text.replace("mode: selfsigned", "mode: acme\n  email: postmaster@example.org", 1))
    result = cli("validate")
    assert result.exit_code == 2
    assert "mail_tls.mode: acme in a fleet" in result.output and "Traceback" not in result.output


def test_the_progress_bar_counts_a_deploy_step_once() -> None:
    from provisioner.runner.run import count_listed_tasks

    listing = (
        "  play #1 (mailservers): Sort the hosts\tTAGS: [always]\n    tasks:\n      Group\tTAGS: [always]\n"
        "  play #2 (mailprov_step_backends): Mail servers\tTAGS: []\n    tasks:\n      a\tTAGS: []\n      b\tTAGS: []\n"
        "  play #3 (mailprov_step_others): Mail servers\tTAGS: []\n    tasks:\n      a\tTAGS: []\n      b\tTAGS: []\n"
    )
    assert count_listed_tasks(listing) == 3
