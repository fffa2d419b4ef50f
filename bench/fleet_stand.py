"""The fleet benchmark's stand-ins: an inventory per fleet size, containers through rehearse's API.

A rehearsal's containers, network and ports (mailprov-rehearse-*, 10.89.77.0/24, 16xxx) belong
to whoever rehearses at the time (`make fleet` may run meanwhile): the benchmark stands its
fleets up with the same calls (the private inventory copy, site.yml through rehearse's deploy)
under its own names (mailprov-benchfleet-*), network (10.89.79.0/24) and ports (32xxx).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import yaml
from sandbox_teardown import BIN

from provisioner.inventory.passwords import hash_password
from provisioner.inventory.store import load_inventory
from provisioner.inventory.vault import find_vault_password_file
from provisioner.rehearse import rehearsal
from provisioner.rehearse.overlay import PORTS_PER_HOST, Stand, write_overlay
from provisioner.sandbox import container
from provisioner.sandbox.container import CONTAINER_PORTS

NAME_PREFIX = "mailprov-benchfleet-"
NETWORK = container.Network("mailprov-benchfleet-net", "10.89.79.0/24", "mailprov.benchfleet=1")
PORT_BASE = 32000  # 5 hosts: up to 32499, below Linux's ephemeral ports (32768)
FRONT = ("mx", "submission", "proxy")
# host -> its function groups; () is a complete server (no function groups at all)
FLEETS: dict[int, dict[str, tuple[str, ...]]] = {
    1: {"mail.example.org": ()},
    3: {"front1.example.org": FRONT, "store1.example.org": ("mailbox",), "store2.example.org": ("mailbox",)},
    5: {
        "front1.example.org": FRONT,
        "front2.example.org": FRONT,
        "backupmx.example.org": ("backup_mx",),
        "store1.example.org": ("mailbox",),
        "store2.example.org": ("mailbox",),
    },
}
# In a fleet each domain on its own back end; mailboxes user0, user1... in each.
DOMAINS = {"example.org": "store1.example.org", "example.net": "store2.example.org"}
PASSWORD = "bench-Fleet-pass-1"


class BenchStand(Stand):
    """A rehearsal stand-in under the benchmark's own container name."""

    @property
    def name(self) -> str:
        return f"{NAME_PREFIX}{self.index}"


def ports_for(index: int) -> dict[str, int]:
    """As overlay.ports_for, from the benchmark's base: 32025 -> 25, 32143 -> 143, 32144 -> 443..."""
    base = PORT_BASE + PORTS_PER_HOST * index
    ports: dict[str, int] = {}
    for service, port in CONTAINER_PORTS.items():
        offset = port % 100
        while base + offset in ports.values():
            offset += 1
        ports[service] = base + offset
    return ports


def write_inventory(inv: Path, hosts: Mapping[str, tuple[str, ...]], per_domain: int = 1) -> None:
    """`mailprov init`, then (for a fleet) hosts.yml with the function groups, and accounts.yml."""
    first = next(iter(hosts))
    subprocess.run([str(BIN / "mailprov"), "init", str(inv), "--domain", "example.org", "--hostname", first,
                    "--host", "198.51.100.10"], check=True, capture_output=True)
    is_fleet = any(hosts.values())
    if is_fleet:
        children: dict[str, dict[str, dict[str, None]]] = {}
        for host, functions in hosts.items():
            for function in functions:
                children.setdefault(function, {"hosts": {}})["hosts"][host] = None
        own = {h: {"ansible_host": f"198.51.100.{10 + i}", "mail_hostname": h} for i, h in enumerate(hosts)}
        document = {"all": {"children": {"mailservers": {"hosts": own, "children": children}}}}
        (inv / "hosts.yml").write_text("---\n" + yaml.safe_dump(document, sort_keys=False))
    shared = hash_password(PASSWORD)  # hashing is not what we measure
    domains = [
        {"name": domain, **({"backend": backend} if is_fleet else {}),
         "mailboxes": [{"address": f"user{n}@{domain}", "password": shared, "quota": "1G"} for n in range(per_domain)]}
        for domain, backend in DOMAINS.items()
    ]
    accounts = inv / "group_vars" / "mailservers" / "accounts.yml"
    accounts.write_text("---\n" + yaml.safe_dump({"mail_domains": domains}, sort_keys=False))


