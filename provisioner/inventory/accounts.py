"""Account edits (domains, mailboxes, aliases) on the round-trip `mail_domains` document.

Each function takes the plain `mail_domains` list that `edit_accounts` yields and changes it
in place; validation of the result and the write happen when the `edit_accounts` block ends.
Domains and mailboxes are found through account_index, so ten thousand edits in one block
cost about as much as ten thousand dictionary lookups.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from provisioner.inventory.account_index import index_of
from provisioner.inventory.names import domain_of, normalize_address, normalize_domain
from provisioner.inventory.reader import MAX_QUOTA_TEXT, normalize_quota, quota_problem
from provisioner.problems import UsageError, shown

CATCH_ALL_PREFIX = "@"
Entry = dict[str, Any]
Entries = list[Any]


def _entries(parent: Entry, key: str) -> Entries:
    if parent.get(key) is None:
        parent[key] = []
    entries: Entries = parent[key]
    return entries


def find_domain(domains: Entries, name: str, *, alias_ok: bool = False) -> Entry:
    """The entry for a domain (or, with alias_ok, the domain an alias domain belongs to)."""
    entry = index_of(domains).domain(name, alias_ok=alias_ok)
    if entry is None:
        raise UsageError(f"{name} is not a mail domain here; add it with `mailprov domain add {name}`")
    return entry


def _find_mailbox(domains: Entries, address: str) -> tuple[Entry, int]:
    """The domain entry holding the mailbox `address`, and the mailbox's position in it."""
    entry = find_domain(domains, domain_of(address))
    position = index_of(domains).mailbox_position(entry, address)
    if position is None:
        raise UsageError(f"{address} has no mailbox; `mailprov user list` shows the mailboxes")
    return entry, position


# --- domains ---------------------------------------------------------------------------------

def add_domain(domains: Entries, raw_name: str, alias_of: str | None = None, backend: str | None = None) -> str:
    """A new mail domain, or with alias_of an alias domain that delivers like that domain;
    `backend`: the fleet's mailbox host that holds it (fleet.new_domain_backend checked it)."""
    name = normalize_domain(raw_name)
    if index_of(domains).domain(name, alias_ok=True) is not None:
        raise UsageError(f"{name} is already a mail domain here")
    if alias_of is not None:
        primary = find_domain(domains, normalize_domain(alias_of))
        primary["alias_domains"] = [*(primary.get("alias_domains") or []), name]
    else:
        domains.append({"name": name, **({"backend": backend} if backend else {}), "mailboxes": [], "aliases": []})
    index_of(domains).domains_changed()
    return name


def remove_domain(domains: Entries, raw_name: str, *, force: bool) -> str:
    name = normalize_domain(raw_name)
    for entry in domains:
        if name in (entry.get("alias_domains") or []):
            entry["alias_domains"] = [d for d in entry["alias_domains"] if d != name]
            index_of(domains).domains_changed()
            return name
    entry = find_domain(domains, name)
    in_use = len(entry.get("mailboxes") or []) + len(entry.get("aliases") or [])
    if in_use and not force:
        raise UsageError(f"{name} still has {in_use} mailboxes and aliases; remove them first "
                         "or pass --force to remove the domain with all its accounts")
    domains[:] = [d for d in domains if d is not entry]
    index_of(domains).domains_changed()
    return name


# --- mailboxes -------------------------------------------------------------------------------

def add_mailbox(domains: Entries, raw_address: str, password_hash: str, quota: str | None) -> str:
    address = normalize_address(raw_address)
    entry = find_domain(domains, domain_of(address))
    mailbox = {"address": address, "password": password_hash}
    if quota:
        normalized = normalize_quota(quota)
        why = quota_problem(quota)
        if normalized is None or why is not None:
            raise UsageError(f"{why or shown(quota)}; write a size such as 500M or 2G, at most {MAX_QUOTA_TEXT}")
        mailbox["quota"] = normalized
    mailboxes = _entries(entry, "mailboxes")
    index = index_of(domains)
    if index.mailbox_position(entry, address) is not None:
        raise UsageError(f"{address} already has a mailbox; change its password with `mailprov user passwd`")
    in_step = index.mailboxes(entry)  # taken before the append, which it then records
    mailboxes.append(mailbox)
    in_step.appended(mailbox)
    return address


