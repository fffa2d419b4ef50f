"""The local sandbox: a Debian container that behaves like a real server.

systemd + sshd in a rootful podman container from the locally built image
``localhost/mailprov-debian:RELEASE``, named ``mailprov-sandbox-RELEASE``;
Ansible reaches it over SSH with a key generated for it; every mail port is
published on 127.0.0.1 (trixie: 14000 + port, bookworm: 15000 + port;
4190 -> x4190 - 4000).

Those are the demo's (`make demo`). A second sandbox beside it (the e2e tests,
the benchmark) takes its own container name, ports and state folder from
``$MAILPROV_SANDBOX_NAME``, ``$MAILPROV_SANDBOX_PORT_BASE`` and
``$MAILPROV_SANDBOX_DIR`` (see :func:`environment`), so it never touches the
demo, nor depends on whether the demo is up.

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
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from provisioner.inventory.ports import ADDRESS_VAR, PORTS_VAR, PUBLIC_PORTS
from provisioner.inventory.probe_account import create as create_probe_account
from provisioner.inventory.releases import RELEASES
from provisioner.inventory.scaffold import InitRequest, write_new_inventory
from provisioner.sandbox import container
from provisioner.sandbox.container import PODMAN_RUN_OPTS, READY_TIMEOUT
from provisioner.sandbox.container import ContainerError as SandboxError

__all__ = ["PODMAN_RUN_OPTS", "READY_TIMEOUT", "RELEASES", "Sandbox", "SandboxError", "down", "up"]

DEMO_NAME_PREFIX = "mailprov-sandbox"  # the demo's container: mailprov-sandbox-RELEASE
DEMO_PORT_BASE = 14000
RELEASE_PORT_STEP = 1000  # each release its own thousand ports: trixie 14xxx, bookworm 15xxx
MAIL_HOSTNAME = "mail.sandbox.test"
DEMO_DOMAIN = "demo.test"
DEMO_USER = f"postmaster@{DEMO_DOMAIN}"  # made by `init`, password shown once
PROBE_USER = f"probe@{DEMO_DOMAIN}"
STATE_ENV = "MAILPROV_SANDBOX_DIR"
NAME_ENV = "MAILPROV_SANDBOX_NAME"
PORT_BASE_ENV = "MAILPROV_SANDBOX_PORT_BASE"
# A prefix podman accepts as a container name, short enough to read in `podman ps`.
NAME_PREFIX_FORMAT = re.compile(r"[a-z0-9][a-z0-9_.-]{0,39}")
# Every release's ports above the privileged ones and below Linux's ephemeral range (32768).
PORT_BASES = range(1024, 32768 - RELEASE_PORT_STEP * len(RELEASES) + 1)


@dataclass(frozen=True)
class Sandbox:
    release: str
    state_root: Path
    name_prefix: str = DEMO_NAME_PREFIX
    port_base: int = DEMO_PORT_BASE

    @property
    def name(self) -> str:
        return f"{self.name_prefix}-{self.release}"

    @property
    def image(self) -> str:
        return container.image_for(self.release)

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
        base = self.port_base + RELEASE_PORT_STEP * RELEASES.index(self.release)
        return {
            service: base + (port if port < 1000 else port - 4000)
            for service, port in {"ssh": 22, **PUBLIC_PORTS}.items()
        }

    def container_ports(self) -> dict[str, int]:
        return dict(container.CONTAINER_PORTS)

    def machine(self) -> container.Machine:
        return container.Machine(
            self.name, self.release, MAIL_HOSTNAME, f"mailprov.sandbox={self.release}", self.ports()
        )


def sandbox_for(
    release: str, state_root: Path | None = None, *, name_prefix: str | None = None, port_base: int | None = None
) -> Sandbox:
    """The sandbox of ``release``; what is not given comes from the environment, else the demo's."""
    if release not in RELEASES:
        raise SandboxError(f"unknown release {release!r} (one of {', '.join(RELEASES)})")
    root = state_root or Path(os.environ.get(STATE_ENV) or ".sandbox")
    prefix = name_prefix or os.environ.get(NAME_ENV) or DEMO_NAME_PREFIX
    if not NAME_PREFIX_FORMAT.fullmatch(prefix):
        raise SandboxError(
            f"{NAME_ENV}={prefix!r}: not a container name (lowercase letters, digits, '.', '_', '-')"
        )
    base = port_base if port_base is not None else _port_base_from_env()
    if base not in PORT_BASES:
        raise SandboxError(
            f"{PORT_BASE_ENV}={base}: wants a number from {PORT_BASES.start} to {PORT_BASES.stop - 1} "
            "(every release's ports then stay below Linux's ephemeral ports, 32768)"
        )
    return Sandbox(release, root.resolve(), prefix, base)


def _port_base_from_env() -> int:
    value = os.environ.get(PORT_BASE_ENV)
    if not value:
        return DEMO_PORT_BASE
    try:
        return int(value)
    except ValueError:
        raise SandboxError(f"{PORT_BASE_ENV}={value!r}: not a number") from None


def environment(state_root: Path, name_prefix: str, port_base: int) -> dict[str, str]:
    """The variables that give `mailprov sandbox` (and its inventory) a sandbox apart from the demo."""
    return {STATE_ENV: str(state_root), NAME_ENV: name_prefix, PORT_BASE_ENV: str(port_base)}


# -- podman ---------------------------------------------------------------


def container_state(box: Sandbox) -> str | None:
    """'running', 'exited', ... or None when there is no container."""
    return container.container_state(box.name)


def ensure_image(box: Sandbox) -> bool:
    """Build the image with scripts/build-image.sh if missing; True if built."""
    return container.ensure_image(box.release)


def _authorize_and_pin(box: Sandbox) -> None:
    box.known_hosts.write_text(container.authorize_and_pin(box.machine(), box.key))


# -- inventory ------------------------------------------------------------


def write_hosts(box: Sandbox) -> None:
    """hosts.yml: always rewritten (paths and ports are ours to keep right)."""
    ports = {k: v for k, v in box.ports().items() if k != "ssh"}
    # The container's host key is pinned at `up`: no blind trust on first use.
    ssh_args = container.ssh_common_args(box.known_hosts)
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
    offline = "".join(f"{k}: {json.dumps(v)}\n" for k, v in container.OFFLINE_VARS.items())
    _write_private(box.inventory / "group_vars" / "mailservers" / "sandbox.yml",
                   "---\n# Written by `mailprov sandbox up`: a throwaway container stays off the Internet.\n"
                   + offline
                   + "# The demo shows the webmail too (Roundcube at https://MAIL_HOSTNAME/).\n"
                   + "mail_webmail: {enabled: true}\n",
                   mode=0o644)


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
    container.make_key(box.key, f"mailprov-{box.name}")
    state = container_state(box)
    started = state != "running"
    if state is None:
        container.start(box.machine())
    elif state != "running":
        container.podman("start", box.name)
    container.wait_ready(box.name)
    _authorize_and_pin(box)
    demo_password = write_inventory(box)
    return UpResult(box, built, started, demo_password)


def down(box: Sandbox) -> bool:
    """Remove the container (only it). False if there was none."""
    return container.remove(box.name)
