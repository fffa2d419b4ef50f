"""The roles' variables and templates evaluated by Ansible's own templating, without a host.

Variables are layered as a play of site.yml sees them: every role's defaults, then the
inventory's group variables, then every role's vars/main.yml, then the release file the roles'
`include_vars` picks (vars/Debian-<major>.yml, else vars/Debian.yml). Undefined names fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"
_LOADER = DataLoader()


def role_names() -> list[str]:
    return sorted(p.name for p in ROLES.iterdir() if p.is_dir())


def load(path: Path) -> dict[str, Any]:
    """A role's YAML file as plain data (PyYAML), {} when absent."""
    if not path.is_file():
        return {}
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def _trusted(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    return dict(_LOADER.load_from_file(str(path), trusted_as_template=True) or {})


def release_file(role: str, major: int) -> Path | None:
    """What the role's include_vars picks on Debian `major` (first_found), None when nothing."""
    for name in (f"Debian-{major}.yml", "Debian.yml"):
        if (ROLES / role / "vars" / name).is_file():
            return ROLES / role / "vars" / name
    return None


def variables(inventory: Mapping[str, Any], major: int = 13) -> dict[str, Any]:
    """Every variable a task of site.yml sees on Debian `major` with these group variables."""
    found: dict[str, Any] = {}
    for role in role_names():
        found.update(_trusted(ROLES / role / "defaults" / "main.yml"))
    found.update(inventory)
    for role in role_names():
        found.update(_trusted(ROLES / role / "vars" / "main.yml"))
    for role in role_names():
        path = release_file(role, major)
        if path is not None:
            found.update(_trusted(path))
    found.update(
        ansible_managed="Ansible managed",
        ansible_facts={"distribution": "Debian", "distribution_major_version": str(major)},
        inventory_dir="/inventory",
        playbook_dir=str(ROOT / "playbooks"),
    )
    # One complete server (no function groups), unless the caller's variables say otherwise.
    found.setdefault("inventory_hostname", "mail.example.org")
    found.setdefault("groups", {"all": [found["inventory_hostname"]], "mailservers": [found["inventory_hostname"]]})
    found.setdefault("group_names", ["mailservers"])
    return found


def templar(inventory: Mapping[str, Any], major: int = 13) -> Templar:
    return Templar(loader=_LOADER, variables=variables(inventory, major))


def value(inventory: Mapping[str, Any], name: str, major: int = 13) -> Any:
    """A variable's value as the roles compute it."""
    return templar(inventory, major).template(trust_as_template("{{ " + name + " }}"))


def render(role: str, template: str, inventory: Mapping[str, Any], major: int = 13,
           extra: Mapping[str, Any] | None = None) -> str:
    """A role's template rendered as its task would (extra: registered results, loop items)."""
    text = (ROLES / role / "templates" / template).read_text(encoding="utf-8")
    engine = templar(inventory, major)
    if extra:
        engine.available_variables = {**engine.available_variables, **extra}
    return str(engine.template(trust_as_template(text)))
