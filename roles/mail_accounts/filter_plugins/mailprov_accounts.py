"""Filters that turn `mail_domains` into the lines of the Postfix lookup
tables and the Dovecot passwd-file.

The logic lives in Python rather than in Jinja loops because Ansible's
templating costs tens of seconds per template for 10,000 mailboxes, while
these functions take milliseconds. The templates stay one per table; each
calls one filter. No policy is decided here (the CLI validated the data).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

Domain = Mapping[str, Any]


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return list(value)


def u_label(domain: str) -> str:
    """The Unicode form of an A-label domain (`xn--bcher-kva.test` -> `bücher.test`);
    ASCII-only domains come back unchanged. Punycode decoding only: the CLI stored
    the A-label after full IDNA validation."""
    return ".".join(
        label[4:].encode("ascii").decode("punycode") if label.startswith("xn--") else label
        for label in domain.split(".")
    )


def _with_u_labels(domains: Iterable[Domain]) -> list[Domain]:
    """Each IDN domain's U-label form (and that of its IDN alias domains) served as one more
    alias domain, so RCPT, sender checks and logins work with both forms of the name."""
    result = []
    for domain in domains:
        names = [domain["name"], *_list(domain.get("alias_domains"))]
        extra = [u_label(name) for name in names if u_label(name) != name]
        result.append({**domain, "alias_domains": _list(domain.get("alias_domains")) + extra} if extra else domain)
    return result


def _rename(address: str, domain: str) -> str:
    """The same local part in another domain."""
    return address.rsplit("@", 1)[0] + "@" + domain


def _lines(lines: Iterable[str]) -> str:
    text = "\n".join(lines)
    return text + "\n" if text else ""


def virtual_mailbox_domains(domains: Iterable[Domain]) -> str:
    return _lines(f"{domain['name']} OK" for domain in domains)


def virtual_alias_domains(domains: Iterable[Domain]) -> str:
    return _lines(f"{alias} OK" for domain in domains for alias in _list(domain.get("alias_domains")))


def virtual_mailboxes(domains: Iterable[Domain]) -> str:
    return _lines(f"{mailbox['address']} OK" for domain in domains for mailbox in _list(domain.get("mailboxes")))


def _in_domain(address: str, domain: str) -> bool:
    return address.rsplit("@", 1)[-1] == domain


def _explicit_alias_keys(domains: list[Domain]) -> set[str]:
    """Every key the inventory writes itself (mailboxes, their aliases, alias
    sources, catch-alls). Entries generated for alias domains never repeat
    one of these: the explicit entry wins (and postmap sees no duplicate)."""
    keys: set[str] = set()
    for domain in domains:
        for mailbox in _list(domain.get("mailboxes")):
            keys.add(mailbox["address"])
            keys.update(_list(mailbox.get("aliases")))
        keys.update(alias["source"] for alias in _list(domain.get("aliases")))
        if _list(domain.get("catch_all")):
            keys.add(f"@{domain['name']}")
    return keys


def _alias_domain_lines(
    domain: Domain, entries: list[tuple[str, str]], explicit: set[str], generated: set[str]
) -> Iterator[str]:
    """The domain's entries (`key value`) once more for each of its alias domains.

    One entry per address, never `@alias -> @domain`: unknown users of an alias domain are
    refused at RCPT time. Keys the inventory writes itself (an explicit override) or that were
    already generated are skipped, so postmap never sees a duplicate.
    """
    name = domain["name"]
    for alias_domain in _list(domain.get("alias_domains")):
        yield f"# {alias_domain} (alias domain of {name})"
        for address, value in entries:
            if not _in_domain(address, name):
                continue
            key = _rename(address, alias_domain)
            if key not in explicit and key not in generated:
                generated.add(key)
                yield f"{key} {value}"


def _virtual_aliases(domains: list[Domain]) -> Iterator[str]:
    explicit = _explicit_alias_keys(domains)
    generated: set[str] = set()
    for domain in domains:
        name = domain["name"]
        catch_all = _list(domain.get("catch_all"))
        local: list[str] = []  # every address of this domain itself
        yield f"# {name}"
        for mailbox in _list(domain.get("mailboxes")):
            address = mailbox["address"]
            # Identity mapping: a real mailbox always wins over the catch-all.
            yield f"{address} {address}"
            local.append(address)
            for alias in _list(mailbox.get("aliases")):
                yield f"{alias} {address}"
                local.append(alias)
        for alias in _list(domain.get("aliases")):
            yield f"{alias['source']} {', '.join(_list(alias.get('targets')))}"
            local.append(alias["source"])
        if catch_all:
            yield f"@{name} {', '.join(catch_all)}"
        # Mail to an alias domain's address goes to the domain's address (not straight to its
        # targets), so one lookup chain serves both; the catch-all is repeated as it is.
        entries = [(address, address) for address in local]
        if catch_all:
            entries.append((f"@{name}", ", ".join(catch_all)))
        yield from _alias_domain_lines(domain, entries, explicit, generated)


def virtual_aliases(domains: Iterable[Domain]) -> str:
    return _lines(_virtual_aliases(list(domains)))


def _sender_logins(domains: list[Domain]) -> Iterator[str]:
    mailboxes = {mailbox["address"] for domain in domains for mailbox in _list(domain.get("mailboxes"))}
    every_owner: list[dict[str, list[str]]] = []
    for domain in domains:
        owners: dict[str, list[str]] = {}
        for mailbox in _list(domain.get("mailboxes")):
            address = mailbox["address"]
            owners[address] = [address]
            for alias in _list(mailbox.get("aliases")):
                owners[alias] = [address]
        for alias in _list(domain.get("aliases")):
            local_targets = [target for target in _list(alias.get("targets")) if target in mailboxes]
            if local_targets:
                owners[alias["source"]] = local_targets
        every_owner.append(owners)
    # Keys written explicitly win over those generated for alias domains.
    explicit = {address for owners in every_owner for address in owners}
    generated: set[str] = set()
    for domain, owners in zip(domains, every_owner, strict=True):
        name = domain["name"]
        yield f"# {name}"
        for address, logins in owners.items():
            yield f"{address} {', '.join(logins)}"
        yield from _alias_domain_lines(
            domain, [(address, ", ".join(logins)) for address, logins in owners.items()], explicit, generated
        )


def sender_logins(domains: Iterable[Domain]) -> str:
    return _lines(_sender_logins(list(domains)))


def proxy_fields(route: Mapping[str, Any]) -> str:
    """Dovecot's proxy fields for a user whose mailbox is on another host of the fleet: the
    password is checked here, then the login goes on to the back end over STARTTLS, its
    certificate checked against its name (`host`), connected at its fleet address (`hostip`)."""
    return f"proxy=y host={route['name']} hostip={route['address']} ssl=yes starttls=yes"


def passwd_file(domains: Iterable[Domain], quota_field: str, routes: Mapping[str, Any] | None = None) -> str:
    """user:password:uid:gid:gecos:home:shell:extra (uid/gid/home from dovecot.conf).

    A mailbox in an IDN domain gets a second line for its U-label name, which logs
    in to the same mailbox: `user=` renames it to the stored A-label form. In a fleet
    (``routes``: the fleet plan's), users of domains held elsewhere get the proxy fields."""
    lines = []
    for domain in domains:
        route = (routes or {}).get(domain["name"]) or {"local": True}
        proxy = "" if route["local"] else proxy_fields(route)
        for mailbox in _list(domain.get("mailboxes")):
            address = mailbox["address"]
            quota = mailbox.get("quota")
            extra = " ".join(f for f in (f"{quota_field}{quota}" if quota else "", proxy) if f)
            lines.append(f"{address}:{mailbox['password']}::::::{extra}")
            unicode_name = _rename(address, u_label(address.rsplit("@", 1)[-1]))
            if unicode_name != address:
                renamed = f"user={address} {extra}".rstrip()
                lines.append(f"{unicode_name}:{mailbox['password']}::::::{renamed}")
    return _lines(lines)


def non_ascii_addresses(domains: Iterable[Domain]) -> list[str]:
    """Addresses with a non-ASCII local part (they need SMTPUTF8 all the way to the mailbox)."""
    found = []
    for domain in domains:
        addresses = list(_list(domain.get("catch_all")))
        for mailbox in _list(domain.get("mailboxes")):
            addresses += [mailbox["address"], *_list(mailbox.get("aliases"))]
        for alias in _list(domain.get("aliases")):
            addresses += [alias["source"], *_list(alias.get("targets"))]
        found += [address for address in addresses if not address.rsplit("@", 1)[0].isascii()]
    return sorted(set(found))


def fleet_transport(domains: Iterable[Domain], plan: Mapping[str, Any]) -> str:
    """Postfix's transport table in a fleet. A backup MX hands every hosted domain (and alias
    domain) to the mx fronts; other hosts send each domain held elsewhere to its back end's LMTP."""
    if "backup_mx" in plan["functions"]:
        nexthops = ",".join(f"[{mx['address']}]:25" for mx in plan["mx"])
        names = [n for d in _with_u_labels(list(domains)) for n in [d["name"], *_list(d.get("alias_domains"))]]
        return _lines(f"{name} relay:{nexthops}" for name in names)
    routes = plan["routes"]
    return _lines(
        f"{name} lmtp:inet:[{route['address']}]:24" for name, route in routes.items() if not route["local"]
    )


def fleet_tls_policy(plan: Mapping[str, Any]) -> str:
    """TLS required toward every host of the fleet this one sends to, its certificate checked
    against its name (Postfix policy `secure`; a self-signed one is in the trust store, mail_base)."""
    if "backup_mx" in plan["functions"]:
        peers = {f"[{mx['address']}]:25": mx["name"] for mx in plan["mx"]}
    else:
        peers = {f"[{r['address']}]:24": r["name"] for r in plan["routes"].values() if not r["local"]}
    return _lines(f"{nexthop} secure match={name}" for nexthop, name in sorted(peers.items()))


def account_tables(
    domains: Iterable[Domain], quota_field: str, plan: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """Every table at once: the inventory data is converted only once. In a fleet (``plan``:
    mail_common_fleet_plan) a pure mailbox back end holds only its own domains' accounts, and
    the routing tables are added."""
    domains = list(domains)
    served = _with_u_labels(domains)
    tables = {
        "virtual_mailbox_domains": virtual_mailbox_domains(domains),
        "virtual_alias_domains": virtual_alias_domains(served),
        "virtual_mailboxes": virtual_mailboxes(domains),
        "virtual_aliases": virtual_aliases(served),
        "sender_logins": sender_logins(served),
    }
    if plan is None or not plan.get("fleet"):
        return {**tables, "users": passwd_file(domains, quota_field)}
    # Hosts that check passwords for users anywhere (proxy, submission) know every account.
    everyone = bool(set(plan["functions"]) & {"proxy", "submission"})
    held = [d for d in domains if everyone or d["name"] in plan["local_domains"]]
    return {
        **tables,
        "users": passwd_file(held, quota_field, plan["routes"]),
        "fleet_transport": fleet_transport(domains, plan),
        "fleet_tls_policy": fleet_tls_policy(plan),
    }


def _digest(password_hash: str) -> str:
    """A short digest of a password hash: tells a changed password apart, reveals nothing."""
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()[:16]


def accounts_manifest(domains: Iterable[Domain]) -> dict[str, Any]:
    """What the accounts are, without a secret: /etc/mailprov/accounts-manifest.json.

    `mailprov deploy --check` computes the same from the inventory (with this function) and
    shows the difference: mailboxes added, removed, with a new password or quota; aliases and
    domains added or removed. Password hashes appear only as :func:`_digest`.
    """
    domains = list(domains)
    mailboxes: dict[str, Any] = {}
    aliases: dict[str, list[str]] = {}
    for domain in domains:
        for mailbox in _list(domain.get("mailboxes")):
            mailboxes[mailbox["address"]] = {
                "password": _digest(str(mailbox["password"])), "quota": mailbox.get("quota") or None,
            }
            for extra in _list(mailbox.get("aliases")):
                aliases[extra] = [mailbox["address"]]
        for alias in _list(domain.get("aliases")):
            aliases[alias["source"]] = sorted(_list(alias.get("targets")))
        if _list(domain.get("catch_all")):
            aliases[f"@{domain['name']}"] = sorted(_list(domain.get("catch_all")))
    return {
        "format": 1,
        "domains": sorted(domain["name"] for domain in domains),
        "alias_domains": sorted(a for domain in domains for a in _list(domain.get("alias_domains"))),
        "mailboxes": mailboxes,
        "aliases": aliases,
    }


class FilterModule:
    """mailprov account filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "mailprov_account_tables": account_tables,
            "mailprov_non_ascii_addresses": non_ascii_addresses,
            "mailprov_virtual_mailbox_domains": virtual_mailbox_domains,
            "mailprov_virtual_alias_domains": virtual_alias_domains,
            "mailprov_virtual_mailboxes": virtual_mailboxes,
            "mailprov_virtual_aliases": virtual_aliases,
            "mailprov_sender_logins": sender_logins,
            "mailprov_passwd_file": passwd_file,
            "mailprov_accounts_manifest": accounts_manifest,
        }
