"""`mailprov dns`: the DNS records the hosted domains need, and a check of what DNS says."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

import click

from provisioner.cli import completion
from provisioner.cli.common import EXIT_FAILED, fail, inventory_option, load_or_exit, print_json
from provisioner.dns import certs, dkim, records
from provisioner.dns.tlsa import tlsa_311


@click.command("dns")
@inventory_option
@click.argument("domain", required=False, shell_complete=completion.domains)
@click.option("--format", "fmt", type=click.Choice(["zone", "json"]), default="zone", show_default=True)
@click.option("--check", "do_check", is_flag=True, help="Query DNS and report each record ok / missing / different.")
@click.option("--nameserver", metavar="IP", help="With --check: ask this server instead of the system resolver.")
@click.option("--port", type=click.IntRange(1, 65535), default=53, show_default=True, help="The nameserver's port.")
@click.option("--selector", help="DKIM selector (default: the inventory's mail_dkim.selector, else mail).")
@click.option("--offline", is_flag=True,
              help="Do not contact the servers for DKIM keys and certificates (no DKIM, TLSA records).")
def dns_command(inventory_dir: Path, domain: str | None, *, fmt: str, do_check: bool, nameserver: str | None,
                port: int, selector: str | None, offline: bool) -> None:
    """Print the DNS records DOMAIN (default: every hosted domain) needs; --check compares with DNS."""
    inventory = load_or_exit(inventory_dir)
    names = [n for n, _ in records.mail_domains(inventory)]
    selector = selector or inventory.settings.dkim.selector
    if domain is not None:
        domain = domain.lower().rstrip(".")
        if domain not in names:
            fail(f"{domain} is not a domain of this inventory (domains: {', '.join(names) or 'none'})")
    if nameserver is not None:
        try:
            ipaddress.ip_address(nameserver)
        except ValueError:
            fail(f"--nameserver wants an IP address, not {nameserver!r}")
    keys: dict[str, str] = {}
    notes: list[str] = []
    tlsa: dict[str, str] = {}
    if offline:
        notes.append("--offline: DKIM keys and certificates (TLSA) were not read from the servers")
    else:
        keys, notes = dkim.fetch(inventory_dir, [domain] if domain else names, selector)
        pems, cert_notes = certs.fetch(inventory_dir)
        notes += cert_notes
        tlsa = {host: tlsa_311(pem) for host, pem in pems.items()}
    plan = records.plan(inventory, domain, keys, selector, tlsa)
    for note in [*notes, *plan.notes]:
        click.echo(f"mailprov: {note}", err=True)
    if do_check:
        addresses = {records.tlsa_name(inventory.hostname_for(h)): h.address for h in inventory.hosts}
        _check(plan, nameserver, port, fmt, addresses)
    elif fmt == "json":
        print_json(records.render_json(plan))
    else:
        click.echo(records.render_zone(plan), nl=False)


def _check(plan: records.DnsPlan, nameserver: str | None, port: int, fmt: str, addresses: dict[str, str]) -> None:
    from provisioner.dns import check as dnscheck  # noqa: PLC0415  (dnspython: only --check pays for it)

    findings = dnscheck.check(plan.records, dnscheck.resolver(nameserver, port))
    # The TLSA record must also match the certificate port 25 really serves (STARTTLS).
    findings += dnscheck.check_served(plan.records, addresses, lambda address: tlsa_311(certs.served(address)))
    if fmt == "json":
        print_json([{**f.record.as_json(), "status": f.status, "found": list(f.found)} for f in findings])
    else:
        for f in findings:
            click.echo(f"{f.status:<10} {f.record.name} {f.record.type} {records.presentation(f.record)}")
            if f.status == "different":
                for value in f.found:
                    click.echo(f"{'':<10}   found: {value}")
        bad = sum(f.status != "ok" for f in findings)
        click.echo(f"{len(findings) - bad} ok, {bad} not ok", err=True)
    if any(f.status != "ok" for f in findings):
        sys.exit(EXIT_FAILED)
