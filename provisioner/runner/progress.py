"""Turn ansible-runner events into a progress model.

Pure: no I/O, no rich. ``provisioner.runner.run`` feeds events in and renders the
model; tests feed recorded events (tests/unit/fixtures/*.json) in and check
the model.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from typing import Any

# Ansible's own recap keys (playbook_on_stats) -> our field names.
_STATS_KEYS = {
    "ok": "ok",
    "changed": "changed",
    "failures": "failed",
    "dark": "unreachable",
    "skipped": "skipped",
    "rescued": "rescued",
    "ignored": "ignored",
}
# Messages that say nothing on their own; stderr tells the real story.
# "failed to validate": a template's `validate:` command refused it; its stderr says why.
_GENERIC_MESSAGES = {
    "", "non-zero return code", "MODULE FAILURE", "One or more items failed", "failed to validate",
}
_MAX_DETAIL_LINES = 8


@dataclass
class HostCounts:
    """Per-host counts, with Ansible's recap semantics (changed is also ok)."""

    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0


@dataclass(frozen=True)
class Failure:
    host: str
    task: str
    message: str
    unreachable: bool = False


@dataclass(frozen=True)
class FileDiff:
    host: str
    task: str
    text: str


@dataclass
class Progress:
    """Everything the live display and the final report need."""

    play: str = ""
    task: str = ""
    tasks_started: int = 0
    tasks_total: int | None = None
    hosts: dict[str, HostCounts] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    diffs: list[FileDiff] = field(default_factory=list)
    # host -> names of the tasks (and handlers) that reported a change, in order
    changed_tasks: dict[str, list[str]] = field(default_factory=dict)
    finished: bool = False

    def counts(self, host: str) -> HostCounts:
        return self.hosts.setdefault(host, HostCounts())

    @property
    def total_changed(self) -> int:
        return sum(c.changed for c in self.hosts.values())

    @property
    def ok(self) -> bool:
        return not any(c.failed or c.unreachable for c in self.hosts.values())

    def handle(self, event: dict[str, Any]) -> None:
        """Apply one ansible-runner event (the dict given to event_handler)."""
        kind = event.get("event", "")
        data: dict[str, Any] = event.get("event_data") or {}
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, data)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary (for `--json`); contains no task output."""
        return {
            "ok": self.ok,
            "changed": self.total_changed,
            "hosts": {h: asdict(c) for h, c in sorted(self.hosts.items())},
            "failures": [asdict(f) for f in self.failures],
            "tasks": self.tasks_started,
        }

    # -- event handlers -------------------------------------------------

    def _on_play_start(self, data: dict[str, Any]) -> None:
        self.play = str(data.get("name") or data.get("play") or "")

    def _on_task_start(self, data: dict[str, Any]) -> None:
        self.task = str(data.get("task") or data.get("name") or "")
        self.tasks_started += 1

    def _on_ok(self, data: dict[str, Any]) -> None:
        host = str(data.get("host", "?"))
        res = data.get("res") or {}
        counts = self.counts(host)
        counts.ok += 1
        if isinstance(res, dict) and res.get("changed"):
            counts.changed += 1
            self.changed_tasks.setdefault(host, []).append(str(data.get("task", "")))
        self._collect_diff(host, data)

    def _on_skipped(self, data: dict[str, Any]) -> None:
        self.counts(str(data.get("host", "?"))).skipped += 1

    def _on_failed(self, data: dict[str, Any]) -> None:
        host = str(data.get("host", "?"))
        if data.get("ignore_errors"):
            self.counts(host).ignored += 1
            return
        self.counts(host).failed += 1
        self.failures.append(
            Failure(host=host, task=str(data.get("task", "")), message=failure_message(data.get("res")))
        )

    def _on_unreachable(self, data: dict[str, Any]) -> None:
        host = str(data.get("host", "?"))
        self.counts(host).unreachable += 1
        self.failures.append(
            Failure(
                host=host,
                task=str(data.get("task", "")),
                message=failure_message(data.get("res")),
                unreachable=True,
            )
        )

    def _on_stats(self, data: dict[str, Any]) -> None:
        # Ansible's recap is authoritative: it knows about rescues and
        # handlers our live counting may have seen differently.
        hosts: set[str] = set()
        for key in _STATS_KEYS:
            hosts.update((data.get(key) or {}).keys())
        for host in hosts:
            counts = HostCounts(
                **{ours: int((data.get(theirs) or {}).get(host, 0)) for theirs, ours in _STATS_KEYS.items()}
            )
            self.hosts[host] = counts
        self.finished = True

    def _collect_diff(self, host: str, data: dict[str, Any]) -> None:
        res = data.get("res")
        if not isinstance(res, dict) or not res.get("changed"):
            return
        # A loop's diffs are in its items' results.
        items = res.get("results")
        parts = [res] + [i for i in items if isinstance(i, dict)] if isinstance(items, list) else [res]
        text = "\n".join(t for t in (render_diff(p.get("diff")) for p in parts if p.get("changed")) if t)
        if text:
            self.diffs.append(FileDiff(host=host, task=str(data.get("task", "")), text=text))


_HANDLERS = {
    "playbook_on_play_start": Progress._on_play_start,
    "playbook_on_task_start": Progress._on_task_start,
    "playbook_on_handler_task_start": Progress._on_task_start,
    "runner_on_ok": Progress._on_ok,
    "runner_on_skipped": Progress._on_skipped,
    "runner_on_failed": Progress._on_failed,
    "runner_on_unreachable": Progress._on_unreachable,
    "playbook_on_stats": Progress._on_stats,
}


def failure_message(res: object) -> str:
    """Ansible's message for a failed result, short and readable.

    Prefers ``msg``; when that is generic ("non-zero return code"), adds the
    tail of stderr (or stdout), which is where postconf/doveconf explain.
    A ``no_log`` result stays hidden.
    """
    if not isinstance(res, dict):
        return str(res) if res else "failed (no message)"
    if "censored" in res:
        return "output hidden (the task has no_log: true); see the host's logs (journalctl)"
    msg = str(res.get("msg") or "").strip()
    # Loops: the interesting message is in the first failed item.
    items = res.get("results")
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and item.get("failed"):
                label = item.get("item")
                inner = failure_message(item)
                return f"{msg} (item {label!r}: {inner})" if msg else inner
    if msg in _GENERIC_MESSAGES:
        detail = _tail(res.get("stderr_lines") or res.get("stderr")) or _tail(
            res.get("stdout_lines") or res.get("stdout")
        )
        rc = res.get("rc")
        parts = [p for p in (msg, f"rc={rc}" if rc is not None else "", detail) if p]
        return ": ".join(parts) if parts else "failed (no message)"
    return msg


def _tail(lines: object) -> str:
    if isinstance(lines, str):
        lines = lines.splitlines()
    if not isinstance(lines, list):
        return ""
    kept = [str(line) for line in lines if str(line).strip()][-_MAX_DETAIL_LINES:]
    return "\n".join(kept)


def render_diff(diff: object) -> str:
    """Ansible's diff result (a dict or list of dicts) as unified diff text."""
    chunks = diff if isinstance(diff, list) else [diff]
    out: list[str] = []
    for chunk in chunks:
        if not isinstance(chunk, dict):
            continue
        if "prepared" in chunk:
            out.append(str(chunk["prepared"]).rstrip("\n"))
            continue
        before, after = chunk.get("before"), chunk.get("after")
        if not isinstance(before, str) or not isinstance(after, str):
            continue  # directory/state changes: nothing textual to show
        lines = difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=str(chunk.get("before_header", "before")),
            # Ansible's after_header is often a temp path on the host; name the target.
            tofile=str(chunk.get("before_header") or chunk.get("after_header", "after")),
        )
        out.append("".join(lines).rstrip("\n"))
    return "\n".join(part for part in out if part)
