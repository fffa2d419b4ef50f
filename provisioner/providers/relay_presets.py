"""Smarthost providers: where to relay, what SPF include they need, what their users' clients need.

Data, not code: one frozen dataclass per provider. The values come from each provider's own
help pages (SMTP relay / "use with another mail client" / SPF set-up pages) as published in
2024-2025; the ones marked `# check` were not confirmed against a primary source while writing
this table and should be re-checked when a user reports a problem.

Postfix reaches every provider with SASL over TLS: `starttls` is submission on 587 with
STARTTLS (smtp_tls_security_level = encrypt), `implicit` is TLS from the first byte on 465
(smtp_tls_wrappermode = yes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TlsMode = Literal["starttls", "implicit"]
TLS_MODES: tuple[str, ...] = ("starttls", "implicit")
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "implicit": 465}
SES_DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class Server:
    """One client-facing service: host, port and how TLS starts."""

    host: str
    port: int
    tls: Literal["ssl", "starttls"]


@dataclass(frozen=True)
class ClientSettings:
    """What a mail client needs for a mailbox at a provider (`mailprov settings`)."""

    imap: Server
    smtp: Server
    pop3: Server | None = None  # iCloud has no POP3
    username_hint: str = "your full email address"
    note: str = ""


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    host: str  # may contain {region}
    port: int
    tls: TlsMode
    spf_include: str  # the domain after include:
    username_hint: str
    password_hint: str
    mail_domains: tuple[str, ...] = ()  # the provider's own mailbox domains (for settings)
    client: ClientSettings | None = None
    regions: tuple[str, ...] = ()  # non-empty: --region is meaningful
    default_region: str | None = None

    def smtp_host(self, region: str | None = None) -> str:
        if "{region}" not in self.host:
            return self.host
        chosen = region or self.default_region
        if not chosen:
            raise ValueError(f"{self.name} needs a region")
        return self.host.format(region=chosen)


_GOOGLE_LOGIN_HINT = "an app password (with 2-step verification on), not the account password"

_GOOGLE_CLIENT = ClientSettings(
    imap=Server("imap.gmail.com", 993, "ssl"),
    smtp=Server("smtp.gmail.com", 465, "ssl"),
    pop3=Server("pop.gmail.com", 995, "ssl"),
    note="IMAP must be enabled in Gmail's settings; use an app password",
)
_MICROSOFT_CLIENT = ClientSettings(
    imap=Server("outlook.office365.com", 993, "ssl"),
    smtp=Server("smtp-mail.outlook.com", 587, "starttls"),
    pop3=Server("outlook.office365.com", 995, "ssl"),
    note="Outlook.com allows basic-auth IMAP/POP only for some accounts; OAuth2 clients work",
)
_ZOHO_CLIENT = ClientSettings(
    imap=Server("imap.zoho.com", 993, "ssl"),
    smtp=Server("smtp.zoho.com", 465, "ssl"),
    pop3=Server("pop.zoho.com", 995, "ssl"),
    note="accounts in Zoho's EU data centre use imap.zoho.eu / smtp.zoho.eu / pop.zoho.eu",
)

PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("gmail", "Gmail", "smtp.gmail.com", 587, "starttls", "_spf.google.com",
           "your Gmail address", _GOOGLE_LOGIN_HINT, ("gmail.com", "googlemail.com"), _GOOGLE_CLIENT),
    Preset("google-workspace", "Google Workspace", "smtp.gmail.com", 587, "starttls", "_spf.google.com",
           "your Workspace address", _GOOGLE_LOGIN_HINT),
    Preset("outlook", "Outlook.com", "smtp-mail.outlook.com", 587, "starttls", "spf.protection.outlook.com",
           "your Outlook.com address", "the account password or an app password",
           ("outlook.com", "hotmail.com", "live.com", "msn.com"), _MICROSOFT_CLIENT),
    Preset("microsoft365", "Microsoft 365", "smtp.office365.com", 587, "starttls", "spf.protection.outlook.com",
           "the licensed mailbox address (SMTP AUTH enabled for it)", "its password or an app password"),
    Preset("yahoo", "Yahoo Mail", "smtp.mail.yahoo.com", 465, "implicit", "_spf.mail.yahoo.com",  # check: SPF
           "your Yahoo address", "an app password", ("yahoo.com", "ymail.com", "rocketmail.com"),
           ClientSettings(imap=Server("imap.mail.yahoo.com", 993, "ssl"),
                          smtp=Server("smtp.mail.yahoo.com", 465, "ssl"),
                          pop3=Server("pop.mail.yahoo.com", 995, "ssl"),
                          note="use an app password (Account security > Generate app password)")),
    Preset("icloud", "iCloud Mail", "smtp.mail.me.com", 587, "starttls", "icloud.com",
           "your iCloud address", "an app-specific password", ("icloud.com", "me.com", "mac.com"),
           ClientSettings(imap=Server("imap.mail.me.com", 993, "ssl"),
                          smtp=Server("smtp.mail.me.com", 587, "starttls"),
                          username_hint="the name before @ of your iCloud address (some clients: the whole address)",
                          note="use an app-specific password; iCloud has no POP3")),
    Preset("zoho", "Zoho Mail", "smtp.zoho.com", 465, "implicit", "zoho.com",
           "your Zoho address", "the account or an application-specific password",
           ("zoho.com", "zohomail.com"), _ZOHO_CLIENT),
    Preset("zoho-eu", "Zoho Mail (EU data centre)", "smtp.zoho.eu", 465, "implicit", "zoho.eu",
           "your Zoho address", "the account or an application-specific password", ("zohomail.eu",),
           ClientSettings(imap=Server("imap.zoho.eu", 993, "ssl"), smtp=Server("smtp.zoho.eu", 465, "ssl"),
                          pop3=Server("pop.zoho.eu", 995, "ssl"))),
    Preset("fastmail", "Fastmail", "smtp.fastmail.com", 465, "implicit", "spf.messagingengine.com",
           "your Fastmail address", "an app password", ("fastmail.com", "fastmail.fm"),
           ClientSettings(imap=Server("imap.fastmail.com", 993, "ssl"),
                          smtp=Server("smtp.fastmail.com", 465, "ssl"),
                          pop3=Server("pop.fastmail.com", 995, "ssl"),
                          note="use an app password (Settings > Privacy & Security)")),
    Preset("turbosmtp", "turboSMTP", "pro.turbo-smtp.com", 587, "starttls", "_spf.turbo-smtp.com",  # check: SPF
           "your turboSMTP login (consumer key)", "its password (consumer secret)"),
    Preset("ses", "Amazon SES", "email-smtp.{region}.amazonaws.com", 587, "starttls", "amazonses.com",
           "the SES SMTP user name (not an IAM access key id)", "the SES SMTP password",
           regions=("us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1",
                    "eu-west-2", "eu-west-3", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1",
                    "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1",
                    "ap-southeast-2", "ap-southeast-3", "sa-east-1", "me-south-1", "af-south-1", "il-central-1"),
           default_region=SES_DEFAULT_REGION),
    Preset("mailgun", "Mailgun (US)", "smtp.mailgun.org", 587, "starttls", "mailgun.org",
           "the SMTP login of your sending domain (postmaster@mg.example.org)", "its SMTP password"),
    Preset("mailgun-eu", "Mailgun (EU)", "smtp.eu.mailgun.org", 587, "starttls", "mailgun.org",
           "the SMTP login of your sending domain (postmaster@mg.example.org)", "its SMTP password"),
    Preset("sendgrid", "SendGrid", "smtp.sendgrid.net", 587, "starttls", "sendgrid.net",
           "the literal word apikey", "an API key with Mail Send permission"),
    Preset("brevo", "Brevo (Sendinblue)", "smtp-relay.brevo.com", 587, "starttls", "spf.brevo.com",
           "your SMTP login (Settings > SMTP & API)", "an SMTP key (not a v3 API key)"),
    Preset("postmark", "Postmark", "smtp.postmarkapp.com", 587, "starttls", "spf.mtasv.net",
           "a server API token", "the same server API token"),
    Preset("mailjet", "Mailjet", "in-v3.mailjet.com", 587, "starttls", "spf.mailjet.com",
           "the API key", "the secret key"),
)}


def get(name: str) -> Preset | None:
    return PRESETS.get(name.lower())


def for_host(host: str) -> Preset | None:
    """The preset whose SMTP host is `host` (for a relay written by hand without `provider`)."""
    host = host.lower().rstrip(".")
    for preset in PRESETS.values():
        if preset.host == host or (
            "{region}" in preset.host and _matches_template(preset.host, host)
        ):
            return preset
    return None


def _matches_template(template: str, host: str) -> bool:
    prefix, _, suffix = template.partition("{region}")
    return host.startswith(prefix) and host.endswith(suffix) and len(host) > len(prefix) + len(suffix)


def spf_include(provider: str | None, host: str) -> str | None:
    """`include:...` for the relay's provider (by name, else by its host), or None when unknown."""
    preset = (get(provider) if provider else None) or for_host(host)
    return f"include:{preset.spf_include}" if preset else None


def client_settings_for(domain: str) -> tuple[Preset, ClientSettings] | None:
    """The provider and client settings for a mailbox at `domain` (gmail.com, outlook.com...)."""
    domain = domain.lower().rstrip(".")
    for preset in PRESETS.values():
        if preset.client is not None and domain in preset.mail_domains:
            return preset, preset.client
    return None
