"""`mailprov backup now|list`: one run of playbooks/backup.yml, its results per host.

The server does the work (mailprov-backup.service, the unit its timer starts); this side only
starts it and reads back what it recorded, secret-free: the record and restic's snapshot list.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.runner.options import AnsibleOptions, PlaybookRun
from provisioner.runner.progress import Progress, failure_message
from provisioner.runner.run import EventSink, execute, playbook_path

PLAYBOOK = "backup.yml"
RECORD_TASK = "Read the backup record"
LIST_TASK = "List the snapshots"


@dataclass
class HostBackups:
    host: str
    record: dict[str, Any] | None = None  # after `now`: the run's record
    snapshots: list[dict[str, Any]] = field(default_factory=list)  # after `list`: oldest first
    error: str | None = None

    def summary(self) -> dict[str, Any]:
        return {"host": self.host, "ok": self.error is None, "error": self.error,
                "record": self.record, "snapshots": self.snapshots}


def snapshot_row(snap: dict[str, Any]) -> dict[str, Any]:
    """What `backup list` shows of restic's snapshot: id, time, host, paths, size when known."""
    summary = snap.get("summary") or {}
    return {
        "id": snap.get("id", ""),
        "short_id": snap.get("short_id", str(snap.get("id", ""))[:8]),
        "time": snap.get("time", ""),
        "host": snap.get("hostname", ""),
        "paths": snap.get("paths", []),
        "bytes": summary.get("total_bytes_processed"),
        "added": summary.get("data_added"),
    }


def run(inventory: Path, action: str, limit: str | None = None,
        on_event: EventSink | None = None) -> tuple[int, dict[str, HostBackups]]:
    """``action`` is now or list; Ansible's rc and each host's result."""
    hosts: dict[str, HostBackups] = {}

    def host(name: str) -> HostBackups:
        return hosts.setdefault(name, HostBackups(name))

    def collect(event: dict[str, Any], progress: Progress) -> None:
        data = event.get("event_data") or {}
        name, kind, res = data.get("host"), event.get("event"), data.get("res") or {}
        if name and kind == "runner_on_ok" and data.get("task") == RECORD_TASK:
            host(name).record = json.loads(base64.b64decode(res.get("content", "")) or b"null")
        elif name and kind == "runner_on_ok" and data.get("task") == LIST_TASK:
            snaps = json.loads(res.get("stdout") or "[]") or []
            host(name).snapshots = [snapshot_row(s) for s in sorted(snaps, key=lambda s: s.get("time", ""))]
        elif name and kind in ("runner_on_failed", "runner_on_unreachable"):
            host(name).error = f"{data.get('task')}: {failure_message(res)}"
        elif name and kind == "runner_on_ok":
            host(name)
        if on_event is not None:
            on_event(event, progress)

    options = AnsibleOptions(limit=limit, tags=(action,))
    result = execute(PlaybookRun(playbook_path(PLAYBOOK), inventory, options), collect, count=False)
    return result.rc, hosts
