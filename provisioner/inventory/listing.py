"""Rows for `user list` and `alias list`, read from the validated model."""

from __future__ import annotations

from typing import Any

from provisioner.inventory.model import Inventory


def mailbox_rows(inventory: Inventory) -> list[dict[str, Any]]:
    return [
        {"address": m.address, "quota": m.quota, "aliases": list(m.aliases)}
        for m in inventory.mailboxes
    ]


def alias_rows(inventory: Inventory) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for domain in inventory.domains:
        if domain.catch_all:
            rows.append({"source": "@" + domain.name, "targets": list(domain.catch_all), "kind": "catch-all"})
        rows += [{"source": a.source, "targets": list(a.targets), "kind": "alias"} for a in domain.aliases]
        rows += [
            {"source": extra, "targets": [m.address], "kind": "mailbox alias"}
            for m in domain.mailboxes for extra in m.aliases
        ]
    return rows
