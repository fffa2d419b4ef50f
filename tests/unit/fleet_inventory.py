"""A fleet inventory for the unit tests: docs/fleet.md's example, with changes per test."""

from __future__ import annotations

from pathlib import Path

import yaml

from provisioner.inventory.passwords import hash_password

HASH = hash_password("pw")
HOSTS = {
    "mx1.example.org": {"ansible_host": "198.51.100.10", "mail_hostname": "mx1.example.org",
                        "mail_fleet_address": "10.0.0.10"},
    "mx2.example.org": {"ansible_host": "198.51.100.11", "mail_hostname": "mx2.example.org",
                        "mail_fleet_address": "10.0.0.11"},
    "store1.example.org": {"ansible_host": "10.0.0.20", "mail_hostname": "store1.example.org"},
    "store2.example.org": {"ansible_host": "10.0.0.21", "mail_hostname": "store2.example.org"},
}
GROUPS = {
    "mx": ["mx1.example.org"],
    "submission": ["mx1.example.org"],
    "proxy": ["mx1.example.org"],
    "backup_mx": ["mx2.example.org"],
    "mailbox": ["store1.example.org", "store2.example.org"],
}
DOMAINS = [
    {"name": "example.org", "backend": "store1.example.org",
     "mailboxes": [{"address": "alice@example.org", "password": HASH}]},
    {"name": "example.net", "backend": "store2.example.org"},
]


def write_fleet(inventory: Path, hosts: dict[str, dict[str, object]] | None = None,
                groups: dict[str, object] | None = None, domains: list[dict[str, object]] | None = None) -> None:
    """hosts.yml with function groups and accounts.yml with backends (defaults: the docs' fleet)."""
    children = {name: {"hosts": {h: None for h in members}} if isinstance(members, list) else members
                for name, members in (GROUPS if groups is None else groups).items()}
    document = {"all": {"children": {"mailservers": {"hosts": HOSTS if hosts is None else hosts,
                                                     "children": children}}}}
    (inventory / "hosts.yml").write_text(yaml.safe_dump(document, sort_keys=False))
    accounts = {"mail_domains": DOMAINS if domains is None else domains}
    (inventory / "group_vars/mailservers/accounts.yml").write_text(yaml.safe_dump(accounts, sort_keys=False))
