"""Mitogen for Ansible, on by default for every run mailprov starts.

Ansible's own strategy uploads and starts a new Python for each task on each host; Mitogen keeps
one interpreter per host and sends modules over it. Measured on the sandbox, a no-change
re-deploy spends most of its time in those per-task round trips (docs/operate.md, "Speed").
``MAILPROV_MITOGEN=0`` turns it off (a host where Mitogen misbehaves, or to compare).

``python -m provisioner.runner.strategy`` prints the same variables as ``KEY=VALUE`` lines, so
Molecule's converges (the Makefile) run with what a deploy runs with.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def strategy_env() -> dict[str, str]:
    """The Ansible variables that select Mitogen's linear strategy, or none when it is off."""
    if os.environ.get("MAILPROV_MITOGEN", "1") == "0":
        return {}
    # Found, not imported: importing it would load Ansible into every mailprov command.
    spec = importlib.util.find_spec("ansible_mitogen")
    if spec is None or spec.origin is None:  # an install without it still deploys, the slow way
        return {}
    plugins = Path(spec.origin).parent / "plugins" / "strategy"
    return {"ANSIBLE_STRATEGY_PLUGINS": str(plugins), "ANSIBLE_STRATEGY": "mitogen_linear"}


if __name__ == "__main__":
    for name, value in strategy_env().items():
        print(f"{name}={value}")