def set_password(domains: Entries, raw_address: str, password_hash: str) -> str:
    address = normalize_address(raw_address)
    entry, position = _find_mailbox(domains, address)
    entry["mailboxes"][position]["password"] = password_hash
    return address


def remove_mailbox(domains: Entries, raw_address: str) -> str:
    address = normalize_address(raw_address)
    entry, position = _find_mailbox(domains, address)
    pointing = [source for source, targets in _alias_entries(domains) if address in targets]
    if pointing:
        raise UsageError(f"{', '.join(pointing)} still deliver to {address}; remove that target first "
                         f"(`mailprov alias remove {pointing[0]} {address}`)")
    in_step = index_of(domains).mailboxes(entry)  # taken before the removal, which it then records
    del entry["mailboxes"][position]
    in_step.deleted(address)
    return address


# --- aliases ---------------------------------------------------------------------------------

def _alias_entries(domains: Entries) -> Iterator[tuple[str, list[str]]]:
    for entry in domains:
        if entry.get("catch_all"):
            yield CATCH_ALL_PREFIX + str(entry.get("name")), _as_list(entry.get("catch_all"))
        for alias in entry.get("aliases") or []:
            yield str(alias.get("source")), [str(t) for t in alias.get("targets") or []]


def _as_list(value: Any) -> list[str]:
    return [str(value)] if isinstance(value, str) else [str(v) for v in value or []]


def _normalize_source(raw: str) -> str:
    if raw.startswith(CATCH_ALL_PREFIX):
        return CATCH_ALL_PREFIX + normalize_domain(raw[1:])
    return normalize_address(raw)


def add_alias(domains: Entries, raw_source: str, raw_targets: list[str]) -> str:
    source = _normalize_source(raw_source)
    targets = [normalize_address(t) for t in raw_targets]
    if source.startswith(CATCH_ALL_PREFIX):
        entry = find_domain(domains, source[1:])
        entry["catch_all"] = list(dict.fromkeys([*_as_list(entry.get("catch_all")), *targets]))
        return source
    entry = find_domain(domains, domain_of(source), alias_ok=True)
    aliases = _entries(entry, "aliases")
    for alias in aliases:
        if alias.get("source") == source:
            alias["targets"] = list(dict.fromkeys([*_as_list(alias.get("targets")), *targets]))
            return source
    aliases.append({"source": source, "targets": list(dict.fromkeys(targets))})
    return source


def remove_alias(domains: Entries, raw_source: str, raw_target: str | None) -> str:
    source = _normalize_source(raw_source)
    target = normalize_address(raw_target) if raw_target else None
    if source.startswith(CATCH_ALL_PREFIX):
        entry = find_domain(domains, source[1:])
        _drop_targets(entry, "catch_all", target, source)
        return source
    entry = find_domain(domains, domain_of(source), alias_ok=True)
    aliases = entry.get("aliases") or []
    for index, alias in enumerate(aliases):
        if alias.get("source") == source:
            if _drop_targets(alias, "targets", target, source):
                del aliases[index]
            return source
    raise UsageError(f"{source} is not an alias; `mailprov alias list` shows the aliases")


def _drop_targets(holder: Entry, key: str, target: str | None, source: str) -> bool:
    """Remove one target (or all); True when none is left. The key goes when it empties."""
    current = _as_list(holder.get(key))
    if not current:
        raise UsageError(f"{source} is not an alias; `mailprov alias list` shows the aliases")
    if target is not None and target not in current:
        raise UsageError(f"{source} does not deliver to {target}")
    left = [t for t in current if target is not None and t != target]
    if left:
        holder[key] = (left)
        return False
    del holder[key]
    return True
