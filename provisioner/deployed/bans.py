"""`mailprov bans`: fail2ban's jails and bans on each host, and lifting a ban.

Read (and, for unban, acted on) by ``playbooks/bans.yml`` through the same reader as
`mailprov status`: ``fail2ban-client status`` names the jails, ``get JAIL banip --with-time``
lists each jail's banned addresses with the ban's start, length and end.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from provisioner.deployed.reader import HostRead, read
from provisioner.inventory.store import load_inventory

PLAYBOOK = "bans.yml"
TASKS = {"Lift the ban": "unban", "Read the bans": "bans"}
UNBAN_VAR = "mailprov_bans_unban"
# 127.0.0.2 \t2026-12-01 10:00:00 + 3600 = 2026-12-01 11:00:00
_BAN_LINE = re.compile(r"^(?P<address>\S+)\s+(?P<start>\S+ \S+) \+ (?P<seconds>-?\d+) = (?P<end>\S+ \S+)")


class BanAddressError(ValueError):
    """The address to unban is not an IP address."""


@dataclass(frozen=True)
class Ban:
    jail: str
    address: str
    start: str | None = None  # server time, as fail2ban prints it
    seconds: int | None = None
    end: str | None = None


@dataclass
class HostBans:
    host: str
    error: str | None = None
    jails: list[str] = field(default_factory=list)
    bans: list[Ban] = field(default_factory=list)
    unbanned: bool | None = None  # unban: whether a jail held the address (None: not asked)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def parse_bans(stdout: str) -> tuple[list[str], list[Ban]]:
    """The jails and bans in bans.yml's output: ``[jail]`` lines, then one line per ban
    (``ADDRESS START + SECONDS = END``, or only the address from an older fail2ban)."""
    jails: list[str] = []
    bans: list[Ban] = []
    for raw in stdout.splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            jails.append(line[1:-1])
        elif line and jails:
            match = _BAN_LINE.match(line)
            if match:
                bans.append(Ban(jails[-1], match["address"], match["start"], int(match["seconds"]), match["end"]))
            else:
                bans += [Ban(jails[-1], word) for word in line.split()]
    return jails, bans


def checked_address(address: str) -> str:
    """The address as fail2ban writes it; BanAddressError when it is not an IP address."""
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError as exc:
        raise BanAddressError(f"{address!r} is not an IP address (write e.g. 203.0.113.7 or 2001:db8::7)") from exc


def host_bans(read_back: HostRead, unban: bool) -> HostBans:
    out = HostBans(read_back.host, error=read_back.error)
    listing = read_back.stdout("bans")
    if listing is None and out.error is None:
        out.error = "fail2ban did not answer (not deployed, or stopped)"
    out.jails, out.bans = parse_bans(listing or "")
    if unban and "unban" in read_back.results:
        out.unbanned = str(read_back.results["unban"].get("stdout", "0")).strip() not in ("", "0")
    return out


def bans(inventory_dir: Path, limit: str | None = None, unban: str | None = None) -> list[HostBans]:
    """Every inventory host's jails and bans (limited to ``limit``), after lifting ``unban``'s."""
    address = checked_address(unban) if unban is not None else None
    inventory = load_inventory(inventory_dir)
    extra = (json.dumps({UNBAN_VAR: address}),) if address else ()
    result = read(inventory_dir, limit=limit, playbook=PLAYBOOK, tasks=TASKS, extra_vars=extra)
    wanted = {n.strip() for n in limit.split(",")} if limit else None
    out = []
    for host in inventory.hosts:
        read_back = result.hosts.get(host.name)
        if read_back is not None:
            out.append(host_bans(read_back, address is not None))
        elif wanted is None or host.name in wanted:
            out.append(HostBans(host.name, error=f"not read (ansible rc {result.rc})"))
    return out
