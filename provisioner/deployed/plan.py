"""The account changes a deploy would make, secret-free, computed before it runs.

What is deployed: ``/etc/mailprov/accounts-manifest.json``, which the mail_accounts role
writes at every deploy from the same data as the passwd-file and the Postfix tables, with
the role's own filter (``mailprov_accounts_manifest``): domain and alias names, mailbox
names and quotas, and a short digest of each password hash. It is read back by the
read-only status play (tag ``accounts``). What the inventory wants: the same filter, loaded
from the shipped role, applied to the inventory's ``mail_domains``; one function, so the two
sides cannot drift. A host without a manifest has never been deployed (by this release):
everything is new there.

Shown: mailboxes added, removed, with a changed password or quota (by name, never the hash),
aliases and domains added, removed or retargeted.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from provisioner.deployed.reader import read
from provisioner.inventory.parse import ACCOUNTS_KEY
from provisioner.inventory.store import read_raw
from provisioner.resources import resource_path

FILTER_FILE = Path("mail_accounts") / "filter_plugins" / "mailprov_accounts.py"


@cache
def _manifest_filter() -> Callable[[list[Any]], dict[str, Any]]:
    path = resource_path("roles") / FILTER_FILE
    spec = importlib.util.spec_from_file_location("mailprov_role_accounts", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    manifest: Callable[[list[Any]], dict[str, Any]] = module.accounts_manifest
    return manifest


def wanted(inventory_dir: Path) -> dict[str, Any]:
    """The manifest the inventory's accounts make (the role's function on its mail_domains)."""
    for data in read_raw(inventory_dir).group_files.values():
        if isinstance(data, Mapping) and ACCOUNTS_KEY in data:
            return _manifest_filter()(list(data[ACCOUNTS_KEY] or []))
    return _manifest_filter()([])


@dataclass
class AccountPlan:
    host: str
    deployed: bool  # False: no manifest on the host, everything is new
    lines: list[str] = field(default_factory=list)  # "+ mailbox a@b (quota 2G)", "- alias ...", "~ ..."
    error: str | None = None  # the host could not be read

    @property
    def empty(self) -> bool:
        return not self.lines


def _names(manifest: Mapping[str, Any], key: str) -> set[str]:
    value = manifest.get(key)
    return {str(v) for v in value} if isinstance(value, list | dict) else set()


def compare(deployed: Mapping[str, Any] | None, want: Mapping[str, Any]) -> list[str]:
    """The changes from ``deployed`` (None: nothing) to ``want``, one line each, sorted by kind."""
    have: Mapping[str, Any] = deployed or {}
    lines: list[str] = []
    for key, label in (("domains", "domain"), ("alias_domains", "alias domain")):
        lines += [f"+ {label} {n}" for n in sorted(_names(want, key) - _names(have, key))]
        lines += [f"- {label} {n}" for n in sorted(_names(have, key) - _names(want, key))]
    old_boxes, new_boxes = have.get("mailboxes") or {}, want.get("mailboxes") or {}
    for name in sorted(new_boxes.keys() - old_boxes.keys()):
        quota = new_boxes[name].get("quota")
        lines.append(f"+ mailbox {name}" + (f" (quota {quota})" if quota else ""))
    lines += [f"- mailbox {name}" for name in sorted(old_boxes.keys() - new_boxes.keys())]
    for name in sorted(new_boxes.keys() & old_boxes.keys()):
        old, new = old_boxes[name], new_boxes[name]
        if old.get("password") != new.get("password"):
            lines.append(f"~ mailbox {name}: new password")
        if old.get("quota") != new.get("quota"):
            lines.append(f"~ mailbox {name}: quota {old.get('quota') or 'none'} -> {new.get('quota') or 'none'}")
    old_aliases, new_aliases = have.get("aliases") or {}, want.get("aliases") or {}
    for source in sorted(new_aliases.keys() - old_aliases.keys()):
        lines.append(f"+ alias {source} -> {', '.join(new_aliases[source])}")
    lines += [f"- alias {source}" for source in sorted(old_aliases.keys() - new_aliases.keys())]
    for source in sorted(new_aliases.keys() & old_aliases.keys()):
        if sorted(old_aliases[source]) != sorted(new_aliases[source]):
            lines.append(f"~ alias {source} -> {', '.join(new_aliases[source])} "
                         f"(was {', '.join(old_aliases[source])})")
    return lines


def account_plans(inventory_dir: Path, limit: str | None = None) -> list[AccountPlan]:
    """Per host: what a deploy would change in the accounts (a read-only run first)."""
    want = wanted(inventory_dir)
    result = read(inventory_dir, limit=limit, tags=("accounts",))
    plans = []
    for name, host in sorted(result.hosts.items()):
        if host.error is not None and not host.results:
            plans.append(AccountPlan(name, False, error=host.error))
            continue
        manifest = host.json_file("manifest")
        plans.append(AccountPlan(name, manifest is not None, compare(manifest, want)))
    return plans
