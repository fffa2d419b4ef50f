"""The names an inventory holds, read fast and forgivingly: for shell completion.

No validation and no errors: a half-edited inventory still completes what it can, and a
missing or broken one completes nothing. Never reads a password (only names are kept).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.inventory.parse import ACCOUNTS_KEY
from provisioner.inventory.store import read_raw


@dataclass
class AddressBook:
    hosts: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)  # alias domains included
    mailboxes: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)  # alias sources, mailbox aliases, @catch-alls

    @property
    def addresses(self) -> list[str]:
        return [*self.mailboxes, *self.aliases]


def _strings(values: Any) -> Iterable[str]:
    if isinstance(values, str):
        return [values]
    return [str(v) for v in values] if isinstance(values, list) else []


def _entries(value: Any) -> list[Mapping[str, Any]]:
    return [e for e in value if isinstance(e, Mapping)] if isinstance(value, list) else []


def read(root: Path) -> AddressBook:
    book = AddressBook()
    try:
        raw = read_raw(root)
    except Exception:
        return book
    book.hosts = _host_names(raw.hosts)
    for data in raw.group_files.values():
        if not isinstance(data, Mapping):
            continue
        for domain in _entries(data.get(ACCOUNTS_KEY)):
            name = str(domain.get("name", ""))
            book.domains += [name, *_strings(domain.get("alias_domains"))]
            if domain.get("catch_all"):
                book.aliases.append("@" + name)
            for mailbox in _entries(domain.get("mailboxes")):
                book.mailboxes.append(str(mailbox.get("address", "")))
                book.aliases += _strings(mailbox.get("aliases"))
            book.aliases += [str(a.get("source", "")) for a in _entries(domain.get("aliases"))]
    return book


def _host_names(doc: Any) -> list[str]:
    top = doc if isinstance(doc, Mapping) else {}
    children = top.get("all", {}).get("children", {}) if isinstance(top.get("all"), Mapping) else {}
    names: list[str] = []
    for group in (top.get("mailservers"), children.get("mailservers") if isinstance(children, Mapping) else None):
        hosts = group.get("hosts") if isinstance(group, Mapping) else None
        names += [str(h) for h in hosts] if isinstance(hosts, Mapping) else []
    return names
