"""`mailprov probe-account create`: the account `check` logs in with, for any inventory."""

from __future__ import annotations

from pathlib import Path

import click

from provisioner.cli.common import dry_run_option, fail, inventory_option
from provisioner.inventory import probe_account
from provisioner.inventory.vault import VaultFileError


@click.group("probe-account")
def probe_account_group() -> None:
    """The mailbox `mailprov check` logs in with (password kept in an Ansible Vault file)."""


@probe_account_group.command("create")
@inventory_option
@dry_run_option
@click.option("--address", metavar="ADDRESS", help="Its address (default: mailprov-probe@FIRST-DOMAIN).")
def create(inventory_dir: Path, address: str | None) -> None:
    """Add the probe mailbox with a random password; only its hash goes into accounts.yml."""
    try:
        creds = probe_account.create(inventory_dir, address)
    except VaultFileError as err:
        fail(str(err))
    vault = inventory_dir / probe_account.PROBE_FILE_NAME
    click.echo(f"probe account {creds.address} added (hash in accounts.yml, password only in {vault})")
    click.echo(f"make it live: mailprov deploy --tags accounts -i {inventory_dir}")
