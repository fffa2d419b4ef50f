"""`mailprov dns`: every DNS record a hosted domain needs, as zone-file lines or JSON.

Per domain (hosted domains and alias domains): MX, A/AAAA of the mail host, SPF, DKIM (when a
public key is known), DMARC, TLS-RPT, RFC 6186 SRV records, autoconfig/autodiscover CNAMEs; per
mail host its A/AAAA and the TLSA `3 1 1` record of its port 25 (DANE, RFC 7672; used by senders
only in a DNSSEC-signed zone); per hosted domain MTA-STS (the mta-sts name the web face answers
and the `_mta-sts` TXT whose id is a hash of the policy it serves, so the id changes exactly when
the policy does) and, with ACME, CAA for the chosen CA; per host address the PTR it should have
(advice: reverse zones belong to the address's owner).

SPF ends in `-all`: mailprov knows every host that sends for these domains (the mail hosts and,
when set, the relay), so anything else is a forgery; receivers that do not evaluate DMARC can
then refuse it too. Forwarded mail fails SPF either way and is carried by DKIM.

A fleet (docs/fleet.md): the MX records name the mx hosts at priority 10 and the backup_mx hosts
at 20 (tried last); SRV names the submission hosts for submission and the proxies for IMAP and
POP3; SPF adds the submission hosts that are no MX; pure mailbox back ends get no public record
(the fronts reach them at their mail_fleet_address).
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from provisioner.inventory.model import FACING, Domain, Host, Inventory
from provisioner.inventory.web import mta_sts_id, mta_sts_policy
from provisioner.providers import relay_presets

TTL = 3600
# RFC 6186 (and RFC 8314 for the implicit-TLS names): service, port.
SRV_SERVICES = (("_submission", 587), ("_submissions", 465), ("_imap", 143), ("_imaps", 993),
                ("_pop3", 110), ("_pop3s", 995))
TXT_CHUNK = 255
# ACME directory host -> the issuer domain CAA names (RFC 8659); others: the operator adds it.
CAA_ISSUERS = {
    "acme-v02.api.letsencrypt.org": "letsencrypt.org",
    "acme-staging-v02.api.letsencrypt.org": "letsencrypt.org",
    "acme.zerossl.com": "sectigo.com",
    "dv.acme-v02.api.pki.goog": "pki.goog",
    "dv.acme-v02.test-api.pki.goog": "pki.goog",
    "api.buypass.com": "buypass.com",
}


def caa_issuer(server: str) -> str | None:
    return CAA_ISSUERS.get((urlsplit(server).hostname or "").lower())


@dataclass(frozen=True)
class Record:
    name: str  # absolute, with the trailing dot
    type: str
    value: str  # presentation form; for TXT the text itself, unquoted
    zone: str | None  # the hosted zone it belongs in; None: someone else's (reverse zones)
    ttl: int = TTL
    advice: bool = False  # not ours to publish (PTR): shown as a comment in zone output

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DnsPlan:
    records: tuple[Record, ...]
    notes: tuple[str, ...]  # what could not be generated, for stderr


def _fqdn(name: str) -> str:
    return name.rstrip(".") + "."


def mail_domains(inventory: Inventory) -> list[tuple[str, Domain]]:
    """(name, domain it belongs to) for every hosted domain and alias domain, in inventory order."""
    return [(name, d) for d in inventory.domains for name in (d.name, *d.alias_domains)]


def _zone_for(name: str, zones: list[str]) -> str | None:
    """The longest hosted zone that contains `name`."""
    bare = name.rstrip(".")
    matching = [z for z in zones if bare == z or bare.endswith("." + z)]
    return max(matching, key=len) if matching else None


def tlsa_name(hostname: str, port: int = 25) -> str:
    """Where DANE senders look for the TLSA record of an MX (RFC 7672)."""
    return f"_{port}._tcp.{_fqdn(hostname)}"


def _names(inventory: Inventory, *functions: str) -> list[str]:
    """The hosts' names (FQDN, once, in host order) of hosts with any of `functions`; every
    host of complete servers."""
    hosts = [h for h in inventory.hosts if not inventory.is_fleet or set(functions) & set(h.functions)]
    return list(dict.fromkeys(_fqdn(inventory.hostname_for(h)) for h in hosts))


def mx_values(inventory: Inventory) -> list[str]:
    """The MX records' values: every receiving host at 10, a fleet's backup MX last at 20."""
    backup = _names(inventory, "backup_mx") if inventory.is_fleet else []
    return [f"10 {name}" for name in _names(inventory, "mx")] + [f"20 {name}" for name in backup]


def _serves_smtp(inventory: Inventory, host: Host) -> bool:
    return not inventory.is_fleet or bool({"mx", "backup_mx"} & set(host.functions))


def _host_records(inventory: Inventory, zones: list[str], notes: list[str],
                  tlsa: dict[str, str] | None = None) -> list[Record]:
    records: list[Record] = []
    for host in inventory.hosts:
        hostname = _fqdn(inventory.hostname_for(host))
        if not host.faces_internet:
            notes.append(f"{host.name}: a mailbox back end, reached by the fleet only: no public A/AAAA record")
            continue
        if not _serves_smtp(inventory, host):  # TLSA of port 25: only where port 25 answers
            tlsa = {k: v for k, v in (tlsa or {}).items() if k != host.name}
        # DANE-EE (3 1 1) of the key port 25 serves; only with a signed zone does anyone use it.
        if tlsa is not None and host.name in tlsa:
            records.append(Record(tlsa_name(hostname), "TLSA", tlsa[host.name], _zone_for(hostname, zones)))
        address = host.vars.get("ansible_host")
        try:
            ip = ipaddress.ip_address(str(address))
        except ValueError:
            notes.append(f"{host.name}: ansible_host {address!r} is not an IP address, so no A/AAAA record "
                         f"for {hostname} is printed: add it yourself")
            continue
        records.append(Record(hostname, "A" if ip.version == 4 else "AAAA", str(ip), _zone_for(hostname, zones)))
        records.append(Record(ip.reverse_pointer + ".", "PTR", hostname, None, advice=True))
    return records


def _hosted_address(domain: Domain, name: str, address: str) -> bool:
    """Whether `address` at `name` (the domain or one of its alias domains) is delivered here."""
    local = address.rpartition("@")[0]
    canonical = f"{local}@{domain.name}"
    known = {m.address for m in domain.mailboxes} | {a for m in domain.mailboxes for a in m.aliases}
    known |= {a.source for a in domain.aliases}
    return canonical in known or address in known or bool(domain.catch_all)


def _tls_notes(inventory: Inventory, issuer: str | None) -> list[str]:
    tls = inventory.settings.tls
    notes = []
    if tls.mode == "selfsigned":
        notes.append("MTA-STS records are printed once mail_tls.mode is acme (or files with the mta-sts. "
                     "names): senders only trust a policy served with a trusted certificate")
    if tls.mode == "acme":
        for host in inventory.hosts:
            notes.append(f"{host.name}: the ACME certificate names {', '.join(inventory.certificate_names(host))}; "
                         "each must resolve to this host, with port 80 open")
    if tls.mode == "acme" and issuer is None:
        notes.append(f"ACME server {tls.acme_server}: unknown CAA issuer name; if you publish CAA records, "
                     "add the one your CA documents")
    return notes


def plan(inventory: Inventory, only: str | None = None, dkim: dict[str, str] | None = None,
         selector: str = "mail", tlsa: dict[str, str] | None = None) -> DnsPlan:
    """The records for every domain (or `only` that one); `dkim` maps domain -> TXT value,
    `tlsa` inventory host name -> `3 1 1 <hex>` of the certificate it serves on 25."""
    notes: list[str] = []
    names = mail_domains(inventory)
    zones = [n for n, _ in names]
    hostnames = _names(inventory, *FACING)
    senders = [f"a:{n.rstrip('.')}" for n in _names(inventory, "submission") if n not in _names(inventory, "mx")]
    relay = inventory.settings.relay
    include = relay_presets.spf_include(relay.provider, relay.host) if relay else None
    if relay is not None and include is None:
        notes.append(f"relay {relay.host}: not a known provider; add its SPF mechanism to the SPF records yourself")
    dmarc = inventory.settings.dmarc
    sts_id = mta_sts_id(mta_sts_policy(inventory))
    tls = inventory.settings.tls
    issuer = caa_issuer(tls.acme_server) if tls.mode == "acme" else None
    notes += _tls_notes(inventory, issuer)
    records: list[Record] = []
    for name, domain in names:
        if only is not None and name != only:
            continue
        origin = _fqdn(name)
        rua = list(dmarc.rua) if dmarc.rua else [f"postmaster@{name}"]
        for address in rua:
            if address.endswith("@" + name) and not _hosted_address(domain, name, address):
                notes.append(f"{name}: {address} receives DMARC/TLS reports but is no mailbox or alias here")
        records += [Record(origin, "MX", value, name) for value in mx_values(inventory)]
        relays_here = relay is not None and (not relay.sender_domains or name in relay.sender_domains)
        spf = " ".join(["v=spf1", "mx", *senders, *([include] if include and relays_here else []), "-all"])
        records.append(Record(origin, "TXT", spf, name))
        key = (dkim or {}).get(name)
        if key:
            records.append(Record(f"{selector}._domainkey.{origin}", "TXT", key, name))
        else:
            notes.append(f"{name}: no DKIM key yet (selector {selector}); the DKIM record is printed once the "
                         "server has one")
        mailto = ",".join(f"mailto:{a}" for a in rua)
        records.append(Record(f"_dmarc.{origin}", "TXT", f"v=DMARC1; p={dmarc.policy}; rua={mailto}", name))
        records.append(Record(f"_smtp._tls.{origin}", "TXT", f"v=TLSRPTv1; rua={mailto}", name))
        for service, port in SRV_SERVICES:
            servers = _names(inventory, "submission" if "submission" in service else "proxy")
            records += [Record(f"{service}._tcp.{origin}", "SRV", f"0 1 {port} {host}", name) for host in servers]
        first = hostnames[0] if hostnames else _fqdn(inventory.settings.mail_hostname)
        records += [Record(f"{label}.{origin}", "CNAME", first, name) for label in ("autoconfig", "autodiscover")]
        # The web face answers mta-sts. of hosted domains; senders fetch the policy only over
        # HTTPS with a trusted certificate for that name (acme puts it on; with files, yours must).
        if name == domain.name and tls.mode != "selfsigned":
            records.append(Record(f"mta-sts.{origin}", "CNAME", first, name))
            records.append(Record(f"_mta-sts.{origin}", "TXT", f"v=STSv1; id={sts_id}", name))
            if issuer is not None:
                records.append(Record(origin, "CAA", f'0 issue "{issuer}"', name))
    host_records = _host_records(inventory, zones, notes, tlsa)
    if tlsa:
        notes.append("TLSA records protect mail only in a DNSSEC-signed zone (DANE): sign the zone of the MX "
                     "names, and publish a new TLSA record before the server's key changes")
    records += [r for r in host_records if only is None or r.zone in (None, only)]
    return DnsPlan(tuple(records), tuple(notes))


# --- rendering ----------------------------------------------------------------------------------

def txt_strings(text: str) -> str:
    """A TXT value as quoted character-strings of at most 255 bytes each."""
    data = text.encode("utf-8")
    chunks = [data[i:i + TXT_CHUNK] for i in range(0, len(data), TXT_CHUNK)] or [b""]
    return " ".join('"' + c.decode("utf-8", "replace").replace("\\", "\\\\").replace('"', '\\"') + '"'
                    for c in chunks)


def presentation(record: Record) -> str:
    return txt_strings(record.value) if record.type == "TXT" else record.value


def _relative(name: str, zone: str) -> str:
    origin = _fqdn(zone)
    if name == origin:
        return "@"
    return name[: -len(origin) - 1] if name.endswith("." + origin) else name


def render_zone(dns_plan: DnsPlan) -> str:
    """Zone-file lines per zone ($ORIGIN, relative names), PTR advice as comments."""
    lines: list[str] = []
    zones = list(dict.fromkeys(r.zone for r in dns_plan.records if r.zone is not None))
    for zone in zones:
        lines += [f"; {zone}: records for mail (generated by mailprov dns)", f"$ORIGIN {_fqdn(zone)}"]
        lines += [f"{_relative(r.name, zone):<24} {r.ttl} IN {r.type:<5} {presentation(r)}"
                  for r in dns_plan.records if r.zone == zone]
        lines.append("")
    outside = [r for r in dns_plan.records if r.zone is None and not r.advice]
    if outside:
        lines.append("; not in a hosted zone: publish these where their names live")
        lines += [f"; {r.name} {r.ttl} IN {r.type} {presentation(r)}" for r in outside]
        lines.append("")
    advice = [r for r in dns_plan.records if r.advice]
    if advice:
        lines.append("; reverse DNS (ask whoever owns the address, usually the hosting provider):")
        lines += [f"; {r.name} {r.ttl} IN {r.type} {r.value}" for r in advice]
        lines.append("")
    return "\n".join(lines)


def render_json(dns_plan: DnsPlan) -> list[dict[str, Any]]:
    return [r.as_json() for r in dns_plan.records]
