"""`mailprov init` and `mailprov validate`."""

from __future__ import annotations

from pathlib import Path

import click

from provisioner.cli.common import fail, inventory_option, load_or_exit
from provisioner.inventory.scaffold import InitRequest, write_new_inventory


@click.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--domain", required=True, help="The first mail domain, e.g. example.org.")
@click.option("--hostname", required=True, help="The server's fully qualified name, e.g. mail.example.org.")
@click.option("--host", "address", help="Address Ansible connects to (default: the hostname).")
def init(directory: Path, domain: str, hostname: str, address: str | None) -> None:
    """Write a new, commented inventory in DIRECTORY (never overwrites one)."""
    if directory.exists() and any(directory.iterdir()):
        fail(f"{directory} already exists and is not empty; choose a new folder")
    result = write_new_inventory(InitRequest(directory, domain, hostname, address))
    click.echo(f"Wrote a new inventory in {directory}: {result.summary}")
    click.echo(f"Mailbox {result.postmaster} has the password {result.password}")
    click.echo("  (shown once; only its hash is stored. Change it: "
               f"mailprov user passwd {result.postmaster} -i {directory})")


@click.command()
@inventory_option
def validate(inventory_dir: Path) -> None:
    """Check the whole inventory; print a summary or every problem."""
    inventory = load_or_exit(inventory_dir)
    click.echo(f"{inventory_dir}: valid: {inventory.summary()}")
