"""Protection settings: brute-force bans (`mail_bans`) and per-user sending limits
(`mail_sending_limit`, `mailboxes[].sending_limit`).

The defaults here are the roles' defaults too (roles/bans/vars/main.yml,
roles/rspamd/vars/main.yml); tests/unit/test_protection.py pins the two together.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from provisioner.inventory.model import DEFAULT_SENDING_LIMIT, Bans
from provisioner.inventory.reader import Collector, Reader
from provisioner.problems import shown

BANS_KEY = "mail_bans"
SENDING_LIMIT_KEY = "mail_sending_limit"
BANS_KEYS = ("max_failures", "find_time", "ban_time", "ignore")
MAX_SENDING_LIMIT = 100_000
MAX_FAILURES = 100
# fail2ban's time units; a bare number is seconds.
_DURATION = re.compile(r"^([1-9][0-9]*)([smhdw]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_MAX_SECONDS = 366 * 86400


def duration_seconds(value: object) -> int | None:
    """``600``, ``"600"``, ``"10m"``, ``"1h"``, ``"1d"``, ``"1w"`` in seconds; None if not one
    of these or longer than a year."""
    if isinstance(value, bool):
        return None
    match = _DURATION.fullmatch(str(value).strip()) if isinstance(value, (int, str)) else None
    if match is None:
        return None
    seconds = int(match[1]) * _UNIT_SECONDS[match[2]]
    return seconds if seconds <= _MAX_SECONDS else None


def sending_limit_problem(value: object) -> str | None:
    """Why ``value`` is not a number of messages per hour, or None when it is one."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_SENDING_LIMIT:
        return f"{shown(value)} is not a number of messages per hour from 1 to {MAX_SENDING_LIMIT}"
    return None


def parse_protection(group_vars: Mapping[str, tuple[str, Any]], out: Collector) -> tuple[Bans, int] | None:
    """`mail_bans` and `mail_sending_limit`; None (with problems) when either is wrong."""
    before = len(out.problems)
    bans = _parse_bans(group_vars, out)
    limit = DEFAULT_SENDING_LIMIT
    if SENDING_LIMIT_KEY in group_vars:
        file, value = group_vars[SENDING_LIMIT_KEY]
        why = sending_limit_problem(value)
        if why:
            Reader(file, out).problem(SENDING_LIMIT_KEY, why, "e.g. mail_sending_limit: 100")
        else:
            limit = value
    return None if len(out.problems) > before else (bans, limit)


def _parse_bans(group_vars: Mapping[str, tuple[str, Any]], out: Collector) -> Bans:
    if BANS_KEY not in group_vars or group_vars[BANS_KEY][1] is None:
        return Bans()
    file, value = group_vars[BANS_KEY]
    reader = Reader(file, out)
    bans = reader.mapping(value, BANS_KEY, "a mapping with max_failures, find_time, ban_time, ignore")
    if bans is None:
        return Bans()
    reader.known_keys(bans, BANS_KEY, BANS_KEYS)
    failures = bans.get("max_failures", Bans.max_failures)
    if isinstance(failures, bool) or not isinstance(failures, int) or not 1 <= failures <= MAX_FAILURES:
        reader.problem(f"{BANS_KEY}.max_failures", f"{shown(failures)} is not a number from 1 to {MAX_FAILURES}",
                       f"e.g. max_failures: {Bans.max_failures}")
    times = {key: bans.get(key, getattr(Bans, key)) for key in ("find_time", "ban_time")}
    for key, time in times.items():
        if duration_seconds(time) is None:
            reader.problem(f"{BANS_KEY}.{key}", f"{shown(time)} is not a duration up to a year",
                           "write seconds or a number with s, m, h, d or w, e.g. 10m or 1h")
    ignore = _networks(reader, bans.get("ignore"))
    return Bans(failures if isinstance(failures, int) else Bans.max_failures,
                str(times["find_time"]), str(times["ban_time"]), ignore)


def _networks(reader: Reader, value: object) -> tuple[str, ...]:
    """The never-banned networks, each an address or CIDR network (host bits allowed)."""
    where = f"{BANS_KEY}.ignore"
    if isinstance(value, str):
        reader.problem(where, "a single value", f"write a list: ignore: [{value}]")
        return ()
    items = reader.string_list(value, where)
    networks = []
    for i, item in enumerate(items or []):
        try:
            networks.append(str(ipaddress.ip_network(item.strip(), strict=False)))
        except ValueError:
            reader.problem(f"{where}[{i}]", f"{shown(item)} is not an address or network",
                           "write e.g. 203.0.113.0/24, 198.51.100.7 or 2001:db8::/48")
    return tuple(networks)
