"""A fleet rehearsed: the function groups of hosts.yml and the private network the stand-ins share.

An inventory with function groups (docs/fleet.md: ``mx``, ``submission``,
``proxy``, ``mailbox``, ``backup_mx`` as children of ``mailservers``) is a
fleet whose hosts talk to each other: fronts deliver over LMTP to the back
ends, the proxy logs in to them, the backup MX hands mail to the MX. Its
stand-ins therefore share one private podman network with a fixed subnet,
each at a static address that becomes its ``mail_fleet_address`` in the
private hosts.yml. An inventory without function groups (complete servers)
needs none of this and is rehearsed as before.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from provisioner.inventory.parse import GROUP

FUNCTIONS = ("mx", "submission", "proxy", "mailbox", "backup_mx")
FLEET_ADDRESS_VAR = "mail_fleet_address"
NETWORK = "mailprov-rehearse-net"
# Fixed, private and clear of podman's own pools (10.88.0.0/16 default, new networks from
# 10.89.0.0/24 upwards): a kept rehearsal's addresses stay the same from one run to the next.
SUBNET = ipaddress.IPv4Network("10.89.77.0/24")
FIRST_HOST = 10  # .1 is the gateway; host number i gets .10+i
# The back ends' nftables firewall (table mailprov_fleet) must really load in a stand-in.
CAPABILITIES = ("NET_ADMIN",)


def address_for(index: int) -> str:
    """The fleet address of host number ``index`` (0, 1, ...) on the rehearsal network."""
    address = SUBNET.network_address + FIRST_HOST + index
    if address not in SUBNET or address == SUBNET.broadcast_address:
        raise ValueError(f"host number {index} does not fit in {SUBNET}")
    return str(address)


def server_group(hosts_doc: Any) -> Mapping[str, Any]:
    """The ``mailservers`` group of a hosts.yml document (top level or under all.children)."""
    top = hosts_doc if isinstance(hosts_doc, Mapping) else {}
    group = top.get(GROUP)
    if not isinstance(group, Mapping):
        children = (top.get("all") or {}).get("children") or {}
        group = children.get(GROUP) if isinstance(children, Mapping) else None
    return group if isinstance(group, Mapping) else {}


def function_groups(hosts_doc: Any) -> dict[str, list[str]]:
    """Function group -> its host names, as hosts.yml lists them (only the known functions).

    Empty for an inventory of complete servers. Names only: host variables stay
    under ``mailservers.hosts`` (docs/fleet.md), so nothing else is read here.
    """
    children = server_group(hosts_doc).get("children")
    if not isinstance(children, Mapping):
        return {}
    groups: dict[str, list[str]] = {}
    for name in FUNCTIONS:
        child = children.get(name)
        hosts = child.get("hosts") if isinstance(child, Mapping) else None
        if isinstance(hosts, Mapping):
            groups[name] = [str(host) for host in hosts]
    return groups


def children_document(groups: Mapping[str, list[str]]) -> dict[str, Any]:
    """The function groups for the private hosts.yml: names only, as docs/fleet.md has them."""
    return {name: {"hosts": dict.fromkeys(hosts)} for name, hosts in groups.items()}
