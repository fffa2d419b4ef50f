"""The private inventory a rehearsal deploys to: the operator's, pointed at local containers.

The operator's inventory folder is copied into a private temporary folder
(0700); group_vars, the vault files and everything else stay byte-identical.
Only hosts.yml is written anew: the rehearsed hosts, each with its non-connection
variables (``mail_hostname``, ``mailprov_release``...) plus the container's
SSH port and the ports ``check`` probes (:mod:`provisioner.inventory.ports`).
A fleet's copy also keeps the function groups, and each host's
``mail_fleet_address`` is its container's address on the rehearsal network
(:mod:`provisioner.rehearse.fleet`).

Nothing may reach a real host, whatever else the inventory sets (connection
variables in group_vars, host_vars/, aliases like ``ansible_ssh_host``, an
``~/.ssh/config`` ProxyJump): the address, user, key and SSH options are also
given as extra variables (``-e @connection.yml``), which outrank every other
variable source in Ansible, and ssh runs with ``-F /dev/null``.

Ports: host number ``i`` (0, 1, ...) gets ``16000 + 100*i`` plus the last two
digits of each standard port (ssh 16022, smtp 16025, submission 16087, ...):
clear of molecule (12xxx/13xxx) and the sandbox (14xxx/15xxx).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from provisioner.inventory.model import Host, Inventory
from provisioner.inventory.parse import ENCRYPTED, GROUP, RELEASE_VAR
from provisioner.inventory.ports import ADDRESS_VAR, PORTS_VAR
from provisioner.inventory.releases import RELEASES
from provisioner.inventory.store import read_raw
from provisioner.inventory.vault import VAULT_FILE_NAME
from provisioner.problems import UsageError
from provisioner.rehearse import fleet
from provisioner.sandbox import container
from provisioner.sandbox.container import CONTAINER_PORTS

PORT_BASE = 16000
PORTS_PER_HOST = 100
MAX_HOSTS = 100  # 16000 + 100*99 + 99 stays below Linux's ephemeral ports (32768)
DEFAULT_RELEASE = "trixie"
CONNECTION_FILE = "connection.yml"
NAME_PREFIX = "mailprov-rehearse-"
LOCAL = "127.0.0.1"
# Copied with the inventory? Not the vault password (used in place) nor version control.
NOT_COPIED = (VAULT_FILE_NAME, ".git")


@dataclass(frozen=True)
class Stand:
    """One inventory host and the container that stands in for it."""

    index: int
    host: str
    release: str
    hostname: str  # the host's real mail_hostname, also the container's hostname
    ports: Mapping[str, int]  # service -> published port on 127.0.0.1 (ssh included)
    address: str | None = None  # on the rehearsal network: a fleet's hosts only

    @property
    def name(self) -> str:
        return f"{NAME_PREFIX}{self.index}"

    @property
    def mail_ports(self) -> dict[str, int]:
        return {k: v for k, v in self.ports.items() if k != "ssh"}

    def describe(self) -> dict[str, Any]:
        """For the JSON summaries."""
        return {
            "host": self.host,
            "release": self.release,
            "container": self.name,
            "hostname": self.hostname,
            "ports": dict(self.ports),
            "address": self.address,
        }


def ports_for(index: int) -> dict[str, int]:
    """Published ports of host number ``index``; distinct for every service and host."""
    if not 0 <= index < MAX_HOSTS:
        raise UsageError(f"at most {MAX_HOSTS} hosts per rehearsal; select some with --limit")
    base = PORT_BASE + PORTS_PER_HOST * index
    ports: dict[str, int] = {}
    for service, port in CONTAINER_PORTS.items():
        offset = port % 100
        while base + offset in ports.values():  # 443 after 143: the next free offset
            offset += 1
        ports[service] = base + offset
    return ports


def group_release(root: Path) -> str | None:
    """``mailprov_release`` from group_vars/mailservers/*.yml, if set (in a plain file)."""
    for file, data in read_raw(root).group_files.items():
        if data is not ENCRYPTED and isinstance(data, Mapping) and RELEASE_VAR in data:
            value = data[RELEASE_VAR]
            if value not in RELEASES:
                raise UsageError(f"{file}: {RELEASE_VAR}: {value!r} is not one of {', '.join(RELEASES)}")
            return str(value)
    return None


def _tls_mode(root: Path) -> str | None:
    """``mail_tls.mode`` from group_vars/mailservers/*.yml, if set (in a plain file)."""
    for data in read_raw(root).group_files.values():
        if data is not ENCRYPTED and isinstance(data, Mapping) and isinstance(data.get("mail_tls"), Mapping):
            return str(data["mail_tls"].get("mode", "selfsigned"))
    return None


def release_for(host: Host, group_default: str | None) -> str:
    """The host's own setting, else the group's, else trixie (the validator checked the host's)."""
    return str(host.vars.get(RELEASE_VAR) or group_default or DEFAULT_RELEASE)


def plan(inventory: Inventory, limit: str | None = None) -> list[Stand]:
    """One stand-in per inventory host (or per host named in ``limit``), numbered from 0."""
    is_fleet = bool(fleet.function_groups(read_raw(inventory.path).hosts))
    if is_fleet and limit:
        # Fronts need their back ends and the back ends their fronts: a part would not deploy.
        raise UsageError("--limit: a fleet is rehearsed whole (its hosts need each other); remove --limit")
    wanted = {name.strip() for name in limit.split(",")} if limit else None
    hosts = [h for h in inventory.hosts if wanted is None or h.name in wanted]
    if wanted is not None and (unknown := wanted - {h.name for h in hosts}):
        raise UsageError(f"--limit: no such host in the inventory: {', '.join(sorted(unknown))}")
    default = group_release(inventory.path)
    return [
        Stand(i, h.name, release_for(h, default), inventory.hostname_for(h), ports_for(i),
              fleet.address_for(i) if is_fleet else None)
        for i, h in enumerate(hosts)
    ]


# -- the copy -----------------------------------------------------------------


def copy_inventory(source: Path, target: Path) -> None:
    """Copy the inventory folder (modes kept) into ``target``, which must not exist."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*NOT_COPIED), symlinks=False)


def _group_hosts(hosts_doc: Any) -> Mapping[str, Any]:
    hosts = fleet.server_group(hosts_doc).get("hosts")
    return hosts if isinstance(hosts, Mapping) else {}


def host_entry(own_vars: Mapping[str, Any], stand: Stand, key: Path, known_hosts: Path) -> dict[str, Any]:
    """The host's variables without any connection setting, plus the container's."""
    kept = {k: v for k, v in own_vars.items() if not str(k).startswith("ansible_")}
    kept.pop(ADDRESS_VAR, None)
    kept.pop(PORTS_VAR, None)
    kept.pop(fleet.FLEET_ADDRESS_VAR, None)  # the real private address: never reached from here
    fleet_address = {fleet.FLEET_ADDRESS_VAR: stand.address} if stand.address else {}
    return {
        **kept,
        **fleet_address,
        **connection_vars(key, known_hosts),
        "ansible_port": stand.ports["ssh"],
        "ansible_ssh_port": stand.ports["ssh"],
        ADDRESS_VAR: LOCAL,
        PORTS_VAR: stand.mail_ports,
    }


def hosts_document(original: Any, stands: Sequence[Stand], key: Path, known_hosts: Path) -> dict[str, Any]:
    """A hosts.yml with only the rehearsed hosts of the mail server group (and a fleet's function groups)."""
    own = _group_hosts(original)
    hosts = {s.host: host_entry(own.get(s.host) or {}, s, key, known_hosts) for s in stands}
    group: dict[str, Any] = {"hosts": hosts}
    if groups := fleet.function_groups(original):
        group["children"] = fleet.children_document(groups)
    return {"all": {"children": {GROUP: group}}}


def connection_vars(key: Path, known_hosts: Path) -> dict[str, Any]:
    """Where and how Ansible connects: the local containers, as root, with our key only."""
    ssh_args = " ".join(
        [
            "-F /dev/null",  # no ~/.ssh/config: no ProxyJump to anywhere
            f"-o UserKnownHostsFile={known_hosts}",
            "-o StrictHostKeyChecking=yes",
            "-o IdentitiesOnly=yes",
        ]
    )
    return {
        "ansible_connection": "ssh",
        "ansible_host": LOCAL,
        "ansible_ssh_host": LOCAL,
        "ansible_user": "root",
        "ansible_ssh_user": "root",
        "ansible_become": False,
        "ansible_ssh_private_key_file": str(key),
        "ansible_ssh_common_args": ssh_args,
        "ansible_ssh_extra_args": "",
        # ansible-runner turns host key checking off by default; the pins above need it on.
        "ansible_host_key_checking": True,
        "ansible_python_interpreter": "/usr/bin/python3",
    }


def _write_private(path: Path, text: str) -> None:
    path.unlink(missing_ok=True)  # a new file: the copied one's mode does not carry over
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def write_overlay(source: Path, workdir: Path, stands: Sequence[Stand]) -> Path:
    """Copy ``source`` into ``workdir``/inventory with hosts.yml rewritten; returns the copy.

    ``workdir`` (private, 0700) also holds the SSH key, the pinned host keys
    and the connection extra-vars file.
    """
    target = workdir / "inventory"
    copy_inventory(source, target)
    key, known_hosts = workdir / "id_ed25519", workdir / "known_hosts"
    original = yaml.safe_load((source / "hosts.yml").read_text(encoding="utf-8"))
    document = hosts_document(original, stands, key, known_hosts)
    header = "# Written by `mailprov rehearse`: local containers stand in for the real hosts.\n"
    _write_private(target / "hosts.yml", "---\n" + header + yaml.safe_dump(document, sort_keys=False))
    # JSON is YAML: Ansible reads it with `-e @file`.
    forced = {**connection_vars(key, known_hosts), **container.OFFLINE_VARS}
    if _tls_mode(source) == "acme":
        # A stand-in has no public name a CA could validate: it serves a self-signed certificate.
        forced["mail_tls"] = {"mode": "selfsigned"}
    _write_private(workdir / CONNECTION_FILE, json.dumps(forced, indent=2) + "\n")
    return target
