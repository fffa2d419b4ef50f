"""Where a domain or a mailbox sits in the `mail_domains` document, found without a scan.

Adding or removing ten thousand mailboxes in one `edit_accounts` used to scan every mailbox of
the domain for each one (a duplicate check, a lookup before a removal): quadratic, tens of
seconds. `edit_accounts` registers its document with :func:`indexed`; the edit functions of
`accounts.py` then find a domain by name and a mailbox by address in a dictionary, and tell
the index what they added or removed.

The index never trusts itself blindly: every position it returns is checked against the list
(same object, same address), and a list whose length changed behind its back (an edit made
without these functions) is indexed again from scratch. Outside `indexed`, a throwaway index
is built per call: one linear pass, as before.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

Entry = dict[str, Any]


class MailboxIndex:
    """Addresses of one domain's `mailboxes` list -> positions.

    Each mailbox gets a slot number in list order; appends take new slots at the end, removals
    are remembered as removed slots, so a position is its slot minus the removed slots before
    it (a bisect), however many mailboxes were removed in between.
    """

    def __init__(self, mailboxes: list[Any]) -> None:
        self.mailboxes = mailboxes
        self.length = len(mailboxes)
        self.next_slot = self.length
        self.removed: list[int] = []
        self.slots: dict[str, int] = {}
        for slot, mailbox in enumerate(mailboxes):
            if isinstance(mailbox, dict):
                self.slots.setdefault(str(mailbox.get("address")), slot)

    def current(self, mailboxes: Any) -> bool:
        return mailboxes is self.mailboxes and len(mailboxes) == self.length

    def position(self, address: str) -> int | None:
        slot = self.slots.get(address)
        if slot is None:
            return None
        return slot - bisect_left(self.removed, slot)

    def appended(self, mailbox: Entry) -> None:
        self.slots.setdefault(str(mailbox.get("address")), self.next_slot)
        self.next_slot += 1
        self.length += 1

    def deleted(self, address: str) -> None:
        insort(self.removed, self.slots.pop(address))
        self.length -= 1


class AccountIndex:
    """Domain names -> entries, and a MailboxIndex per domain entry, over one document."""

    def __init__(self, domains: list[Any]) -> None:
        self.domains = domains
        self._names: dict[str, tuple[int, bool]] | None = None  # name -> (position, is an alias)
        self._length = -1
        self._mailboxes: dict[int, MailboxIndex] = {}

    # -- domains --------------------------------------------------------------------------------

    def domains_changed(self) -> None:
        """Call after adding or removing a domain or an alias domain."""
        self._names = None
        self._mailboxes = {}

    def _name_table(self, *, fresh: bool = False) -> dict[str, tuple[int, bool]]:
        if fresh or self._names is None or self._length != len(self.domains):
            names: dict[str, tuple[int, bool]] = {}
            for position, entry in enumerate(self.domains):
                if isinstance(entry, dict):
                    names.setdefault(str(entry.get("name", "")), (position, False))
                    for alias in entry.get("alias_domains") or []:
                        names.setdefault(str(alias), (position, True))
            self._names, self._length = names, len(self.domains)
        return self._names

    def domain(self, name: str, *, alias_ok: bool) -> Entry | None:
        """The entry named `name` (or, with alias_ok, holding it as an alias domain).

        A miss, or a hit the list no longer agrees with, is looked up again in a fresh table:
        a miss is the rare case (an error, or a new domain), a wrong answer is never given.
        """
        for fresh in (False, True):
            found = self._name_table(fresh=fresh).get(name)
            if found is not None:
                position, is_alias = found
                entry = self.domains[position] if position < len(self.domains) else None
                names = _names_of(entry) if isinstance(entry, dict) else []
                if names and (names[0] == name or (is_alias and name in names)):
                    return entry if alias_ok or not is_alias else None
        return None

    # -- mailboxes ------------------------------------------------------------------------------

    def mailboxes(self, entry: Entry) -> MailboxIndex:
        """The index of `entry`'s mailboxes list (which must exist and be a list)."""
        index = self._mailboxes.get(id(entry))
        if index is None or not index.current(entry.get("mailboxes")):
            index = MailboxIndex(entry["mailboxes"])
            self._mailboxes[id(entry)] = index
        return index

    def mailbox_position(self, entry: Entry, address: str) -> int | None:
        """Where `address` sits in `entry["mailboxes"]`, checked against the list itself."""
        if not isinstance(entry.get("mailboxes"), list):
            return None
        index = self.mailboxes(entry)
        position = index.position(address)
        if position is None or _address_at(index.mailboxes, position) == address:
            return position
        index = MailboxIndex(entry["mailboxes"])  # out of step: index again, once
        self._mailboxes[id(entry)] = index
        return index.position(address)


def _names_of(entry: Entry) -> list[str]:
    return [str(entry.get("name", "")), *(str(a) for a in entry.get("alias_domains") or [])]


def _address_at(mailboxes: list[Any], position: int) -> str | None:
    item = mailboxes[position] if 0 <= position < len(mailboxes) else None
    return str(item.get("address")) if isinstance(item, dict) else None


_ACTIVE: dict[int, AccountIndex] = {}


@contextmanager
def indexed(domains: list[Any]) -> Iterator[None]:
    """Within: the edit functions reuse one index of `domains` (edit_accounts uses this)."""
    _ACTIVE[id(domains)] = AccountIndex(domains)
    try:
        yield
    finally:
        _ACTIVE.pop(id(domains), None)


def index_of(domains: list[Any]) -> AccountIndex:
    index = _ACTIVE.get(id(domains))
    if index is not None and index.domains is domains:
        return index
    return AccountIndex(domains)
