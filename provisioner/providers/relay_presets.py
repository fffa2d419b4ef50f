"""Smarthost providers: where to relay, what SPF include they need, what their users' clients need.

Data, not code: one frozen dataclass per provider. The submission server of a mailbox provider
(Gmail, Outlook.com, Yahoo...) comes from the provider table (providers.toml, see table.py),
which cites its sources; the relay-only services' values come from their own help pages as
published in 2024-2025; the ones marked `# check` were not confirmed against a primary source
while writing this table and should be re-checked when a user reports a problem.

Postfix reaches every provider with SASL over TLS: `starttls` is submission on 587 with
STARTTLS (smtp_tls_security_level = encrypt), `implicit` is TLS from the first byte on 465
(smtp_tls_wrappermode = yes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from provisioner.providers import table

TlsMode = Literal["starttls", "implicit"]
TLS_MODES: tuple[str, ...] = ("starttls", "implicit")
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "implicit": 465}
SES_DEFAULT_REGION = "us-east-1"


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
    provider: str | None = None  # the mailbox provider of providers.toml it relays through
    regions: tuple[str, ...] = ()  # non-empty: --region is meaningful
    default_region: str | None = None

    def smtp_host(self, region: str | None = None) -> str:
        if "{region}" not in self.host:
            return self.host
        chosen = region or self.default_region
        if not chosen:
            raise ValueError(f"{self.name} needs a region")
        return self.host.format(region=chosen)


def _mailbox(name: str, title: str, provider: str, tls: TlsMode, *, spf: str, user: str,
             login_with: str) -> Preset:
    """A preset that relays through a mailbox provider: its submission server comes from the
    provider table (providers.toml), so host and port are written once."""
    server = table.get(provider).submission("ssl" if tls == "implicit" else "starttls")
    if server is None:
        raise table.TableError(f"{table.FILE}: {provider}: no {tls} submission server for relay preset {name}")
    return Preset(name, title, server.host, server.port, tls, spf, user, login_with, provider)


_GOOGLE_LOGIN_HINT = "an app password (with 2-step verification on), not the account password"

PRESETS: dict[str, Preset] = {p.name: p for p in (
    _mailbox("gmail", "Gmail", "gmail", "starttls", spf="_spf.google.com", user="your Gmail address",
             login_with=_GOOGLE_LOGIN_HINT),
    _mailbox("google-workspace", "Google Workspace", "gmail", "starttls", spf="_spf.google.com",
             user="your Workspace address", login_with=_GOOGLE_LOGIN_HINT),
    _mailbox("outlook", "Outlook.com", "outlook", "starttls", spf="spf.protection.outlook.com",
             user="your Outlook.com address", login_with="the account password or an app password"),
    _mailbox("microsoft365", "Microsoft 365", "microsoft365", "starttls", spf="spf.protection.outlook.com",
             user="the licensed mailbox address (SMTP AUTH enabled for it)",
             login_with="its password or an app password"),
    _mailbox("yahoo", "Yahoo Mail", "yahoo", "implicit", spf="_spf.mail.yahoo.com",  # check: SPF
             user="your Yahoo address", login_with="an app password"),
    _mailbox("icloud", "iCloud Mail", "icloud", "starttls", spf="icloud.com",
             user="your iCloud address", login_with="an app-specific password"),
    _mailbox("zoho", "Zoho Mail", "zoho", "implicit", spf="zoho.com",
             user="your Zoho address", login_with="the account or an application-specific password"),
    _mailbox("zoho-eu", "Zoho Mail (EU data centre)", "zoho-eu", "implicit", spf="zoho.eu",
             user="your Zoho address", login_with="the account or an application-specific password"),
    _mailbox("fastmail", "Fastmail", "fastmail", "implicit", spf="spf.messagingengine.com",
             user="your Fastmail address", login_with="an app password"),
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


def client_settings_for(domain: str) -> tuple[Preset, table.Provider] | None:
    """The relay preset and the provider table entry for a mailbox at ``domain`` (gmail.com...),
    when the provider has a relay preset."""
    provider = table.for_domain(domain)
    if provider is None:
        return None
    preset = next((p for p in PRESETS.values() if p.provider == provider.id), None)
    return (preset, provider) if preset else None
