"""Rules that need the whole account list: duplicates, dangling targets, loops."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from provisioner.inventory.model import Domain, Host
from provisioner.inventory.names import domain_of
from provisioner.inventory.parse import ACCOUNTS_KEY, RELEASE_VAR
from provisioner.inventory.reader import Collector


def check_accounts(file: str, domains: Iterable[Domain], out: Collector) -> None:
    domains = list(domains)
    _check_domain_names(file, domains, out)
    primary_of = {alias: d.name for d in domains for alias in d.alias_domains}
    primary_of.update({d.name: d.name for d in domains})

    def canonical(address: str) -> str:
        local, _, domain = address.rpartition("@")
        return f"{local}@{primary_of.get(domain, domain)}"

    owners: dict[str, str] = {}

    def claim(address: str, where: str, what: str) -> None:
        key = canonical(address)
        if key in owners:
            out.add(file, where, f"{address} is already {owners[key]}",
                    "an address can be one mailbox or one alias: remove one of them")
        else:
            owners[key] = what

    alias_targets: dict[str, tuple[str, ...]] = {}
    for d in domains:
        base = f"{ACCOUNTS_KEY}[{d.name}]"
        for m in d.mailboxes:
            claim(m.address, f"{base}.mailboxes[{m.address}]", "a mailbox")
        for m in d.mailboxes:
            for extra in m.aliases:
                claim(extra, f"{base}.mailboxes[{m.address}].aliases", f"an alias of {m.address}")
                alias_targets[canonical(extra)] = (m.address,)
        for a in d.aliases:
            claim(a.source, f"{base}.aliases[{a.source}]", "an alias")
            alias_targets[canonical(a.source)] = a.targets

    def check_targets(targets: Iterable[str], where: str) -> None:
        for target in targets:
            if domain_of(target) in primary_of and canonical(target) not in owners:
                out.add(file, where, f"{target} is a local address with no mailbox or alias",
                        f"create it first with `mailprov user add {target}`, or fix the target")

    for d in domains:
        base = f"{ACCOUNTS_KEY}[{d.name}]"
        check_targets(d.catch_all, f"{base}.catch_all")
        for a in d.aliases:
            check_targets(a.targets, f"{base}.aliases[{a.source}].targets")
    _check_loops(file, alias_targets, canonical, out)


def _check_domain_names(file: str, domains: list[Domain], out: Collector) -> None:
    seen: dict[str, str] = {}
    for d in domains:
        for name, role in [(d.name, "a domain"), *((a, f"an alias domain of {d.name}") for a in d.alias_domains)]:
            if name in seen:
                out.add(file, f"{ACCOUNTS_KEY}[{d.name}]", f"{name} is listed twice ({seen[name]} and {role})",
                        "keep one entry")
            else:
                seen[name] = role


def _check_loops(
    file: str, alias_targets: dict[str, tuple[str, ...]], canonical: Callable[[str], str], out: Collector
) -> None:
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            loop = [*path[path.index(node):], node]
            out.add(file, f"{ACCOUNTS_KEY}.aliases", f"aliases form a loop: {' -> '.join(loop)}",
                    "make one of them deliver to a mailbox")
            return
        if node in done or node not in alias_targets:
            return
        for target in alias_targets[node]:
            visit(canonical(target), [*path, node])
        done.add(node)

    for source in alias_targets:
        visit(source, [])


# Debian releases whose mail path cannot deliver SMTPUTF8 mail (Dovecot 2.3's LMTP has no
# SMTPUTF8, so the postfix role turns it off): no non-ASCII local parts there. The roles
# refuse them on such a host too (mail_accounts), whatever the inventory says.
NO_EAI_RELEASES = {"bookworm": "Debian 12 (bookworm) cannot deliver it (Dovecot 2.3's LMTP has no SMTPUTF8)"}


def check_release(file: str, hosts: Iterable[Host], domains: Iterable[Domain], out: Collector) -> None:
    """Non-ASCII local parts only where every host's release can deliver them."""
    blocked = sorted({str(h.vars.get(RELEASE_VAR)) for h in hosts} & NO_EAI_RELEASES.keys())
    if not blocked:
        return
    for d in domains:
        base = f"{ACCOUNTS_KEY}[{d.name}]"
        addresses = [(m.address, f"{base}.mailboxes[{m.address}]") for m in d.mailboxes]
        addresses += [(extra, f"{base}.mailboxes[{m.address}].aliases") for m in d.mailboxes for extra in m.aliases]
        addresses += [(a.source, f"{base}.aliases[{a.source}]") for a in d.aliases]
        addresses += [(t, f"{base}.aliases[{a.source}].targets") for a in d.aliases for t in a.targets]
        addresses += [(t, f"{base}.catch_all") for t in d.catch_all]
        for address, where in addresses:
            if not address.rpartition("@")[0].isascii():
                out.add(file, where, f"{address} has a non-ASCII local part: {NO_EAI_RELEASES[blocked[0]]}",
                        "use an ASCII address, or move the host to Debian 13 (mailprov_release: trixie)")
