"""The typed inventory model: what a mail server serves, after validation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

TlsMode = Literal["selfsigned", "files", "acme"]
TLS_MODES: tuple[str, ...] = ("selfsigned", "files", "acme")
DEFAULT_MESSAGE_SIZE_LIMIT = 50 * 1024 * 1024


@dataclass(frozen=True)
class Mailbox:
    address: str
    password: str = field(repr=False)
    quota: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Alias:
    source: str
    targets: tuple[str, ...]


@dataclass(frozen=True)
class Domain:
    name: str
    alias_domains: tuple[str, ...] = ()
    catch_all: tuple[str, ...] = ()
    mailboxes: tuple[Mailbox, ...] = ()
    aliases: tuple[Alias, ...] = ()


@dataclass(frozen=True)
class Tls:
    mode: TlsMode = "selfsigned"
    cert_file: str | None = None
    key_file: str | None = None
    email: str | None = None


RelayTls = Literal["starttls", "implicit"]
DmarcPolicy = Literal["none", "quarantine", "reject"]
DMARC_POLICIES: tuple[str, ...] = ("none", "quarantine", "reject")


@dataclass(frozen=True)
class Relay:
    host: str
    port: int = 587
    username: str | None = None
    # A vault reference such as "{{ vault_mail_relay_password }}" or an inline !vault value.
    password: str | None = field(default=None, repr=False)
    provider: str | None = None  # a preset of provisioner.providers.relay_presets, when set from one
    tls: RelayTls = "starttls"  # STARTTLS (587) or TLS from the first byte (465)
    sender_domains: tuple[str, ...] = ()  # only mail from these domains relays; () = all mail


@dataclass(frozen=True)
class Dmarc:
    """The DMARC record `mailprov dns` proposes; rua None means postmaster@ each domain."""

    policy: DmarcPolicy = "quarantine"
    rua: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Dkim:
    """DKIM signing: the selector of the keys the server makes (changing it rotates them)."""

    selector: str = "mail"


@dataclass(frozen=True)
class Spam:
    """rspamd's thresholds: refused at SMTP time above reject_score, into Junk above junk_score."""

    reject_score: float = 15.0
    junk_score: float = 6.0
    greylist: bool = False


@dataclass(frozen=True)
class Host:
    name: str
    vars: Mapping[str, Any]

    @property
    def address(self) -> str:
        return str(self.vars.get("ansible_host", self.name))


@dataclass(frozen=True)
class Settings:
    mail_hostname: str
    tls: Tls = Tls()
    message_size_limit: int = DEFAULT_MESSAGE_SIZE_LIMIT
    relay: Relay | None = None
    dmarc: Dmarc = Dmarc()
    dkim: Dkim = Dkim()
    spam: Spam = Spam()


@dataclass(frozen=True)
class Inventory:
    path: Path
    hosts: tuple[Host, ...]
    settings: Settings
    domains: tuple[Domain, ...]

    @property
    def mailboxes(self) -> tuple[Mailbox, ...]:
        return tuple(m for d in self.domains for m in d.mailboxes)

    @property
    def aliases(self) -> tuple[Alias, ...]:
        return tuple(a for d in self.domains for a in d.aliases)

    def hostname_for(self, host: Host) -> str:
        """A host may override the group's mail_hostname (several servers, one inventory)."""
        return str(host.vars.get("mail_hostname", self.settings.mail_hostname))

    def domain(self, name: str) -> Domain | None:
        return next((d for d in self.domains if d.name == name), None)

    def summary(self) -> str:
        return ", ".join(
            [
                _count(len(self.hosts), "host", "hosts"),
                _count(len(self.domains), "domain", "domains"),
                _count(len(self.mailboxes), "mailbox", "mailboxes"),
                _count(len(self.aliases), "alias", "aliases"),
            ]
        )


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"
