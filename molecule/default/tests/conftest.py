"""Shared fixtures: the two converged containers and real mail clients.

Every network test talks to 127.0.0.1 only, through the ports the scenario
publishes (trixie 12xxx, bookworm 13xxx); everything else goes through
`podman exec` (testinfra's podman:// backend).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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

PORT_BASE = {"trixie": 12000, "bookworm": 13000}


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
    return connect(f"mailprov-molecule-{release}", release, PORT_BASE[release])


# Module scope: each test module runs on both releases before the next one
# starts (the playbook runs of test_zy_* / test_zz_* must not interleave).
@pytest.fixture(scope="module", params=sorted(PORT_BASE))
def server(request: pytest.FixtureRequest) -> Server:
    return _server(request.param)


@pytest.fixture(scope="module")
def servers() -> list[Server]:
    """Both releases, for tests around one playbook run on both."""
    return [_server(release) for release in sorted(PORT_BASE)]
