"""Shared fixtures: the two converged containers and real mail clients.

Every network test talks to 127.0.0.1 only, through the ports the scenario
publishes (trixie 12xxx, bookworm 13xxx); everything else goes through
`podman exec` (testinfra's podman:// backend).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from provisioner.runner.strategy import strategy_env

SCENARIO = Path(__file__).resolve().parent.parent
PROJECT = SCENARIO.parent.parent
# The clients both scenarios use (molecule/shared/mail_clients.py).
sys.path.insert(0, str(PROJECT / "molecule" / "shared"))
from mail_clients import (  # noqa: E402
    HOSTNAME,
    LOCALHOST,
    PASSWORDS,
    TIMEOUT,
    ManageSieve,
    Server,
    connect,
    make_message,
    token,
)

__all__ = ["HOSTNAME", "LOCALHOST", "PASSWORDS", "TIMEOUT", "ManageSieve", "Server", "make_message", "token"]

# molecule.yml moves names and ports with the same variables (two checkouts side by side).
PREFIX = os.environ.get("MAILPROV_MOLECULE_PREFIX", "mailprov-molecule")
PORT_BASE = {
    "trixie": int(os.environ.get("MAILPROV_TRIXIE_PORTS", "12")) * 1000,
    "bookworm": int(os.environ.get("MAILPROV_BOOKWORM_PORTS", "13")) * 1000,
}


def container(release: str) -> str:
    """The podman name of the scenario's container for a release."""
    return f"{PREFIX}-{release}"


def _inventory() -> str:
    """Molecule's inventory folder (group_vars linked next to it)."""
    inventory = os.environ.get("MOLECULE_INVENTORY_FILE")
    if not inventory:
        pytest.skip("needs molecule's inventory (run through `molecule verify`)")
    return str(Path(inventory).parent)


def playbook(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["ANSIBLE_CONFIG"] = str(PROJECT / "ansible.cfg")
    env["ANSIBLE_ROLES_PATH"] = str(PROJECT / "roles")
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_NOCOLOR"] = "1"
    # Mitogen, as mailprov's own runs and the scenario's converge use it: these re-deploys
    # are most of verify's time (zw, zx, zz: about 25 of 50 minutes without it).
    env.update(strategy_env())
    # The ansible-playbook next to this Python (a venv need not be on PATH).
    beside = Path(sys.executable).parent / "ansible-playbook"
    binary = str(beside) if beside.exists() else "ansible-playbook"
    return subprocess.run(
        [binary, "-i", _inventory(), str(PROJECT / "playbooks" / name), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def play_recap(output: str) -> dict[str, dict[str, int]]:
    recap: dict[str, dict[str, int]] = {}
    for line in output.splitlines():
        if "ok=" in line and " : " in line:
            name, _, counters = line.partition(" : ")
            recap[name.strip()] = {key: int(value) for key, value in (pair.split("=") for pair in counters.split())}
    return recap


def _server(release: str) -> Server:
    return connect(container(release), release, PORT_BASE[release])


# Module scope: each test module runs on both releases before the next one
# starts (the playbook runs of test_zy_* / test_zz_* must not interleave).
@pytest.fixture(scope="module", params=sorted(PORT_BASE))
def server(request: pytest.FixtureRequest) -> Server:
    return _server(request.param)


@pytest.fixture(scope="module")
def servers() -> list[Server]:
    """Both releases, for tests around one playbook run on both."""
    return [_server(release) for release in sorted(PORT_BASE)]


# --- DKIM: the keys `mailprov dns` publishes --------------------------------------------------


def mailprov_dns(container: str, *args: str) -> list[dict[str, Any]]:
    """The records the real CLI prints for the scenario's domains, keys read from `container`
    (a throwaway inventory: the scenario's group_vars, the container as its one host)."""
    folder = Path(tempfile.mkdtemp(prefix="mailprov-dns-inventory-"))
    try:
        shutil.copytree(SCENARIO / "group_vars", folder / "group_vars")
        (folder / "hosts.yml").write_text(
            f"all:\n  children:\n    mailservers:\n      hosts:\n        {container}:\n"
            "          ansible_connection: containers.podman.podman\n",
            encoding="utf-8",
        )
        beside = Path(sys.executable).parent / "mailprov"
        result = subprocess.run(
            [str(beside) if beside.exists() else "mailprov", "dns", "-i", str(folder), "--format", "json", *args],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert result.returncode == 0, result.stderr
    records: list[dict[str, Any]] = json.loads(result.stdout)
    return records


def dkim_dnsfunc(records: list[dict[str, Any]]) -> Callable[..., bytes | None]:
    """dkimpy's DNS lookup, answered from the records `mailprov dns` printed."""
    txt = {r["name"].rstrip(".").lower(): r["value"] for r in records if r["type"] == "TXT"}

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:  # timeout: dkimpy passes it
        value = txt.get(name.decode().rstrip(".").lower())
        return value.encode() if value else None

    return lookup
