"""The rules of a fleet (docs/fleet.md) that need more than one host or file: what the
function groups must cover, how the hosts reach each other, which back end holds each domain.

The function groups themselves are read with hosts.yml (parse.parse_hosts); an inventory
without them is complete servers, and none of these rules apply but one: a domain's
`backend` and `previous_backend` are refused there (they would mean nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from provisioner.inventory.model import COMPLETE, FACING, FUNCTIONS, Domain, Host, Inventory
from provisioner.inventory.parse import ACCOUNTS_KEY, FLEET_ADDRESS_VAR, GROUP, is_ip
from provisioner.inventory.reader import Collector
from provisioner.problems import UsageError, shown

__all__ = ["COMPLETE", "FACING", "FUNCTIONS", "backend_problem", "check_backends", "check_hosts", "new_domain_backend"]

# Each of these must have a host for the fleet to receive, send and read mail.
REQUIRED = ("mx", "submission", "proxy", "mailbox")
EXCLUSIVE = ("mx", "backup_mx")  # a backup MX hands its queue to the mx hosts: never itself


def check_hosts(file: str, hosts: Iterable[Host], hostnames: Mapping[str, str], out: Collector) -> None:
    """Every host has a function, every function a host, and each host an address for the
    others; `hostnames`: host -> its mail_hostname (the name fronts verify it by)."""
    hosts = list(hosts)
    groups = f"{GROUP}.children"
    for host in hosts:
        where = f"{GROUP}.hosts.{host.name}"
        if not host.functions:
            out.add(file, where, "in no function group",
                    f"list it under one of {groups}.{{{','.join(FUNCTIONS)}}}, or remove it")
        if all(f in host.functions for f in EXCLUSIVE):
            out.add(file, where, "in both mx and backup_mx",
                    "keep it in one: a backup MX hands its mail to the mx hosts")
        if FLEET_ADDRESS_VAR not in host.vars and not is_ip(host.vars.get("ansible_host")):
            found = host.vars.get("ansible_host")
            what = f"ansible_host {shown(found)} is not an IP address" if found is not None else "no ansible_host"
            out.add(file, f"{where}.{FLEET_ADDRESS_VAR}", f"missing, and {what}",
                    f"set {FLEET_ADDRESS_VAR}: the IP address the other hosts of the fleet reach it at")
    for function in REQUIRED:
        if not any(function in h.functions for h in hosts):
            out.add(file, f"{groups}.{function}", "no host",
                    f"a fleet needs at least one host there: list one under {function}")
    seen: dict[str, str] = {}
    for host in hosts:
        name = hostnames.get(host.name, "").lower()
        if name in seen:
            out.add(file, f"{GROUP}.hosts.{host.name}.mail_hostname", f"{name} is also {seen[name]}'s",
                    "give each host of a fleet its own mail_hostname (its certificate's name)")
        seen.setdefault(name, host.name)


def check_backends(file: str, hosts: Iterable[Host], is_fleet: bool, domains: Iterable[Domain],
                   out: Collector) -> None:
    """Each domain's back end is a mailbox host (needed when there are several), and a move's
    previous_backend another one; neither exists without function groups."""
    mailbox = [h.name for h in hosts if "mailbox" in h.functions]
    for d in domains:
        base = f"{ACCOUNTS_KEY}[{d.name}]"
        for key, value in (("backend", d.backend), ("previous_backend", d.previous_backend)):
            if value is None:
                continue
            if not is_fleet:
                out.add(file, f"{base}.{key}", "a fleet's setting, and the hosts are in no function group",
                        "remove it (every host holds every domain), or sort the hosts into function groups "
                        "(docs/fleet.md)")
            elif (why := backend_problem(value, mailbox)) is not None:
                out.add(file, f"{base}.{key}", why, f"write one of {', '.join(mailbox)}")
        if is_fleet and d.backend is None and len(mailbox) > 1:
            out.add(file, f"{base}.backend", f"missing: {len(mailbox)} mailbox hosts could hold it",
                    f"add backend: one of {', '.join(mailbox)}")
        current = d.backend or (mailbox[0] if is_fleet and len(mailbox) == 1 else None)
        if is_fleet and d.previous_backend is not None and d.previous_backend == current:
            out.add(file, f"{base}.previous_backend", f"the same host as its backend ({current})",
                    "name the back end the domain moves from, or remove it once the move is done")


def backend_problem(name: str, mailbox: list[str]) -> str | None:
    """Why `name` cannot hold a domain (None when it can): it must be a mailbox host."""
    if name in mailbox:
        return None
    return f"{shown(name)} is not a host of the mailbox group"


def new_domain_backend(inventory: Inventory, backend: str | None, alias_of: str | None) -> str | None:
    """The `backend` a new domain is written with (`mailprov domain add --backend`), or
    UsageError: None when there is no choice to write down (complete servers, one mailbox host)."""
    if backend is None and (not inventory.is_fleet or alias_of is not None):
        return None
    if not inventory.is_fleet:
        raise UsageError("--backend is for a fleet, and this inventory's hosts are in no function group "
                         "(every host holds every domain): leave it out")
    if alias_of is not None:
        raise UsageError(f"an alias domain is held where {alias_of} is: leave out --backend")
    mailbox = [h.name for h in inventory.with_function("mailbox")]
    if backend is None:
        if len(mailbox) > 1:
            raise UsageError(f"--backend HOST is needed: say which mailbox host holds the domain "
                             f"({', '.join(mailbox)})")
        return None
    if (why := backend_problem(backend, mailbox)) is not None:
        raise UsageError(f"{why}: use one of {', '.join(mailbox)}")
    return backend
