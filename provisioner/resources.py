"""Find the files that ship with mailprov: roles, playbooks, sample inventories, templates.

An installed wheel carries them under provisioner/_data; an editable install or a
checkout uses the repository tree next to the package.
"""

from __future__ import annotations

import subprocess
from importlib import resources
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent
# Where an installed wheel keeps roles, playbooks and the sample inventory.
PACKAGE_DATA = PACKAGE_ROOT / "_data"
REPO_ROOT = PACKAGE_ROOT.parent


def resource_path(name: str) -> Path:
    """Path of a shipped top-level folder or file, e.g. "roles" or "ansible.cfg"."""
    packaged = Path(str(resources.files("provisioner"))) / "_data" / name
    if packaged.exists():
        return packaged
    in_tree = REPO_ROOT / name
    if in_tree.exists():
        return in_tree
    raise FileNotFoundError(f"mailprov is missing its bundled {name!r}; reinstall the package")


def source_commit() -> str | None:
    """The git commit mailprov runs from (a checkout or an editable install), else None."""
    if not (REPO_ROOT / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
