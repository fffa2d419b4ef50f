"""`mailprov settings ADDRESS`: what to type into a mail client (the logic is in provisioner.probe)."""

from __future__ import annotations

from pathlib import Path

import click

from provisioner.cli.common import fail, inventory_option, load_or_exit
from provisioner.inventory.logins import NoLogin
from provisioner.probe import client_settings


@click.command()
@click.argument("address")
@inventory_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(client_settings.FORMATS),
    default="text",
    show_default=True,
    help="Output format.",
)
def settings(address: str, inventory_dir: Path, fmt: str) -> None:
    """What to type into a mail client for ADDRESS."""
    inventory = load_or_exit(inventory_dir)
    try:
        found = client_settings.client_settings(inventory, address)
    except (client_settings.UnknownDomain, NoLogin) as err:
        fail(str(err))
    click.echo(client_settings.render(found, fmt).rstrip("\n"))
