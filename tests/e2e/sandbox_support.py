"""The e2e tests' own sandbox, apart from the operator's demo (`make demo`).

Its own container name, ports and state folder: `make demo` then `make test` works whether the
demo's container is up or not, and the demo is left exactly as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

from provisioner.sandbox import server as sandbox

# Both can be moved (MAILPROV_E2E_PREFIX, MAILPROV_E2E_PORT_BASE) so two checkouts run side by side.
E2E_NAME_PREFIX = os.environ.get("MAILPROV_E2E_PREFIX", "mailprov-e2e-sandbox")
# Clear of the demo (14xxx, 15xxx), molecule (12xxx, 13xxx, 17xxx) and rehearsals (16000-25999).
E2E_PORT_BASE = int(os.environ.get("MAILPROV_E2E_PORT_BASE", "26000"))


def e2e_sandbox(release: str, state: Path) -> sandbox.Sandbox:
    return sandbox.sandbox_for(release, state, name_prefix=E2E_NAME_PREFIX, port_base=E2E_PORT_BASE)


def e2e_environ(state: Path) -> dict[str, str]:
    """The environment for the real `mailprov`: the e2e sandbox, and no vault file from outside."""
    environ = {**os.environ, **sandbox.environment(state, E2E_NAME_PREFIX, E2E_PORT_BASE)}
    environ.pop("MAILPROV_VAULT_PASSWORD_FILE", None)
    return environ
