"""The container after its upgrade from bookworm to trixie.

Network tests talk to 127.0.0.1:17xxx only; everything else goes through
`podman exec`. The names the default scenario's test modules import from
their conftest are exported here too, so test_upgrade_reused.py can run
those checks unchanged on the upgraded server.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

MOLECULE = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(MOLECULE / "shared"))
# After this folder: its conftest and modules win over the default scenario's.
sys.path.append(str(MOLECULE / "default" / "tests"))
from mail_clients import HOSTNAME, LOCALHOST, PASSWORDS, TIMEOUT, ManageSieve, Server, make_message, token  # noqa: E402
from upgrade_mail import load_record  # noqa: E402
from upgrade_mail import server as upgraded_server  # noqa: E402

__all__ = ["HOSTNAME", "LOCALHOST", "PASSWORDS", "TIMEOUT", "ManageSieve", "Server", "make_message", "token"]


@pytest.fixture(scope="module")
def server() -> Server:
    return upgraded_server("trixie")


@pytest.fixture(scope="session")
def record() -> dict[str, Any]:
    """What side_effect.yml sent and saw before the upgrade."""
    return load_record()
