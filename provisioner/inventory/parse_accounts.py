"""The accounts document (`mail_domains`): domains, mailboxes and aliases, field by field."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from provisioner.inventory.model import Alias, Domain, Mailbox
from provisioner.inventory.parse import ACCOUNTS_KEY, ALIAS_KEYS, DOMAIN_KEYS, MAILBOX_KEYS
from provisioner.inventory.passwords import HASH_HELP, scheme_of
from provisioner.inventory.protection import sending_limit_problem
from provisioner.inventory.reader import MAX_QUOTA_TEXT, Collector, Reader, kind, normalize_quota, quota_problem
from provisioner.problems import shown

T = TypeVar("T")


def parse_domains(file: str, value: object, out: Collector) -> tuple[Domain, ...] | None:
    reader = Reader(file, out)
    if value is None:
        return ()
    if not isinstance(value, list):
        reader.problem(ACCOUNTS_KEY, f"expected a list of domains, found {kind(value)}",
                       "write `mail_domains:` followed by `- name: example.org` entries")
        return None
    before = len(out.problems)
    domains = [_parse_domain(reader, entry, i) for i, entry in enumerate(value)]
    if len(out.problems) > before:
        return None
    return tuple(d for d in domains if d is not None)


def _parse_domain(reader: Reader, entry: object, index: int) -> Domain | None:
    raw_name = entry.get("name") if isinstance(entry, Mapping) else None
    where = f"{ACCOUNTS_KEY}[{raw_name if isinstance(raw_name, str) else index}]"
    values = reader.mapping(entry, where, "a mapping with `name`")
    if values is None:
        return None
    reader.known_keys(values, where, DOMAIN_KEYS)
    if "name" not in values:
        reader.problem(f"{where}.name", "missing", "name the domain, e.g. name: example.org")
        return None
    name = reader.domain(values["name"], f"{where}.name")
    alias_domains = reader.string_list(values.get("alias_domains"), f"{where}.alias_domains")
    aliased = [reader.domain(d, f"{where}.alias_domains[{i}]") for i, d in enumerate(alias_domains or [])]
    catch_all = reader.addresses(values.get("catch_all"), f"{where}.catch_all")
    if name is None or catch_all is None or None in aliased:
        return None
    own_domains = {name, *(cast(list[str], aliased))}
    mailboxes = _parse_list(reader, values.get("mailboxes"), f"{where}.mailboxes", "address",
                            lambda item, at: _parse_mailbox(reader, item, at, name, own_domains))
    aliases = _parse_list(reader, values.get("aliases"), f"{where}.aliases", "source",
                          lambda item, at: _parse_alias(reader, item, at, own_domains))
    backend_ok, backend = _host_name(reader, values.get("backend"), f"{where}.backend")
    previous_ok, previous = _host_name(reader, values.get("previous_backend"), f"{where}.previous_backend")
    if mailboxes is None or aliases is None or not backend_ok or not previous_ok:
        return None
    return Domain(name, tuple(cast(list[str], aliased)), tuple(catch_all), tuple(mailboxes), tuple(aliases),
                  backend, previous)


def _host_name(reader: Reader, value: object, where: str) -> tuple[bool, str | None]:
    """(valid, the host) named in an account entry, None when absent; fleet.check_backends
    says which hosts may be named."""
    if value is None:
        return True, None
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        reader.problem(where, f"expected a host name, found {kind(value)}",
                       "write the name of a mailbox host as hosts.yml lists it")
        return False, None
    return True, value


def _parse_list(
    reader: Reader, value: object, where: str, key: str,
    parse_item: Callable[[Mapping[str, Any], str], T | None],
) -> list[T] | None:
    if value is None:
        return []
    if not isinstance(value, list):
        reader.problem(where, f"expected a list, found {kind(value)}", f"write a list of `- {key}: ...` entries")
        return None
    items: list[T] = []
    ok = True
    for i, item in enumerate(value):
        label = item.get(key) if isinstance(item, Mapping) else None
        at = f"{where}[{label if isinstance(label, str) else i}]"
        mapping = reader.mapping(item, at, f"a mapping with `{key}`")
        parsed = parse_item(mapping, at) if mapping is not None else None
        if parsed is None:
            ok = False
        else:
            items.append(parsed)
    return items if ok else None


def _parse_mailbox(
    reader: Reader, values: Mapping[str, Any], where: str, domain: str, own_domains: set[str]
) -> Mailbox | None:
    reader.known_keys(values, where, MAILBOX_KEYS)
    address = reader.address(values.get("address"), f"{where}.address")
    ok = address is not None
    if address is not None and address.rpartition("@")[2] != domain:
        reader.problem(f"{where}.address", f"{address} is not in the domain {domain}",
                       f"list it under the domain {address.rpartition('@')[2]} (add that domain first)")
        ok = False
    password = values.get("password")
    if not isinstance(password, str) or scheme_of(password) is None:
        looks_plain = isinstance(password, str) and not password.startswith("{")
        reader.problem(f"{where}.password",
                       "a plaintext password" if looks_plain else "not a recognised password hash",
                       HASH_HELP)
        ok = False
    quota = values.get("quota")
    if quota is not None:
        too_big = quota_problem(quota)
        quota = normalize_quota(quota)
        if too_big is not None and quota is not None:
            reader.problem(f"{where}.quota", too_big, f"write at most {MAX_QUOTA_TEXT}, or leave it out for no limit")
            ok = False
        elif quota is None or quota != str(values.get("quota")):
            fix = f"write {quota}" if quota else "write a size such as 500M or 2G, or leave it out for no limit"
            reader.problem(f"{where}.quota", f"{shown(values.get('quota'))} is not a quota as Dovecot writes it", fix)
            ok = False
    limit = values.get("sending_limit")
    if limit is not None and (why := sending_limit_problem(limit)):
        reader.problem(f"{where}.sending_limit", why, "e.g. sending_limit: 500, or leave it out for mail_sending_limit")
        ok = False
    aliases = reader.addresses(values.get("aliases"), f"{where}.aliases")
    if aliases is None:
        return None
    ok = _check_own(reader, aliases, f"{where}.aliases", own_domains) and ok
    if not ok:
        return None
    return Mailbox(cast(str, address), cast(str, password), quota, tuple(aliases), limit)


def _parse_alias(
    reader: Reader, values: Mapping[str, Any], where: str, own_domains: set[str]
) -> Alias | None:
    reader.known_keys(values, where, ALIAS_KEYS)
    source = reader.address(values.get("source"), f"{where}.source")
    targets = reader.addresses(values.get("targets"), f"{where}.targets")
    if source is None or targets is None:
        return None
    if not targets:
        reader.problem(f"{where}.targets", "no targets", "list at least one address, or remove the alias")
        return None
    if not _check_own(reader, [source], f"{where}.source", own_domains):
        return None
    return Alias(source, tuple(dict.fromkeys(targets)))


def _check_own(reader: Reader, addresses: list[str], where: str, own_domains: set[str]) -> bool:
    ok = True
    for address in addresses:
        if address.rpartition("@")[2] not in own_domains:
            reader.problem(where, f"{address} is not in this domain ({', '.join(sorted(own_domains))})",
                           "move it under the domain it belongs to")
            ok = False
    return ok
