"""The local sandbox: a Debian container that behaves like a real server.

systemd + sshd in a rootful podman container from the locally built image
``localhost/mailprov-debian:RELEASE``; Ansible reaches it over SSH with a key
generated for it; every mail port is published on 127.0.0.1 (trixie:
14000 + port, bookworm: 15000 + port; 4190 -> x4190 - 4000).

State lives in ``$MAILPROV_SANDBOX_DIR`` (default ``./.sandbox``, git-ignored),
one folder per release:

    .sandbox/trixie/id_ed25519{,.pub}   the SSH key Ansible uses
    .sandbox/trixie/known_hosts         the container's host key, pinned
    .sandbox/trixie/inventory/          a normal mailprov inventory for it
        .vault-password                 random; encrypts .probe-account.vault
        .probe-account.vault             the probe account `check` logs in with

`down` removes the container only; the state stays, so the next `up` reuses
the key and inventory (accounts added meanwhile included).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from provisioner.ports import ADDRESS_VAR, PORTS_VAR, PUBLIC_PORTS
from provisioner.probe_account import create as create_probe_account
from provisioner.resources import resource_path
from provisioner.scaffold import InitRequest, write_new_inventory

RELEASES = ("trixie", "bookworm")
PORT_BASE = {"trixie": 14000, "bookworm": 15000}
MAIL_HOSTNAME = "mail.sandbox.test"
DEMO_DOMAIN = "demo.test"
DEMO_USER = f"postmaster@{DEMO_DOMAIN}"  # made by `init`, password shown once
PROBE_USER = f"probe@{DEMO_DOMAIN}"
STATE_ENV = "MAILPROV_SANDBOX_DIR"
# The container's limits must fit the host's hard limits (see harness notes).
PODMAN_RUN_OPTS = [
    "--runtime=runc",
    "--ulimit",
    "nofile=20000:20000",
    "--ulimit",
    "nproc=32768:32768",
]
READY_TIMEOUT = 60.0


class SandboxError(Exception):
    """Something the operator must fix (podman missing, image build failed...)."""


@dataclass(frozen=True)
class Sandbox:
    release: str
    state_root: Path

    @property
    def name(self) -> str:
        return f"mailprov-sandbox-{self.release}"

    @property
    def image(self) -> str:
        return f"localhost/mailprov-debian:{self.release}"

    @property
    def state(self) -> Path:
        return self.state_root / self.release

    @property
    def inventory(self) -> Path:
        return self.state / "inventory"

    @property
    def key(self) -> Path:
        return self.state / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.state / "known_hosts"

    def ports(self) -> dict[str, int]:
        """Service -> published port on 127.0.0.1 (ssh included)."""
        base = PORT_BASE[self.release]
        return {
            service: base + (port if port < 1000 else port - 4000)
            for service, port in {"ssh": 22, **PUBLIC_PORTS}.items()
        }

    def container_ports(self) -> dict[str, int]:
        return {"ssh": 22, **PUBLIC_PORTS}


def sandbox_for(release: str, state_root: Path | None = None) -> Sandbox:
    if release not in RELEASES:
        raise SandboxError(f"unknown release {release!r} (one of {', '.join(RELEASES)})")
    root = state_root or Path(os.environ.get(STATE_ENV) or ".sandbox")
    return Sandbox(release, root.resolve())


# -- podman ---------------------------------------------------------------


def _podman(
    *args: str, check: bool = True, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    try:
        result = subprocess.run(["podman", *args], capture_output=True, input=stdin, check=False)
    except FileNotFoundError as exc:
        raise SandboxError("podman not found (apt-get install podman runc)") from exc
    if check and result.returncode != 0:
        err = result.stderr.decode(errors="replace").strip().splitlines()
        raise SandboxError(f"podman {args[0]} failed: {err[-1] if err else result.returncode}")
    return result


def container_state(box: Sandbox) -> str | None:
    """'running', 'exited', ... or None when there is no container."""
    result = _podman("container", "inspect", box.name, "--format", "{{.State.Status}}", check=False)
    return result.stdout.decode().strip() if result.returncode == 0 else None


def ensure_image(box: Sandbox) -> bool:
    """Build the image with scripts/build-image.sh if missing; True if built."""
    if _podman("image", "exists", box.image, check=False).returncode == 0:
        return False
    script = resource_path("scripts") / "build-image.sh"
    result = subprocess.run(["bash", str(script), box.release], check=False)
    if result.returncode != 0:
        raise SandboxError(f"building {box.image} failed (see the output above)")
    return True


def _start_container(box: Sandbox) -> None:
    publish = [
        arg
        for service, port in box.container_ports().items()
        for arg in ("-p", f"127.0.0.1:{box.ports()[service]}:{port}")
    ]
    _podman(
        "run",
        "-d",
        "--name",
        box.name,
        "--hostname",
        MAIL_HOSTNAME,
        "--label",
        f"mailprov.sandbox={box.release}",
        *PODMAN_RUN_OPTS,
        *publish,
        box.image,
    )


def _exec(box: Sandbox, *argv: str, stdin: bytes | None = None) -> bytes:
    interactive = ["-i"] if stdin is not None else []
    return _podman("exec", *interactive, box.name, *argv, stdin=stdin).stdout


def _wait_ready(box: Sandbox) -> None:
    """Until sshd runs (it generates host keys at first start)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        probe = _podman("exec", box.name, "systemctl", "is-active", "ssh", check=False)
        if probe.stdout.strip() == b"active":
            return
        time.sleep(0.5)
    raise SandboxError(f"sshd did not start in {box.name} within {READY_TIMEOUT:.0f} s")


