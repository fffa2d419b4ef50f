"""`mailprov relay set|show|clear`: the outbound smarthost in the inventory's settings."""

from __future__ import annotations

from pathlib import Path

import click

from provisioner.cli.common import dry_run_option, inventory_option, load_or_exit, print_json, read_password
from provisioner.inventory import relay as relays
from provisioner.providers import relay_presets

APPLY_HINT = "apply it with `mailprov deploy --tags postfix`"


@click.group()
def relay() -> None:
    """Send outbound mail through a smarthost (a provider preset or any host)."""


@relay.command("set")
@inventory_option
@dry_run_option
@click.option("--provider", type=click.Choice(list(relay_presets.PRESETS), case_sensitive=False),
              help="A provider preset: host, port and TLS mode come from it.")
@click.option("--region", metavar="REGION", help="Region of a regional provider (ses), e.g. eu-west-1.")
@click.option("--host", metavar="HOST", help="The relay's host name (instead of --provider).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default 587; 465 with --tls implicit).")
@click.option("--tls", type=click.Choice(["starttls", "implicit"]),
              help="starttls (submission, 587) or implicit (TLS from the first byte, 465).")
@click.option("--username", metavar="USER", help="SASL user name at the relay.")
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of standard input.")
@click.option("--sender-domain", "sender_domains", multiple=True, metavar="DOMAIN",
              help="Relay only mail from this hosted domain (repeatable); default: all mail.")
def relay_set(inventory_dir: Path, *, provider: str | None, region: str | None, host: str | None, port: int | None,
              tls: str | None, username: str | None, password_stdin: bool, sender_domains: tuple[str, ...]) -> None:
    """Relay outbound mail; the password goes only into group_vars/mailservers/vault.yml (encrypted)."""
    request = relays.RelayRequest(provider and provider.lower(), region, host, port, tls, username, sender_domains)
    relays.build_entry(request)  # refuse bad options before asking for a password
    password = read_password(password_stdin) if username is not None else None
    result = relays.set_relay(inventory_dir, request, password)
    if result.created_password_file is not None:
        click.echo(f"Created the vault password file {result.created_password_file} (mode 600); "
                   "back it up and keep it out of version control", err=True)
    entry = result.entry
    click.echo(f"Relay set: [{entry['host']}]:{entry['port']} ({entry.get('tls', 'starttls')}); {APPLY_HINT}")


@relay.command("show")
@inventory_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def relay_show(inventory_dir: Path, as_json: bool) -> None:
    """Show the relay (never its password)."""
    current = load_or_exit(inventory_dir).settings.relay
    if current is None:
        if as_json:
            print_json(None)
        else:
            click.echo("No relay: mail is delivered directly to each recipient's MX.")
        return
    described = relays.describe(current)
    if as_json:
        print_json(described)
        return
    for key, value in described.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        click.echo(f"{key + ':':16}{'-' if shown is None else shown}")


@relay.command("clear")
@inventory_option
@dry_run_option
def relay_clear(inventory_dir: Path) -> None:
    """Remove the relay and its vault password: mail goes directly to recipients' MX again."""
    if relays.clear_relay(inventory_dir):
        click.echo(f"Relay removed; {APPLY_HINT}")
    else:
        click.echo("No relay was set.")
