"""`mailprov settings ADDRESS`: what to type into a mail client, and (--check) what answers."""

from __future__ import annotations

import ipaddress
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import click

from provisioner.cli.common import EXIT_FAILED, fail, inventory_option, load_or_exit, print_json
from provisioner.inventory.logins import NoLogin
from provisioner.probe import client_settings
from provisioner.probe.client_settings import ClientSettings

if TYPE_CHECKING:
    from provisioner.probe.discover import Network


@click.command()
@click.argument("address")
@inventory_option
@click.option("--format", "fmt", type=click.Choice(client_settings.FORMATS), default="text", show_default=True,
              help="Output format.")
@click.option("--offline", is_flag=True,
              help="No network lookups: only this inventory's domains and the provider table.")
@click.option("--check", "do_check", is_flag=True,
              help="Connect to each server found: port, TLS version, certificate, AUTH offered (no login).")
@click.option("--nameserver", metavar="IP", help="Ask only this DNS server (default: the system's resolver).")
@click.option("--port", "dns_port", type=click.IntRange(1, 65535), default=53, show_default=True,
              help="Port of --nameserver.")
@click.option("--timeout", type=click.FloatRange(0.1, 30), default=3.0, show_default=True,
              help="Seconds for each lookup and each connection (all lookups together: 4x this).")
def settings(address: str, inventory_dir: Path, *, fmt: str, offline: bool, do_check: bool,
             nameserver: str | None, dns_port: int, timeout: float) -> None:
    """What to type into a mail client for ADDRESS.

    A domain of this inventory first, then a known provider (gmail.com, web.de, ...), then
    the domain's own answers: DNS SRV records, autoconfig, its MX, Outlook autodiscover.
    The answer says how it was found.
    """
    if do_check and fmt not in ("text", "json"):
        fail("--check prints a report: use it with --format text or json")
    if nameserver is not None:
        try:
            ipaddress.ip_address(nameserver)
        except ValueError:
            fail(f"--nameserver: {nameserver!r} is not an IP address (give a DNS server's address)")
    # A question about gmx.de or any other domain needs no inventory; a broken one is still an error.
    inventory = load_or_exit(inventory_dir) if inventory_dir.exists() else None
    network = None if offline else _network(nameserver, dns_port, timeout)
    try:
        found = client_settings.client_settings(inventory, address, network)
    except (client_settings.UnknownDomain, NoLogin) as err:
        fail(str(err))
    except client_settings.NotFound as err:
        for line in err.looked_up:
            click.echo(f"  {line}", err=True)
        fail(str(err), EXIT_FAILED)
    if not do_check:
        try:
            click.echo(client_settings.render(found, fmt).rstrip("\n"))
        except ValueError as err:
            fail(str(err))
        return
    _check(found, fmt, timeout)


def _network(nameserver: str | None, port: int, timeout: float) -> Network:
    from provisioner.probe import discover  # noqa: PLC0415  (dnspython: only lookups pay for it)
    from provisioner.probe.discover_dns import resolver  # noqa: PLC0415
    from provisioner.probe.discover_http import Https  # noqa: PLC0415

    res = resolver(nameserver, port, timeout)
    https = Https(resolver=res if nameserver else None)
    return discover.Network(res, https, timeout=timeout, budget=4 * timeout)


def _check(found: ClientSettings, fmt: str, timeout: float) -> None:
    from provisioner.probe.server_check import check_server, describe  # noqa: PLC0415

    servers = found.incoming + found.outgoing
    checks = [check_server(s.protocol, s.hostname, s.port, s.security, timeout=timeout) for s in servers]
    if fmt == "json":
        print_json({**asdict(found), "check": [{**asdict(c), "ok": c.ok} for c in checks]})
    else:
        click.echo(client_settings.render(found, "text"))
        click.echo("\nCheck (no login attempted):")
        for c in checks:
            status = "ok" if c.ok else "FAIL"
            click.echo(f"  {status:<4} {c.protocol.upper():<4} {c.hostname}:{c.port} {c.security}: {describe(c)}")
    if not all(c.ok for c in checks):
        sys.exit(EXIT_FAILED)
