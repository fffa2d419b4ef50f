"""Shell completion of inventory names: click's ``shell_complete`` callbacks.

They read the inventory named by ``-i`` when it came before the word being completed (else
``$MAILPROV_INVENTORY`` or ./inventory), quickly and silently: see
:mod:`provisioner.inventory.address_book`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
from click.shell_completion import CompletionItem

from provisioner.inventory import address_book
from provisioner.inventory.store import default_inventory

Completer = Callable[[click.Context, click.Parameter, str], list[CompletionItem]]


def _book(ctx: click.Context) -> address_book.AddressBook:
    folder = ctx.params.get("inventory_dir")
    return address_book.read(folder if isinstance(folder, Path) else default_inventory())


def _completer(pick: Callable[[address_book.AddressBook], list[str]]) -> Completer:
    def complete(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
        words = dict.fromkeys(w for w in pick(_book(ctx)) if w and w.startswith(incomplete.lower()))
        return [CompletionItem(w) for w in words]

    return complete


mailboxes = _completer(lambda b: b.mailboxes)
addresses = _completer(lambda b: b.addresses)
alias_sources = _completer(lambda b: b.aliases)
domains = _completer(lambda b: b.domains)


def _hosts(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Host names; after a comma, the next one of a list."""
    done, _, last = incomplete.rpartition(",")
    prefix = f"{done}," if done else ""
    return [CompletionItem(prefix + h) for h in _book(ctx).hosts if h.startswith(last)]


hosts: Completer = _hosts


def _new_address(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """A new address: after ``local@``, the inventory's domains."""
    local, at, domain = incomplete.partition("@")
    if not at:
        return []
    return [CompletionItem(f"{local}@{d}") for d in dict.fromkeys(_book(ctx).domains) if d and d.startswith(domain)]


new_address: Completer = _new_address
