"""What the roles let an inventory set, read from the roles themselves (their one home).

Every role's variables start with the role's folder name (`postfix_`, `mail_common_`, ...), so
the folder names under roles/ are the prefixes: a new role needs no change here. A group
variable with a role's prefix must be one of that role's `defaults/main.yml` names; what a role
derives from the mail_* settings, or fixes itself, lives in its `vars/main.yml` (above inventory
precedence, so an inventory could not change it anyway) and is refused here with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from provisioner.resources import resource_path


@dataclass(frozen=True)
class Role:
    name: str
    defaults: Mapping[str, Any]  # defaults/main.yml: what an operator may set
    internal: Mapping[str, Any]  # vars/main.yml: derived or fixed by the role

    @property
    def prefix(self) -> str:
        return f"{self.name}_"


def _load(path: Path) -> Mapping[str, Any]:
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, Mapping) else {}


@cache
def roles(roles_dir: Path | None = None) -> tuple[Role, ...]:
    """Every role under roles/ (the shipped ones unless `roles_dir` is given)."""
    folder = roles_dir or resource_path("roles")
    return tuple(
        Role(path.name, _load(path / "defaults" / "main.yml"), _load(path / "vars" / "main.yml"))
        for path in sorted(folder.iterdir())
        if (path / "tasks").is_dir() or (path / "defaults").is_dir()
    )


def role_for(name: str, roles_dir: Path | None = None) -> Role | None:
    """The role whose prefix `name` starts with (the longest, should one role's name prefix another's)."""
    matching = [r for r in roles(roles_dir) if name.startswith(r.prefix)]
    return max(matching, key=lambda r: len(r.name)) if matching else None


def settable(roles_dir: Path | None = None) -> tuple[str, ...]:
    """Every role variable an inventory may set, sorted."""
    return tuple(sorted(name for r in roles(roles_dir) for name in r.defaults))


def internal_value(role: str, name: str, roles_dir: Path | None = None) -> Any:
    """A value a role fixes in its vars/main.yml (e.g. rspamd's DKIM key folder), for Python to share."""
    for r in roles(roles_dir):
        if r.name == role and name in r.internal:
            return r.internal[name]
    raise KeyError(f"roles/{role}/vars/main.yml has no {name}")
