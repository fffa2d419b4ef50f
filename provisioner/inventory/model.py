"""The typed inventory model: what a mail server serves, after validation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

TlsMode = Literal["selfsigned", "files", "acme"]
TLS_MODES: tuple[str, ...] = ("selfsigned", "files", "acme")
DEFAULT_MESSAGE_SIZE_LIMIT = 50 * 1024 * 1024
DEFAULT_SENDING_LIMIT = 100  # messages per hour per authenticated user (rspamd ratelimit)


@dataclass(frozen=True)
class Mailbox:
    address: str
    password: str = field(repr=False)
    quota: str | None = None
    aliases: tuple[str, ...] = ()
    sending_limit: int | None = None  # messages per hour; None: the inventory's mail_sending_limit


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
    backend: str | None = None  # a fleet's mailbox host that holds the domain (docs/fleet.md)
    previous_backend: str | None = None  # during a move: the back end it comes from


LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"


@dataclass(frozen=True)
class Eab:
    """External account binding for an ACME CA (ZeroSSL, Google); hmac_key is a vault reference."""

    kid: str
    hmac_key: str = field(repr=False)


@dataclass(frozen=True)
class Tls:
    mode: TlsMode = "selfsigned"
    cert_file: str | None = None
    key_file: str | None = None
    email: str | None = None
    server: str | None = None  # acme: the CA's directory URL (None: Let's Encrypt)
    ca_file: str | None = None  # acme: PEM trusted for talking to that server
    eab: Eab | None = None
    extra_names: tuple[str, ...] = ()

    @property
    def acme_server(self) -> str:
        return self.server or LETS_ENCRYPT


MtaStsMode = Literal["testing", "enforce", "none"]
MTA_STS_MODES: tuple[str, ...] = ("testing", "enforce", "none")
MTA_STS_MAX_AGE_LIMIT = 31557600  # RFC 8461


@dataclass(frozen=True)
class MtaSts:
    """The MTA-STS policy the web face serves (MX: the servers' mail_hostname)."""

    mode: MtaStsMode = "testing"
    max_age: int = 604800


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


# Backup schedules -> their period in seconds: `check` fails after two periods without success.
# roles/backup/vars/main.yml maps the same names to systemd OnCalendar (a unit test pins both).
BACKUP_SCHEDULES: Mapping[str, int] = {"hourly": 3600, "daily": 86400, "weekly": 604800}
# Where restic may keep a repository: a local path (a second disk) or one of these back ends.
BACKUP_BACKENDS: tuple[str, ...] = ("sftp:", "s3:", "rest:", "b2:", "azure:", "gs:", "swift:", "rclone:")


@dataclass(frozen=True)
class BackupKeep:
    daily: int = 7
    weekly: int = 4
    monthly: int = 6


@dataclass(frozen=True)
class Backup:
    """restic on the server: repository, password (vault) and back-end credentials (vault)."""

    repository: str
    password: str = field(repr=False)
    schedule: str = "daily"
    keep: BackupKeep = BackupKeep()
    env: Mapping[str, str] = field(default_factory=dict, repr=False)  # e.g. AWS_ACCESS_KEY_ID, vault values

    @property
    def period(self) -> int:
        return BACKUP_SCHEDULES[self.schedule]

    @property
    def local(self) -> bool:
        return self.repository.startswith("/")


@dataclass(frozen=True)
class Bans:
    """Brute-force bans (fail2ban; parsed by protection.py): `max_failures` failed logins within
    `find_time` ban an address for `ban_time`; `ignore` networks (and 127.0.0.1, ::1) are never
    banned. Times as fail2ban writes them (seconds, or 10m, 1h, 1d)."""

    max_failures: int = 5
    find_time: str = "10m"
    ban_time: str = "1h"
    ignore: tuple[str, ...] = ()


@dataclass(frozen=True)
class Webmail:
    """Roundcube at https://HOST/ (HOST: mail_hostname unless host is set)."""

    enabled: bool = False
    host: str | None = None


# A fleet's function groups (docs/fleet.md), children of mailservers in hosts.yml; the same
# list as mail_common_functions in roles/mail_common/vars/main.yml (a unit test pins both).
FUNCTIONS: tuple[str, ...] = ("mx", "submission", "proxy", "mailbox", "backup_mx")
# Every host of an inventory without function groups: a complete server (IMAP served directly).
COMPLETE: tuple[str, ...] = ("mx", "submission", "mailbox")
# The functions reached from the Internet; a host with none of them is a pure back end.
FACING: tuple[str, ...] = ("mx", "submission", "proxy", "backup_mx")


@dataclass(frozen=True)
class Host:
    name: str
    vars: Mapping[str, Any]
    functions: tuple[str, ...] = COMPLETE  # in FUNCTIONS order

    @property
    def faces_internet(self) -> bool:
        """Whether anything of it is reached from outside (else: a mailbox back end only)."""
        return any(f in FACING for f in self.functions)

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
    mta_sts: MtaSts = MtaSts()
    bans: Bans = Bans()
    sending_limit: int = DEFAULT_SENDING_LIMIT
    webmail: Webmail = Webmail()
    backup: Backup | None = None


@dataclass(frozen=True)
class Inventory:
    path: Path
    hosts: tuple[Host, ...]
    settings: Settings
    domains: tuple[Domain, ...]
    is_fleet: bool = False  # hosts sorted into function groups (else: complete servers)

    @property
    def mailboxes(self) -> tuple[Mailbox, ...]:
        return tuple(m for d in self.domains for m in d.mailboxes)

    @property
    def aliases(self) -> tuple[Alias, ...]:
        return tuple(a for d in self.domains for a in d.aliases)

    def hostname_for(self, host: Host) -> str:
        """A host may override the group's mail_hostname (several servers, one inventory)."""
        return str(host.vars.get("mail_hostname", self.settings.mail_hostname))

    def with_function(self, function: str) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if function in h.functions)

    def backend_of(self, domain: Domain) -> Host | None:
        """The mailbox host that holds `domain` in a fleet (its `backend`, else the only one);
        None for complete servers, which all hold every domain."""
        if not self.is_fleet:
            return None
        mailbox = self.with_function("mailbox")
        wanted = domain.backend or (mailbox[0].name if len(mailbox) == 1 else None)
        return next((h for h in mailbox if h.name == wanted), None)

    def mx_names(self) -> tuple[str, ...]:
        """The names that receive mail, in host order, once: the MX of the MTA-STS policy
        (every server; in a fleet the mx hosts, then the backup_mx hosts)."""
        hosts = self.with_function("mx") + self.with_function("backup_mx") if self.is_fleet else self.hosts
        names = [self.hostname_for(h) for h in hosts] or [self.settings.mail_hostname]
        return tuple(dict.fromkeys(n.lower() for n in names))

    def certificate_names(self, host: Host | None = None) -> tuple[str, ...]:
        """The names an ACME certificate is requested for (as roles/acme computes them): the
        server, mta-sts. and autoconfig. of every hosted domain, then mail_tls.extra_names, then the
        webmail's own name when it has one."""
        hostname = self.hostname_for(host) if host is not None else self.settings.mail_hostname
        names = [hostname]
        names += [f"mta-sts.{d.name}" for d in self.domains]
        names += [f"autoconfig.{d.name}" for d in self.domains]
        names += list(self.settings.tls.extra_names)
        if self.settings.webmail.enabled and self.settings.webmail.host:
            names.append(self.settings.webmail.host)
        return tuple(dict.fromkeys(n.lower() for n in names))

    def domain(self, name: str) -> Domain | None:
        return next((d for d in self.domains if d.name == name), None)

    def summary(self) -> str:
        text = ", ".join(
            [
                _count(len(self.hosts), "host", "hosts"),
                _count(len(self.domains), "domain", "domains"),
                _count(len(self.mailboxes), "mailbox", "mailboxes"),
                _count(len(self.aliases), "alias", "aliases"),
            ]
        )
        if not self.is_fleet:
            return text
        functions = ", ".join(f"{f} {len(self.with_function(f))}" for f in FUNCTIONS)
        return f"{text}; a fleet: {functions}"


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"
