"""`mailprov restore` onto a host of the inventory: deploy first, then the data, then check.

The accounts and every setting come from the inventory (site.yml); only data comes from the
snapshot (playbooks/restore.yml, the backup role's restore tasks). The role refuses when the
host holds mail newer than the snapshot, unless ``force``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from provisioner.inventory.model import Inventory
from provisioner.inventory.probe_account import Credentials
from provisioner.probe import checks as probe
from provisioner.problems import UsageError
from provisioner.runner.options import AnsibleOptions, PlaybookRun
from provisioner.runner.run import EventSink, RunResult, execute, playbook_path


@dataclass
class Restored:
    host: str
    deploy: RunResult | None = None
    restore: RunResult | None = None
    checks: list[probe.Check] = field(default_factory=list)
    container: str | None = None  # --to-sandbox: the throwaway container (kept with --keep)
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (self.deploy is not None and self.deploy.rc == 0 and self.restore is not None
                and self.restore.rc == 0 and bool(self.checks) and all(c.ok for c in self.checks))

    def summary(self) -> dict[str, object]:
        return {
            "ok": self.ok, "host": self.host, "container": self.container, "ports": self.ports,
            "deploy_rc": None if self.deploy is None else self.deploy.rc,
            "restore_rc": None if self.restore is None else self.restore.rc,
            "checks": [vars(c) for c in self.checks],
        }


def restore_vars(snapshot: str | None, force: bool, *, timer: bool = True) -> str:
    """The restore's extra variables as JSON (-e); no secret in them."""
    return json.dumps({"backup_restore_snapshot": snapshot or "latest", "backup_restore_force": force,
                       "backup_timer": timer})


def pick_host(inventory: Inventory, host: str | None) -> str:
    """--host, or the inventory's only host; a restore goes to one server at a time."""
    names = [h.name for h in inventory.hosts]
    if inventory.settings.backup is None:
        raise UsageError("mail_backup is not set in the inventory: there is nothing to restore from")
    if host is None:
        if len(names) != 1:
            raise UsageError(f"the inventory has {len(names)} hosts: choose one with --host ({', '.join(names)})")
        return names[0]
    if host not in names:
        raise UsageError(f"--host {host}: no such host in the inventory ({', '.join(names)})")
    return host


def run_checks(inventory: Inventory, host: str, creds: Credentials | None) -> list[probe.Check]:
    results: list[probe.Check] = []
    for target in probe.targets(inventory, creds, host, login=creds is not None):
        results += probe.run_checks(target, inventory=inventory)
    return results


def restore_host(
    inventory: Inventory, host: str, creds: Credentials | None, *, snapshot: str | None = None,
    force: bool = False, extra_vars: tuple[str, ...] = (), vault: Path | None = None,
    on_event: EventSink | None = None, timer: bool = True,
) -> Restored:
    """site.yml, then restore.yml, then the checks, each only when the one before succeeded."""
    done = Restored(host)
    options = AnsibleOptions(limit=host, extra_vars=extra_vars, vault_password_file=vault)
    done.deploy = execute(PlaybookRun(playbook_path("site.yml"), inventory.path, options), on_event)
    if done.deploy.rc != 0:
        return done
    restore_options = AnsibleOptions(limit=host, extra_vars=(*extra_vars, restore_vars(snapshot, force, timer=timer)),
                                     vault_password_file=vault)
    done.restore = execute(PlaybookRun(playbook_path("restore.yml"), inventory.path, restore_options), on_event)
    if done.restore.rc == 0:
        done.checks = run_checks(inventory, host, creds)
    return done