def plan(source: Path) -> list[Stand]:
    """One stand-in per host, trixie all; a fleet's on the benchmark's network at .10+i, as rehearse places them."""
    inventory = load_inventory(source)
    is_fleet = len(inventory.hosts) > 1
    subnet = NETWORK.subnet.rsplit(".", 1)[0]
    return [
        BenchStand(i, h.name, "trixie", inventory.hostname_for(h), ports_for(i),
                   f"{subnet}.{10 + i}" if is_fleet else None)
        for i, h in enumerate(inventory.hosts)
    ]


@dataclass
class Fleet:
    size: int
    stands: list[Stand]
    workdir: Path  # private: the inventory copy, SSH key, known_hosts
    vault: Path | None

    @property
    def overlay(self) -> Path:
        return self.workdir / "inventory"

    def stand(self, host: str) -> Stand:
        return next(s for s in self.stands if s.host == host)

    def deploy(self) -> tuple[int, int]:
        """site.yml onto the stand-ins, as rehearse runs it: (rc, tasks changed over every host)."""
        result = rehearsal.deploy(self.overlay, self.workdir, self.vault, 0, None)
        failures = [f"{f.host}: {f.task}: {f.message}" for f in result.progress.failures]
        if result.rc != 0:
            raise SystemExit(f"deploy of the {self.size}-host fleet failed (rc {result.rc}):\n" + "\n".join(failures))
        return result.rc, sum(counts.changed for counts in result.progress.hosts.values())


def _start(fleet: Fleet) -> None:
    """rehearsal.start_containers' steps, on the benchmark's network."""
    key = fleet.workdir / "id_ed25519"
    container.ensure_image("trixie")
    container.make_key(key, "mailprov-benchfleet")
    if any(s.address for s in fleet.stands):
        container.create_network(NETWORK)
    for stand in fleet.stands:
        machine = rehearsal.machine_for(stand, fleet.stands)
        container.start(replace(machine, network=NETWORK) if machine.network else machine)
    pins = []
    for stand in fleet.stands:
        container.wait_ready(stand.name)
        pins.append(container.authorize_and_pin(rehearsal.machine_for(stand), key))
    (fleet.workdir / "known_hosts").write_text("".join(pins))


def leftovers() -> list[str]:
    out = container.podman("ps", "-a", "--filter", f"name=^{NAME_PREFIX}", "--format", "{{.Names}}")
    names = [n for n in out.stdout.decode().split() if n.startswith(NAME_PREFIX)]
    return names + ([NETWORK.name] if container.network_exists(NETWORK.name) else [])


def remove(fleet: Fleet) -> None:
    """Containers, network, private folder; what cannot be removed is said, not raised."""
    for stand in fleet.stands:
        try:
            container.remove(stand.name)
        except container.ContainerError as err:
            print(f"could not remove {stand.name}: {err}")
    try:
        container.remove_network(NETWORK.name)
    except container.ContainerError as err:
        print(f"could not remove {NETWORK.name}: {err}")
    shutil.rmtree(fleet.workdir, ignore_errors=True)


@contextmanager
def stood_up(size: int, per_domain: int) -> Iterator[Fleet]:
    """The fleet of `size` hosts in running containers (not yet deployed); removed on exit, Ctrl-C too."""
    workdir = Path(tempfile.mkdtemp(prefix="mailprov-benchfleet-"))
    source = workdir / "source"
    write_inventory(source, FLEETS[size], per_domain)
    fleet = Fleet(size, plan(source), workdir, find_vault_password_file(source))
    try:
        write_overlay(source, workdir, fleet.stands)
        _start(fleet)
        yield fleet
    finally:
        remove(fleet)


def names(stands: Sequence[Stand]) -> str:
    return ", ".join(f"{s.host} ({s.name})" for s in stands)
