"""The protections of issue 13 as the server runs them, read by status.yml (tag protection):
fail2ban's loaded jails (``fail2ban-client status``) and rspamd's sending limits
(``rspamadm configdump -j ratelimit``: what rspamd loads, not only what was written)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from provisioner.deployed.reader import HostRead, read

# The jails mailprov's bans role always enables (roundcube-auth only with webmail).
REQUIRED_JAILS = ("postfix-sasl", "dovecot")


@dataclass
class Protection:
    host: str
    error: str | None = None  # the host could not be read
    jails: list[str] | None = None  # None: fail2ban did not answer
    limits: dict[str, int] | None = None  # rate name -> messages per hour; None: no ratelimit
    dovecot: str | None = None  # `systemctl is-active dovecot` (active, failed...); None: not read
    lmtp_listeners: int | None = None  # sockets listening on port 24; None: not read

    @property
    def missing_jails(self) -> list[str]:
        return self.missing()

    def missing(self, required: tuple[str, ...] | None = None) -> list[str]:
        """The jails of `required` (default: a complete server's) that are not loaded."""
        return [j for j in (REQUIRED_JAILS if required is None else required) if j not in (self.jails or [])]


def parse_jails(stdout: str) -> list[str]:
    """``|- Number of jail: 2`` / ``\\`- Jail list: dovecot, postfix-sasl`` -> the names."""
    for line in stdout.splitlines():
        if "Jail list:" in line:
            return [j.strip() for j in line.split("Jail list:", 1)[1].split(",") if j.strip()]
    return []


def parse_limits(stdout: str) -> dict[str, int] | None:
    """The ratelimit rates (name -> burst, the messages an hour a user may send); None when
    rspamd has no such rates."""
    try:
        rates = json.loads(stdout).get("rates")
    except (ValueError, AttributeError):
        return None
    if not isinstance(rates, dict):
        return None
    limits = {name: rate.get("bucket", {}).get("burst") for name, rate in rates.items() if isinstance(rate, dict)}
    found = {name: int(burst) for name, burst in limits.items() if isinstance(burst, (int, float))}
    return found or None


def host_protection(read_back: HostRead) -> Protection:
    out = Protection(read_back.host, error=read_back.error)
    jails = read_back.stdout("jails")
    out.jails = parse_jails(jails) if jails is not None else None
    limits = read_back.stdout("ratelimit")
    out.limits = parse_limits(limits) if limits is not None else None
    # is-active exits non-zero for anything but active: its word is in the result either way.
    dovecot = read_back.results.get("dovecot")
    out.dovecot = str(dovecot.get("stdout", "")).strip() or None if dovecot else None
    lmtp = (read_back.stdout("lmtp") or "").strip()
    out.lmtp_listeners = int(lmtp) if lmtp.isdigit() else None
    return out


def protection(inventory_dir: Path, limit: str | None = None) -> dict[str, Protection]:
    """Each host read (host name -> its protections); hosts not read are missing."""
    result = read(inventory_dir, limit=limit, tags=("protection",))
    return {name: host_protection(read_back) for name, read_back in result.hosts.items()}
