"""Recorded ansible-runner events (fixtures/*.json) -> the progress model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from provisioner.runner.progress import Progress, failure_message, render_diff

FIXTURES = Path(__file__).parent / "fixtures"


def replay(name: str) -> tuple[int, Progress]:
    recorded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    progress = Progress()
    for event in recorded["events"]:
        progress.handle(event)
    return recorded["rc"], progress


def test_failed_run_counts_match_ansible_recap() -> None:
    rc, progress = replay("failed_run.json")
    assert rc != 0
    assert progress.finished
    assert not progress.ok
    assert progress.play == "Recorded play"
    assert progress.hosts["down1"].unreachable == 1
    assert progress.hosts["web1"].changed == 1
    assert progress.hosts["web2"].failed == 1
    assert progress.hosts["web3"].failed == 1
    # every host has failed before "Config file": it never starts
    assert progress.tasks_started == 6
    # names of changed tasks, per host (what `rehearse --upgrade-from` lists when not idempotent)
    assert progress.changed_tasks == {"web1": ["Always changed"], "web3": ["Always changed"],
                                      "web2": ["Always changed"]}


def test_failures_name_host_task_and_message() -> None:
    _, progress = replay("failed_run.json")
    by_host = {f.host: f for f in progress.failures}
    assert by_host["down1"].unreachable
    assert "Connection refused" in by_host["down1"].message
    assert by_host["web2"].task == "Fails on web2"
    assert by_host["web2"].message == "postfix check failed: main.cf line 3: bad parameter"
    # A generic "non-zero return code" gets the command's stderr.
    assert "Unknown setting: mail_location" in by_host["web3"].message
    assert "rc=89" in by_host["web3"].message


def test_no_log_output_stays_hidden() -> None:
    _, progress = replay("failed_run.json")
    secret = next(f for f in progress.failures if f.task == "Secret task fails")
    assert "hunter2" not in secret.message
    assert "no_log" in secret.message
    assert "hunter2" not in json.dumps(progress.summary())


def test_live_counts_before_recap() -> None:
    recorded = json.loads((FIXTURES / "failed_run.json").read_text())
    progress = Progress(tasks_total=7)
    for event in recorded["events"]:
        if event["event"] == "playbook_on_stats":
            break
        progress.handle(event)
    assert not progress.finished
    assert progress.task == "Secret task fails"
    assert progress.hosts["web2"].failed == 1


def test_check_diff_run_collects_file_diff() -> None:
    rc, progress = replay("check_diff_run.json")
    assert rc == 0
    assert progress.ok
    assert progress.total_changed == 1
    [diff] = progress.diffs
    assert diff.task == "Write main.cf"
    assert "-myhostname = old.example.org" in diff.text
    assert "+myhostname = mail.example.org" in diff.text


def test_summary_is_json_ready() -> None:
    _, progress = replay("check_diff_run.json")
    summary = json.loads(json.dumps(progress.summary()))
    assert summary["ok"] is True
    assert summary["changed"] == 1
    assert summary["failures"] == []


def test_ignored_errors_are_not_failures() -> None:
    progress = Progress()
    progress.handle(
        {
            "event": "runner_on_failed",
            "event_data": {"host": "h", "task": "t", "ignore_errors": True, "res": {}},
        }
    )
    assert progress.failures == []
    assert progress.hosts["h"].ignored == 1


def test_loop_failure_reports_the_failed_item() -> None:
    res = {
        "msg": "One or more items failed",
        "results": [
            {"item": "a", "failed": False},
            {"item": "b", "failed": True, "msg": "no such user"},
        ],
    }
    assert "item 'b': no such user" in failure_message(res)


def test_render_diff_prepared_and_non_text() -> None:
    assert render_diff({"prepared": "+ added\n"}) == "+ added"
    assert render_diff({"before": {"state": "absent"}, "after": {"state": "directory"}}) == ""


def test_loop_item_diffs_are_collected() -> None:
    progress = Progress()
    res = {
        "changed": True,
        "results": [
            {"changed": False, "diff": {"before": "a\n", "after": "a\n"}},
            {
                "changed": True,
                "diff": [{"before": "x\n", "after": "x\ny\n", "before_header": "virtual", "after_header": "virtual"}],
            },
        ],
    }
    progress.handle({"event": "runner_on_ok", "event_data": {"host": "h", "task": "Tables", "res": res}})
    [diff] = progress.diffs
    assert "+y" in diff.text
