"""The fleet as one host sees it (docs/fleet.md): which functions it has, where each domain's
mailbox back end is, which addresses are the fleet's fronts.

Computed once per host from the inventory's groups and host variables, so every role reads the
same answer instead of repeating group arithmetic in Jinja. No policy is decided here: the CLI
validated the groups, the addresses and each domain's back end (provisioner/inventory).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# A host of an inventory without function groups is a complete server, as before fleets.
COMPLETE = ("mx", "submission", "mailbox")
# The hosts that talk to mailbox back ends (LMTP deliveries, proxied logins).
FRONT_FUNCTIONS = ("mx", "submission", "proxy")


def _members(groups: Mapping[str, Sequence[str]], function: str) -> list[str]:
    return list(groups.get(function) or [])


def _address(hostvars: Mapping[str, Any], host: str) -> str:
    own = hostvars[host]
    return str(own.get("mail_fleet_address") or own.get("ansible_host") or host)


def _name(hostvars: Mapping[str, Any], host: str) -> str:
    """The host's mail_hostname: its certificate's name, which the others check."""
    return str(hostvars[host].get("mail_hostname") or host)


def fleet_plan(
    groups: Mapping[str, Sequence[str]],
    hostvars: Mapping[str, Any],
    host: str,
    domains: Sequence[Mapping[str, Any]],
    functions: Sequence[str],
) -> dict[str, Any]:
    """What ``host`` needs to know of the fleet.

    ``functions`` is mail_common_functions (the group names); ``domains`` is mail_domains.
    """
    fleet = any(_members(groups, f) for f in functions)
    if not fleet:
        names = [str(d["name"]) for d in domains]
        return {
            "fleet": False,
            "functions": list(COMPLETE),
            "fronts": [],
            "proxies": [],
            "peers": [],
            "mx": [],
            "backup_mx": [],
            "trust": [],
            "routes": {name: {"local": True} for name in names},
            "local_domains": names,
        }
    own = [f for f in functions if host in _members(groups, f)]
    mailbox_hosts = _members(groups, "mailbox")
    fronts = sorted({h for f in FRONT_FUNCTIONS for h in _members(groups, f)})
    routes: dict[str, dict[str, Any]] = {}
    local_domains: list[str] = []
    for domain in domains:
        name = str(domain["name"])
        backend = str(domain.get("backend") or mailbox_hosts[0])
        if backend == host or domain.get("previous_backend") == host:
            local_domains.append(name)
        routes[name] = {
            "local": backend == host,
            "backend": backend,
            "address": _address(hostvars, backend),
            "name": _name(hostvars, backend),
        }
    remote = sorted({r["backend"] for r in routes.values() if not r["local"]})
    every = sorted({h for f in functions for h in _members(groups, f)})
    mx = [h for h in _members(groups, "mx") if h != host]
    # Whose certificates this host checks: the back ends it delivers to or proxies to, and,
    # on a backup MX, the mx fronts it hands mail to. A pure back end checks nobody's.
    trusted = (remote if set(own) & {"mx", "submission", "proxy"} else []) + (mx if "backup_mx" in own else [])
    return {
        "fleet": True,
        "functions": own,
        "fronts": [_address(hostvars, h) for h in fronts if h != host],
        "proxies": [_address(hostvars, h) for h in _members(groups, "proxy") if h != host],
        "peers": [_address(hostvars, h) for h in every if h != host],
        "mx": [{"address": _address(hostvars, h), "name": _name(hostvars, h)} for h in mx],
        "backup_mx": [_address(hostvars, h) for h in _members(groups, "backup_mx") if h != host],
        "trust": [{"host": h, "name": _name(hostvars, h)} for h in sorted(set(trusted))],
        "routes": routes,
        "local_domains": local_domains,
    }


class FilterModule:
    """mailprov fleet filters."""

    def filters(self) -> dict[str, Any]:
        return {"mailprov_fleet_plan": fleet_plan}