def _ensure_key(box: Sandbox) -> None:
    if box.key.exists():
        return
    box.state.mkdir(parents=True, exist_ok=True, mode=0o700)
    subprocess.run(
        [
            "ssh-keygen",
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            f"mailprov-{box.name}",
            "-f",
            str(box.key),
        ],
        check=True,
    )


def _authorize_and_pin(box: Sandbox) -> None:
    pub = box.key.with_suffix(".pub").read_bytes()
    _exec(box, "install", "-d", "-m", "700", "/root/.ssh")
    _exec(box, "tee", "/root/.ssh/authorized_keys", stdin=pub)
    _exec(box, "chmod", "600", "/root/.ssh/authorized_keys")
    host_key = _exec(box, "cat", "/etc/ssh/ssh_host_ed25519_key.pub").decode().split()
    line = f"[127.0.0.1]:{box.ports()['ssh']} {host_key[0]} {host_key[1]}\n"
    box.known_hosts.write_text(line)


# -- inventory ------------------------------------------------------------


def write_hosts(box: Sandbox) -> None:
    """hosts.yml: always rewritten (paths and ports are ours to keep right)."""
    ports = {k: v for k, v in box.ports().items() if k != "ssh"}
    # The container's host key is pinned at `up`: no blind trust on first use.
    ssh_args = " ".join(
        [
            f"-o UserKnownHostsFile={box.known_hosts}",
            "-o StrictHostKeyChecking=yes",
            "-o IdentitiesOnly=yes",
        ]
    )
    port_lines = "".join(f"            {k}: {v}\n" for k, v in ports.items())
    text = (
        "---\n"
        f"# Written by `mailprov sandbox up --release {box.release}`; rewritten on every `up`.\n"
        "all:\n"
        "  children:\n"
        "    mailservers:\n"
        "      hosts:\n"
        f"        {MAIL_HOSTNAME}:\n"
        "          ansible_host: 127.0.0.1\n"
        f"          ansible_port: {box.ports()['ssh']}\n"
        "          ansible_user: root\n"
        f"          ansible_ssh_private_key_file: {box.key}\n"
        f"          ansible_ssh_common_args: {json.dumps(ssh_args)}\n"
        "          ansible_python_interpreter: /usr/bin/python3\n"
        "          # Where `mailprov check` and `settings` reach the services from outside.\n"
        f"          {ADDRESS_VAR}: 127.0.0.1\n"
        f"          {PORTS_VAR}:\n"
        f"{port_lines}"
    )
    _write_private(box.inventory / "hosts.yml", text, mode=0o644)


def _write_private(path: Path, text: str, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    tmp.replace(path)


def write_inventory(box: Sandbox) -> str | None:
    """Create the inventory if missing (returns the demo password, shown once);
    otherwise only refresh hosts.yml (returns None).

    Made like `mailprov init` does (the commented sample), plus the probe
    account, whose password goes only into the vault file.
    """
    if not (box.inventory / "group_vars" / "mailservers" / "accounts.yml").exists():
        shutil.rmtree(box.inventory, ignore_errors=True)  # ours: a half-made one from a failed run
        created = write_new_inventory(
            InitRequest(box.inventory, DEMO_DOMAIN, MAIL_HOSTNAME, "127.0.0.1")
        )
        create_probe_account(box.inventory, PROBE_USER)
        demo_password: str | None = created.password
    else:
        demo_password = None
    write_hosts(box)
    return demo_password


# -- commands -------------------------------------------------------------


@dataclass(frozen=True)
class UpResult:
    box: Sandbox
    built_image: bool
    started: bool
    demo_password: str | None


def up(box: Sandbox) -> UpResult:
    built = ensure_image(box)
    _ensure_key(box)
    state = container_state(box)
    started = state != "running"
    if state is None:
        _start_container(box)
    elif state != "running":
        _podman("start", box.name)
    _wait_ready(box)
    _authorize_and_pin(box)
    demo_password = write_inventory(box)
    return UpResult(box, built, started, demo_password)


def down(box: Sandbox) -> bool:
    """Remove the container (only it). False if there was none."""
    if container_state(box) is None:
        return False
    _podman("rm", "-f", "-t", "10", box.name)
    return True
