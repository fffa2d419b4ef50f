"""Where the time of a run goes, from ansible-runner's events (`mailprov deploy --profile`).

Pure, like progress.py: events in, figures out. Each host's result event (`runner_on_ok`,
`_failed`, `_skipped`, `_unreachable`) carries the seconds that host spent in the task;
`playbook_on_task_start` events give the wall clock of each task on the controller. From
them: per task (name, role, host results, total and mean seconds, wall seconds), the share of
fact gathering and of argument-spec validation (the task every role with meta/argument_specs
runs first), and per host the seconds in tasks against the run's wall time: what is left is
per-task overhead (connection, module transfer, the strategy waiting for the slowest host).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_RESULTS = {"runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable"}
_TASK_STARTS = {"playbook_on_task_start", "playbook_on_handler_task_start"}
FACT_ACTIONS = {"ansible.builtin.gather_facts", "gather_facts", "ansible.builtin.setup", "setup"}
ARGSPEC_ACTIONS = {"ansible.builtin.validate_argument_spec", "validate_argument_spec"}


@dataclass
class TaskTime:
    name: str
    role: str
    action: str
    count: int = 0  # host results
    seconds: float = 0.0  # summed over hosts
    wall: float = 0.0  # controller clock, this task's start to the next one's

    @property
    def mean(self) -> float:
        return self.seconds / self.count if self.count else 0.0


@dataclass
class HostTime:
    tasks: int = 0
    seconds: float = 0.0


@dataclass
class Timing:
    tasks: dict[tuple[str, str, str], TaskTime] = field(default_factory=dict)
    hosts: dict[str, HostTime] = field(default_factory=dict)
    first: datetime | None = None
    last: datetime | None = None
    _open: TaskTime | None = None
    _opened: datetime | None = None

    def handle(self, event: dict[str, Any]) -> None:
        kind = str(event.get("event", ""))
        data: dict[str, Any] = event.get("event_data") or {}
        when = _time(event.get("created"))
        if when is not None:
            self.first = self.first or when
            self.last = when
        if kind in _TASK_STARTS or kind == "playbook_on_stats":
            self._close(when)
        if kind in _TASK_STARTS:
            self._open, self._opened = self._task(data), when
        elif kind in _RESULTS:
            task = self._task(data)
            seconds = _seconds(data.get("duration"))
            task.count += 1
            task.seconds += seconds
            host = self.hosts.setdefault(str(data.get("host", "?")), HostTime())
            host.tasks += 1
            host.seconds += seconds

    def _task(self, data: dict[str, Any]) -> TaskTime:
        name = str(data.get("task") or data.get("name") or "")
        role = str(data.get("role") or "")
        action = str(data.get("resolved_action") or data.get("task_action") or "")
        key = (role, name, action)
        if key not in self.tasks:
            self.tasks[key] = TaskTime(name, role, action)
        return self.tasks[key]

    def _close(self, when: datetime | None) -> None:
        if self._open is not None and self._opened is not None and when is not None:
            self._open.wall += max(0.0, (when - self._opened).total_seconds())
        self._open = self._opened = None

    @property
    def wall(self) -> float:
        return (self.last - self.first).total_seconds() if self.first and self.last else 0.0

    def group(self, actions: set[str]) -> TaskTime:
        """Every task whose action is one of `actions`, summed into one row."""
        total = TaskTime("", "", "")
        for task in self.tasks.values():
            if task.action in actions:
                total.count += 1 if task.count else 0
                total.seconds += task.seconds
                total.wall += task.wall
        return total

    def summary(self, top: int | None = None) -> dict[str, Any]:
        """JSON-ready: tasks by total seconds (the `top` first), facts, argument specs, hosts."""
        ranked = sorted(self.tasks.values(), key=lambda t: (-t.seconds, -t.wall))
        facts, specs = self.group(FACT_ACTIONS), self.group(ARGSPEC_ACTIONS)
        return {
            "wall_seconds": round(self.wall, 3),
            "tasks": [{"task": t.name, "role": t.role, "action": t.action, "count": t.count,
                       "total_seconds": round(t.seconds, 3), "mean_seconds": round(t.mean, 3),
                       "wall_seconds": round(t.wall, 3)} for t in ranked[:top]],
            "task_count": len(self.tasks),
            "fact_gathering": {"tasks": facts.count, "host_seconds": round(facts.seconds, 3),
                               "wall_seconds": round(facts.wall, 3)},
            "argument_specs": {"tasks": specs.count, "host_seconds": round(specs.seconds, 3),
                               "wall_seconds": round(specs.wall, 3)},
            "hosts": {name: {"results": h.tasks, "in_tasks_seconds": round(h.seconds, 3),
                             "outside_tasks_seconds": round(max(0.0, self.wall - h.seconds), 3),
                             "overhead_per_task_seconds": round(max(0.0, self.wall - h.seconds) / h.tasks, 3)
                             if h.tasks else 0.0}
                      for name, h in sorted(self.hosts.items())},
        }


def _time(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _seconds(value: object) -> float:
    try:
        return max(0.0, float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
