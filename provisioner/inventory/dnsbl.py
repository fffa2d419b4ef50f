"""`mail_dnsbl`: the DNS blocklists postscreen and rspamd ask, each switchable (docs/filtering.md).

    mail_dnsbl: {spamhaus: true, spamcop: true, psbl: true, dnswl: true, rspamd: true}

Every list is on unless set to false. The lists' names, weights and return codes live in the
postfix role (vars/main.yml: postfix_dnsbl_lists); tests/unit/test_dnsbl.py pins the two together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisioner.inventory.reader import Collector, Reader
from provisioner.problems import shown

KEY = "mail_dnsbl"
# The lists postscreen asks (each with its weight in the postfix role).
LISTS = ("spamhaus", "spamcop", "psbl", "dnswl")
# rspamd: its rbl module as a whole (its spamhaus and dnswl rules follow the lists above).
KEYS = (*LISTS, "rspamd")


def parse_dnsbl(group_vars: Mapping[str, tuple[str, Any]], out: Collector) -> dict[str, bool] | None:
    """Every switch (True unless turned off); None when the setting has a problem."""
    switches = dict.fromkeys(KEYS, True)
    if KEY not in group_vars or group_vars[KEY][1] is None:
        return switches
    file, value = group_vars[KEY]
    reader = Reader(file, out)
    before = len(out.problems)
    values = reader.mapping(value, KEY, f"a mapping of {', '.join(KEYS)} to true or false")
    if values is None:
        return None
    reader.known_keys(values, KEY, KEYS)
    for key, switch in values.items():
        if key in KEYS and not isinstance(switch, bool):
            reader.problem(f"{KEY}.{key}", f"{shown(switch)} is not true or false",
                           f"write {key}: false to turn the list off, true (the default) to keep it")
        elif key in KEYS:
            switches[key] = switch
    return None if len(out.problems) > before else switches
