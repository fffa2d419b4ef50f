"""`mailprov restore --to-sandbox`: prove a backup in a throwaway local container.

The operator's inventory is copied and pointed at one local container (rehearse's overlay:
no connection setting of the inventory survives, nothing reaches a real host); the container
is deployed from it, the snapshot restored into it and checked. Its backup timer stays off:
a sandbox never writes to the repository. A repository on a local path of the server (a
second disk) is not reachable from here: ``repository_dir`` is a copy of it on this machine,
copied into the container at the same path.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from provisioner.backup.restore import Restored, pick_host, restore_host
from provisioner.inventory.model import Tls
from provisioner.inventory.probe_account import load as load_probe_account
from provisioner.inventory.store import load_inventory
from provisioner.inventory.vault import find_vault_password_file
from provisioner.problems import UsageError
from provisioner.rehearse.overlay import CONNECTION_FILE, Stand, group_release, ports_for, release_for, write_overlay
from provisioner.runner.run import EventSink
from provisioner.sandbox import container

# Its own container name and ports, apart from the demo, the e2e sandbox and rehearsals.
NAME_ENV = "MAILPROV_RESTORE_NAME"
PORT_BASE_ENV = "MAILPROV_RESTORE_PORT_BASE"
DEFAULT_NAME = "mailprov-restore"
DEFAULT_PORT_BASE = 30000  # clear of the demo 14-15xxx, rehearsals 16-25xxx, e2e 26-27xxx, bench 28-29xxx
REHEARSE_PORT_BASE = 16000  # overlay.ports_for(0)'s base, shifted to ours


@dataclass(frozen=True)
class RestoreStand(Stand):
    container: str = DEFAULT_NAME

    @property
    def name(self) -> str:
        return self.container


def stand_for(inventory_dir: Path, host: str) -> RestoreStand:
    inventory = load_inventory(inventory_dir)
    entry = next(h for h in inventory.hosts if h.name == host)
    base = int(os.environ.get(PORT_BASE_ENV) or DEFAULT_PORT_BASE)
    ports = {k: v - REHEARSE_PORT_BASE + base for k, v in ports_for(0).items()}
    release = release_for(entry, group_release(inventory_dir))
    name = os.environ.get(NAME_ENV) or DEFAULT_NAME
    return RestoreStand(0, host, release, inventory.hostname_for(entry), ports, container=name)


def restore_to_sandbox(
    inventory_dir: Path, host: str | None = None, *, snapshot: str | None = None,
    repository_dir: Path | None = None, keep: bool = False, on_event: EventSink | None = None,
) -> Restored:
    inventory = load_inventory(inventory_dir)
    name = pick_host(inventory, host)
    backup = inventory.settings.backup
    assert backup is not None  # pick_host refused otherwise
    if backup.local and repository_dir is None:
        raise UsageError(f"the repository {backup.repository} is a path on the server: give a copy of it "
                         "on this machine with --repository-dir")
    if repository_dir is not None and not (repository_dir / "config").is_file():
        raise UsageError(f"--repository-dir {repository_dir}: no restic repository there (no config file)")
    stand = stand_for(inventory_dir, name)
    if container.container_state(stand.name) is not None:
        raise container.ContainerError(f"{stand.name} exists (an earlier restore kept?): podman rm -f {stand.name}")
    vault = find_vault_password_file(inventory_dir)
    creds = load_probe_account(inventory_dir)
    workdir = Path(tempfile.mkdtemp(prefix="mailprov-restore-"))  # 0700
    try:
        overlay = write_overlay(inventory_dir, workdir, [stand])
        _start(stand, workdir)
        if repository_dir is not None:
            container.exec_in(stand.name, "mkdir", "-p", os.path.dirname(backup.repository))
            container.podman("cp", f"{repository_dir}/.", f"{stand.name}:{backup.repository}")
        local = load_inventory(overlay)
        if local.settings.tls.mode == "acme":  # the stand-in serves a self-signed certificate
            local = replace(local, settings=replace(local.settings, tls=Tls()))
        no_timer = json.dumps({"backup_timer": False})
        done = restore_host(local, name, creds, snapshot=snapshot, vault=vault, on_event=on_event, timer=False,
                            extra_vars=(f"@{workdir / CONNECTION_FILE}", no_timer))
        done.container, done.ports = stand.name, dict(stand.ports)
        return done
    finally:
        if not keep:
            container.remove(stand.name)
        shutil.rmtree(workdir, ignore_errors=True)


def _start(stand: RestoreStand, workdir: Path) -> None:
    container.ensure_image(stand.release)
    key = workdir / "id_ed25519"
    container.make_key(key, "mailprov-restore")
    machine = container.Machine(stand.name, stand.release, stand.hostname, "mailprov.restore=1", stand.ports)
    container.start(machine)
    container.wait_ready(stand.name)
    (workdir / "known_hosts").write_text(container.authorize_and_pin(machine, key))
