"""`mailprov bans list|unban`: fail2ban's bans on each host, and lifting one, without logging in."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from provisioner.cli import completion
from provisioner.cli.common import EXIT_FAILED, fail, inventory_option, json_option, load_or_exit, print_json
from provisioner.deployed.bans import BanAddressError, HostBans, bans, checked_address

host_option = click.option("--host", "limit", metavar="HOSTS", shell_complete=completion.hosts,
                           help="Only these hosts (comma-separated names; default: every host).")


@click.group("bans")
def bans_group() -> None:
    """Addresses fail2ban banned for failed logins (docs/protection.md)."""


@bans_group.command("list")
@inventory_option
@json_option
@host_option
def bans_list(*, inventory_dir: Path, as_json: bool, limit: str | None) -> None:
    """Each host's jails and banned addresses, with when each ban ends (server time).

    Read over SSH by a play that changes nothing; exit 1 when a host could not be read.
    """
    load_or_exit(inventory_dir)
    console = Console(stderr=as_json)
    with console.status("reading the bans (read-only)"):
        hosts = bans(inventory_dir, limit)
    _report(console, hosts, as_json)


@bans_group.command("unban")
@inventory_option
@json_option
@host_option
@click.argument("address")
def bans_unban(*, inventory_dir: Path, as_json: bool, limit: str | None, address: str) -> None:
    """Lift ADDRESS's bans in every jail (on every host, or --host's); the address may be banned
    again by later failures unless it is in mail_bans.ignore."""
    load_or_exit(inventory_dir)
    try:
        address = checked_address(address)
    except BanAddressError as err:
        fail(str(err))
    console = Console(stderr=as_json)
    with console.status(f"unbanning {address}"):
        hosts = bans(inventory_dir, limit, unban=address)
    if not as_json:
        for h in hosts:
            if h.unbanned is not None:
                said = "unbanned" if h.unbanned else "was not banned"
                console.print(f"{escape(h.host)}: {escape(address)} {said}", highlight=False)
    _report(console, hosts, as_json)


def _report(console: Console, hosts: list[HostBans], as_json: bool) -> None:
    if as_json:
        print_json({"ok": all(h.error is None for h in hosts), "hosts": [h.as_json() for h in hosts]})
    else:
        for line in (line for h in hosts for line in screen(h)):
            console.print(line, highlight=False)
    sys.exit(EXIT_FAILED if any(h.error is not None for h in hosts) else 0)


def screen(h: HostBans) -> list[str]:
    """The host's lines (rich markup): its jails, then one line per ban."""
    lines = [f"[bold]{escape(h.host)}[/]"]
    if h.error is not None:
        return [*lines, f"  [red]{escape(h.error)}[/]"]
    lines.append(f"  jails  {escape(', '.join(h.jails)) or '[yellow]none[/]'}")
    if not h.bans:
        lines.append("  bans   none")
    for ban in h.bans:
        until = f" until {ban.end}" if ban.end else ""
        lines.append(f"  banned {escape(ban.address)} ({escape(ban.jail)}){escape(until)}")
    return lines
