"""`mailprov deploy --profile`: recorded events -> where the time went (runner/timing.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from provisioner.runner import run as runner_run
from provisioner.runner.options import PlaybookRun
from provisioner.runner.progress import Progress
from provisioner.runner.run import RunResult
from provisioner.runner.timing import Timing

FIXTURES = Path(__file__).parent / "fixtures"


def recorded(name: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = json.loads((FIXTURES / name).read_text())["events"]
    return events


def replay(events: list[dict[str, Any]]) -> Timing:
    timing = Timing()
    for event in events:
        timing.handle(event)
    return timing


def test_recorded_run_per_task_and_per_host() -> None:
    summary = replay(recorded("failed_run.json")).summary()
    tasks = {t["task"]: t for t in summary["tasks"]}
    always = tasks["Always ok"]
    assert always["count"] == 4  # web1..3 ok, down1 unreachable
    assert always["total_seconds"] == pytest.approx(0.045177 + 0.805419 + 0.838516 + 0.872962, abs=0.002)
    assert always["mean_seconds"] == pytest.approx(always["total_seconds"] / 4, abs=0.002)
    # the wall clock of a task runs from its start to the next task's start
    assert always["wall_seconds"] == pytest.approx(0.880, abs=0.01)
    assert summary["tasks"][0]["task"] == "Always ok", "the longest task comes first"
    assert summary["wall_seconds"] == pytest.approx(2.492, abs=0.01)
    web1 = summary["hosts"]["web1"]
    assert web1["results"] == 6
    assert web1["in_tasks_seconds"] + web1["outside_tasks_seconds"] == pytest.approx(summary["wall_seconds"], abs=0.01)
    assert summary["fact_gathering"]["tasks"] == 0 and summary["argument_specs"]["tasks"] == 0


def _event(kind: str, at: float, task: str = "", action: str = "", role: str = "", host: str = "",
           duration: float | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"task": task, "task_action": action, "resolved_action": action}
    if role:
        data["role"] = role
    if host:
        data["host"] = host
    if duration is not None:
        data["duration"] = duration
    return {"event": kind, "created": f"2026-11-30T10:00:{at:06.3f}+00:00", "event_data": data}


def test_facts_and_argument_specs_are_summed_apart() -> None:
    """Events shaped like a site.yml run: facts, then two roles that each validate their arguments."""
    start, ok = "playbook_on_task_start", "runner_on_ok"
    spec = "ansible.builtin.validate_argument_spec"
    events = [
        _event(start, 0.0, "Gathering Facts", "ansible.builtin.gather_facts"),
        _event(ok, 1.5, "Gathering Facts", "ansible.builtin.gather_facts", host="m1", duration=1.4),
        _event(start, 1.6, "Validating arguments against arg spec 'main'", spec, role="postfix"),
        _event(ok, 1.9, "Validating arguments against arg spec 'main'", spec, role="postfix", host="m1", duration=0.2),
        _event(start, 2.0, "Render main.cf", "ansible.builtin.template", role="postfix"),
        _event(ok, 3.0, "Render main.cf", "ansible.builtin.template", role="postfix", host="m1", duration=0.9),
        _event(start, 3.1, "Validating arguments against arg spec 'main'", spec, role="dovecot"),
        _event(ok, 3.4, "Validating arguments against arg spec 'main'", spec, role="dovecot", host="m1", duration=0.25),
        _event("playbook_on_stats", 3.5),
    ]
    summary = replay(events).summary()
    assert summary["fact_gathering"] == {"tasks": 1, "host_seconds": 1.4, "wall_seconds": 1.6}
    assert summary["argument_specs"]["tasks"] == 2
    assert summary["argument_specs"]["host_seconds"] == pytest.approx(0.45)
    assert summary["argument_specs"]["wall_seconds"] == pytest.approx(0.8)
    roles = {(t["role"], t["task"]) for t in summary["tasks"]}
    assert ("postfix", "Render main.cf") in roles and ("dovecot", "Validating arguments against arg spec 'main'") in roles
    assert summary["hosts"]["m1"]["outside_tasks_seconds"] == pytest.approx(3.5 - 2.75)


def test_deploy_profile_prints_the_table_and_json(
    cli: Callable[..., Result], inventory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_run(run: PlaybookRun, *, on_event: Any = None, **_: Any) -> RunResult:
        progress = Progress()
        for event in recorded("failed_run.json"):
            progress.handle(event)
            if on_event is not None:
                on_event(event, progress)
        return RunResult(rc=2, progress=progress)

    monkeypatch.setattr(runner_run, "run_playbook", fake_run)
    monkeypatch.setattr(runner_run, "count_tasks", lambda *_: None)
    monkeypatch.delenv("MAILPROV_VAULT_PASSWORD_FILE", raising=False)
    text = cli("deploy", "--profile")
    assert text.exit_code == 2
    assert "Where the 2.5 s went" in text.output
    assert "Always ok" in text.output and "fact gathering: 0 tasks" in text.output
    assert "web1: 6 task results" in text.output
    as_json = cli("deploy", "--profile", "--json")
    profile = json.loads(as_json.stdout)["profile"]
    assert profile["tasks"][0]["task"] == "Always ok"
    without = cli("apply", "accounts", "--json")
    assert "profile" not in json.loads(without.stdout)
