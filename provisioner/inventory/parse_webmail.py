"""`mail_webmail: {enabled: false, host: NAME}`: Roundcube (roles/webmail), served by the web
role's nginx at https://HOST/ (HOST: mail_hostname unless it has a name of its own, which then
joins the certificate's names). The role's argument spec checks the same shape."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisioner.inventory.model import Webmail
from provisioner.inventory.reader import Collector, Reader
from provisioner.problems import shown

KEY = "mail_webmail"
WEBMAIL_KEYS = ("enabled", "host")


def parse_webmail(group_vars: Mapping[str, tuple[str, Any]], out: Collector) -> Webmail | None:
    """The webmail setting (default: off); None, with the problems reported, when it is wrong."""
    if KEY not in group_vars or group_vars[KEY][1] is None:
        return Webmail()
    file, value = group_vars[KEY]
    reader = Reader(file, out)
    before = len(out.problems)
    values = reader.mapping(value, KEY, "a mapping with enabled and host")
    if values is None:
        return None
    reader.known_keys(values, KEY, WEBMAIL_KEYS)
    enabled = values.get("enabled", False)
    if not isinstance(enabled, bool):
        reader.problem(f"{KEY}.enabled", f"{shown(enabled)} is not true or false", "write enabled: true or false")
    host = values.get("host")
    if host is not None:
        host = reader.domain(host, f"{KEY}.host")
    if len(out.problems) > before:
        return None
    return Webmail(bool(enabled), host.lower() if isinstance(host, str) else None)
