"""One read-only run of playbooks/status.yml; its task results, per host.

The play only reads (slurp, openssl, postqueue, du: ``changed_when: false``, never failing)
and goes through :func:`provisioner.runner.run.execute` like every Ansible run, with the
inventory's vault. What it reads is secret-free: the deploy record and the accounts manifest
in ``/etc/mailprov`` (no password, only digests of hashes), a certificate date, two numbers.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.runner.options import AnsibleOptions, PlaybookRun
from provisioner.runner.progress import Progress, failure_message
from provisioner.runner.run import execute, playbook_path

PLAYBOOK = "status.yml"
# status.yml's task names -> what they read
TASKS = {
    "Read the deploy record": "record",
    "Read the accounts manifest": "manifest",
    "Read the certificate expiry": "certificate",
    "Count the mail queue": "queue",
    "Measure the mail store": "store",
    "Read the fail2ban jails": "jails",
    "Read the sending limits": "ratelimit",
    "Read the Dovecot service": "dovecot",
    "Read the LMTP listener": "lmtp",
    "Read the backup record": "backup",
}


@dataclass
class HostRead:
    host: str
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None  # unreachable, or the play failed on the host

    def json_file(self, key: str) -> dict[str, Any] | None:
        """A slurped JSON file (record, manifest), or None when the host has none."""
        content = self.results.get(key, {}).get("content")
        if not content:
            return None
        try:
            data = json.loads(base64.b64decode(content))
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def stdout(self, key: str) -> str | None:
        """A command's output, or None when it failed or did not run."""
        res = self.results.get(key)
        if not res or res.get("rc") != 0:
            return None
        return str(res.get("stdout", ""))


@dataclass
class ReadResult:
    hosts: dict[str, HostRead]
    rc: int


def read(
    inventory: Path, *, limit: str | None = None, tags: tuple[str, ...] = (),
    playbook: str = PLAYBOOK, tasks: dict[str, str] | None = None, extra_vars: tuple[str, ...] = (),
) -> ReadResult:
    """Run status.yml (only ``tags``' tasks, when given) and collect every host's results;
    another read-only playbook (bans.yml) with its own ``tasks`` names, the same way."""
    wanted = TASKS if tasks is None else tasks
    hosts: dict[str, HostRead] = {}

    def host(name: str) -> HostRead:
        return hosts.setdefault(name, HostRead(name))

    def collect(event: dict[str, Any], _progress: Progress) -> None:
        kind = event.get("event")
        data = event.get("event_data") or {}
        name = data.get("host")
        if not name:
            return
        if kind == "runner_on_ok" and data.get("task") in wanted:
            host(name).results[wanted[data["task"]]] = data.get("res") or {}
        elif kind == "runner_on_unreachable":
            host(name).error = f"unreachable: {failure_message(data.get('res') or {})}"
        elif kind == "runner_on_failed":
            host(name).error = f"{data.get('task')}: {failure_message(data.get('res') or {})}"

    options = AnsibleOptions(limit=limit, tags=tags, extra_vars=extra_vars)
    run = PlaybookRun(playbook_path(playbook), inventory, options)
    result = execute(run, collect, count=False)  # nobody watches a progress bar here
    return ReadResult(hosts, result.rc)
