"""Where a host's services are reached from outside.

Normally the standard ports at the host's address. A host whose ports are
published elsewhere (the sandbox: 127.0.0.1 high ports) says so in its host
vars, which ``check`` and ``settings`` read:

    mailprov_probe_address: 127.0.0.1      # default: ansible_host, else the host name
    mailprov_ports: {smtp: 14025, submission: 14587, ...}   # missing keys: standard
"""

from __future__ import annotations

from collections.abc import Mapping

from provisioner.inventory.model import Host

PORTS_VAR = "mailprov_ports"
ADDRESS_VAR = "mailprov_probe_address"

# Service name -> standard port. The names are the keys of `mailprov_ports`.
PUBLIC_PORTS: Mapping[str, int] = {
    "smtp": 25,
    "submission": 587,
    "smtps": 465,
    "imap": 143,
    "imaps": 993,
    "pop3": 110,
    "pop3s": 995,
    "managesieve": 4190,
    "http": 80,  # the web face: ACME challenges, redirect to https
    "https": 443,  # MTA-STS policy, client autoconfiguration
}


def host_ports(host: Host) -> dict[str, int]:
    """The host's service ports as seen from outside."""
    ports = dict(PUBLIC_PORTS)
    overrides = host.vars.get(PORTS_VAR) or {}
    if isinstance(overrides, Mapping):
        for name, value in overrides.items():
            if name in ports:
                ports[str(name)] = int(value)
    return ports


def probe_address(host: Host) -> str:
    return str(host.vars.get(ADDRESS_VAR) or host.address)
