"""Which mailbox logs in for an address: the username Dovecot knows.

Dovecot's passwd-file holds only mailbox addresses. An address at an alias
domain, a mailbox's own alias, or an alias that delivers to exactly one local
mailbox belongs to that mailbox; anything else (a catch-all, an alias fanning
out to several mailboxes, an unknown address) has no login.
"""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.inventory.model import Domain, Inventory
from provisioner.problems import shown


class NoLogin(ValueError):
    """The address is not (and does not belong to exactly one) mailbox; the text says why."""


@dataclass(frozen=True)
class Login:
    address: str  # as asked, normalised
    username: str  # the mailbox address that logs in
    domain: Domain  # the hosted domain the mailbox is in


def split(address: str) -> tuple[str, str]:
    local, _, domain = address.strip().lower().rpartition("@")
    if not local or not domain:
        raise NoLogin(f"{shown(address)} is not an email address (expected user@domain)")
    return local, domain


def hosting_domain(inventory: Inventory, domain: str) -> Domain | None:
    """The hosted domain serving ``domain`` (itself or one of its alias domains)."""
    return next((d for d in inventory.domains if domain == d.name or domain in d.alias_domains), None)


def login_for(inventory: Inventory, address: str) -> Login:
    """The mailbox ``address`` logs in as, for an address at a hosted domain.

    Raises :class:`NoLogin` for an unknown domain too; callers that accept
    other domains check :func:`hosting_domain` first.
    """
    local, domain = split(address)
    served = hosting_domain(inventory, domain)
    if served is None:
        raise NoLogin(f"{domain} is not a mail domain of this inventory")
    asked = f"{local}@{domain}"
    username = _mailbox_of(inventory, asked)
    if username is None:
        targets = _alias_targets(inventory, asked)
        if targets is None:
            raise NoLogin(
                f"{asked} is not a mailbox here (nor an alias of one); "
                "`mailprov user list` shows the mailboxes"
            )
        owners = sorted({m for t in targets if (m := _mailbox_of(inventory, t)) is not None})
        if len(owners) != 1:
            which = ", ".join(owners) if owners else "no local mailbox"
            raise NoLogin(
                f"{asked} is an alias delivering to {which}, not a login; "
                "ask for the settings of the mailbox that should read it"
            )
        username = owners[0]
    home = hosting_domain(inventory, split(username)[1]) or served
    return Login(address=asked, username=username, domain=home)


def _candidates(inventory: Inventory, address: str) -> list[str]:
    """The address itself, then its form at the primary domain if it is at an alias domain."""
    local, domain = split(address)
    served = hosting_domain(inventory, domain)
    if served is None or served.name == domain:
        return [address]
    return [address, f"{local}@{served.name}"]


def _mailbox_of(inventory: Inventory, address: str) -> str | None:
    """The mailbox that is ``address`` or has it as its own alias."""
    for candidate in _candidates(inventory, address):
        for mailbox in inventory.mailboxes:
            if candidate == mailbox.address or candidate in mailbox.aliases:
                return mailbox.address
    return None


def _alias_targets(inventory: Inventory, address: str) -> tuple[str, ...] | None:
    for candidate in _candidates(inventory, address):
        for alias in inventory.aliases:
            if alias.source == candidate:
                return alias.targets
    return None
