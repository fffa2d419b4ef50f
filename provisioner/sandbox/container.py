"""Local Debian machines in rootful podman: systemd + sshd, reached over SSH.

Shared by the sandbox (one long-lived container per release) and `rehearse`
(throwaway containers, one per inventory host). A :class:`Machine` says what
to run; the functions start it, wait for sshd, authorise a key and pin the
container's host key. Ports are published on 127.0.0.1 only.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from provisioner.inventory.ports import PUBLIC_PORTS
from provisioner.resources import resource_path

# The container's limits must fit the host's hard limits (see harness notes).
PODMAN_RUN_OPTS = [
    "--runtime=runc",
    "--ulimit",
    "nofile=20000:20000",
    "--ulimit",
    "nproc=32768:32768",
]
READY_TIMEOUT = 60.0
# Throwaway containers (sandbox, rehearsal) stay off the Internet: rspamd's own
# lookups (SPF, DKIM keys, DNSBLs, maps.rspamd.com, fuzzy servers) go to the
# local unbound in offline mode, which answers every name at once from local
# data (NXDOMAIN) and never asks upstream.
OFFLINE_VARS: Mapping[str, object] = {
    "resolver_offline": True,
    "rspamd_dns_nameservers": ["127.0.0.1:53"],
    "rspamd_disabled_modules": ["fuzzy_check"],
}
# Service -> port inside the container (ssh for Ansible, the rest for clients).
CONTAINER_PORTS: Mapping[str, int] = {"ssh": 22, **PUBLIC_PORTS}


class ContainerError(Exception):
    """Something the operator must fix (podman missing, image build failed...)."""


def image_for(release: str) -> str:
    return f"localhost/mailprov-debian:{release}"


@dataclass(frozen=True)
class Network:
    """A private podman network with a fixed subnet, so machines on it get static addresses."""

    name: str
    subnet: str  # e.g. 10.89.77.0/24
    label: str  # key=value, to find it again


@dataclass(frozen=True)
class Machine:
    """One container to run: its name, image, hostname, label and published ports."""

    name: str
    release: str
    hostname: str
    label: str  # key=value, to find our containers again
    ports: Mapping[str, int]  # service -> published port on 127.0.0.1 (ssh included)
    network: Network | None = None  # a private network shared with other machines, else podman's default
    address: str | None = None  # static, on ``network``
    capabilities: tuple[str, ...] = ()
    peers: Mapping[str, str] = field(default_factory=dict)  # /etc/hosts: name -> address on ``network``

    @property
    def image(self) -> str:
        return image_for(self.release)


def podman(*args: str, check: bool = True, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        result = subprocess.run(["podman", *args], capture_output=True, input=stdin, check=False)
    except FileNotFoundError as exc:
        raise ContainerError("podman not found (apt-get install podman runc)") from exc
    if check and result.returncode != 0:
        err = result.stderr.decode(errors="replace").strip().splitlines()
        raise ContainerError(f"podman {args[0]} failed: {err[-1] if err else result.returncode}")
    return result


def container_state(name: str) -> str | None:
    """'running', 'exited', ... or None when there is no container."""
    result = podman("container", "inspect", name, "--format", "{{.State.Status}}", check=False)
    return result.stdout.decode().strip() if result.returncode == 0 else None


def ensure_image(release: str) -> bool:
    """Build the release's image with scripts/build-image.sh if missing; True if built."""
    if podman("image", "exists", image_for(release), check=False).returncode == 0:
        return False
    script = resource_path("scripts") / "build-image.sh"
    result = subprocess.run(["bash", str(script), release], check=False)
    if result.returncode != 0:
        raise ContainerError(f"building {image_for(release)} failed (see the output above)")
    return True


def start(machine: Machine) -> None:
    publish = [
        arg
        for service, port in CONTAINER_PORTS.items()
        for arg in ("-p", f"127.0.0.1:{machine.ports[service]}:{port}")
    ]
    network = []
    if machine.network is not None:
        network = ["--network", machine.network.name]
        network += ["--ip", machine.address] if machine.address else []
    network += [f"--cap-add={cap}" for cap in machine.capabilities]
    network += [f"--add-host={name}:{address}" for name, address in machine.peers.items()]
    podman(
        "run",
        "-d",
        "--name",
        machine.name,
        "--hostname",
        machine.hostname,
        "--label",
        machine.label,
        *PODMAN_RUN_OPTS,
        *network,
        *publish,
        machine.image,
    )


def network_exists(name: str) -> bool:
    return podman("network", "exists", name, check=False).returncode == 0


def create_network(network: Network) -> None:
    """Not internal: the machines still reach the package mirror through the network's NAT."""
    podman("network", "create", "--subnet", network.subnet, "--label", network.label, network.name)


def remove_network(name: str) -> bool:
    """Remove the network (after its machines); False if there was none."""
    if not network_exists(name):
        return False
    podman("network", "rm", "-f", name)
    return True


def remove(name: str) -> bool:
    """Remove the container; False if there was none."""
    if container_state(name) is None:
        return False
    podman("rm", "-f", "-t", "10", name)
    return True


def exec_in(name: str, *argv: str, stdin: bytes | None = None) -> bytes:
    interactive = ["-i"] if stdin is not None else []
    return podman("exec", *interactive, name, *argv, stdin=stdin).stdout


def wait_ready(name: str, timeout: float = READY_TIMEOUT) -> None:
    """Until sshd runs (it generates host keys at first start)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        probe = podman("exec", name, "systemctl", "is-active", "ssh", check=False)
        if probe.stdout.strip() == b"active":
            return
        time.sleep(0.5)
    raise ContainerError(f"sshd did not start in {name} within {timeout:.0f} s")


def make_key(key: Path, comment: str) -> None:
    """An ed25519 key pair without passphrase at ``key`` (and ``key.pub``), if missing."""
    if key.exists():
        return
    key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)],
        check=True,
    )


def authorize_and_pin(machine: Machine, key: Path) -> str:
    """Authorise ``key`` for root; return the known_hosts line of the container's host key."""
    pub = key.with_suffix(".pub").read_bytes()
    exec_in(machine.name, "install", "-d", "-m", "700", "/root/.ssh")
    exec_in(machine.name, "tee", "/root/.ssh/authorized_keys", stdin=pub)
    exec_in(machine.name, "chmod", "600", "/root/.ssh/authorized_keys")
    host_key = exec_in(machine.name, "cat", "/etc/ssh/ssh_host_ed25519_key.pub").decode().split()
    return f"[127.0.0.1]:{machine.ports['ssh']} {host_key[0]} {host_key[1]}\n"


def ssh_common_args(known_hosts: Path) -> str:
    """The container's host key is pinned: no blind trust on first use."""
    return " ".join(
        [
            f"-o UserKnownHostsFile={known_hosts}",
            "-o StrictHostKeyChecking=yes",
            "-o IdentitiesOnly=yes",
        ]
    )
