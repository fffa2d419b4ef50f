"""`mailprov domain|user|alias`: account edits in the inventory's accounts file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from provisioner.cli import completion
from provisioner.cli.common import (
    EXIT_FAILED,
    dry_run_option,
    fail,
    inventory_option,
    load_or_exit,
    print_json,
    read_password,
)
from provisioner.cli.tables import FitTable
from provisioner.fleet import move as domain_moves
from provisioner.inventory import account_import
from provisioner.inventory import accounts as edits
from provisioner.inventory.fleet import new_domain_backend
from provisioner.inventory.listing import alias_rows, mailbox_rows
from provisioner.inventory.passwords import hash_password, normalize_imported_hash
from provisioner.inventory.store import edit_accounts
from provisioner.problems import UsageError

APPLY_HINT = "apply it with `mailprov deploy --tags accounts`"


def _show(rows: list[dict[str, Any]], as_json: bool, columns: list[str],
          cells: Callable[[dict[str, Any]], list[str]]) -> None:
    """JSON for programs, or aligned columns on a terminal; tab-separated lines when piped."""
    if as_json:
        print_json(rows)
        return
    _table(columns, [cells(row) for row in rows])


def _table(columns: list[str], rows: list[list[str]]) -> None:
    console = Console()
    if not console.is_terminal:
        for row in rows:
            click.echo("\t".join(row))
        return
    table = FitTable(columns, box=False)
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    console.print(table)


@click.group()
def domain() -> None:
    """Add, remove and list mail domains."""


@domain.command("add")
@inventory_option
@dry_run_option
@click.argument("name")
@click.option("--alias-of", metavar="DOMAIN", shell_complete=completion.domains,
              help="Make NAME an alias domain: user@NAME delivers like user@DOMAIN.")
@click.option("--backend", metavar="HOST", shell_complete=completion.hosts,
              help="In a fleet: the mailbox host that holds NAME (needed with several).")
def domain_add(inventory_dir: Path, name: str, alias_of: str | None, backend: str | None) -> None:
    """Host mail for the domain NAME."""
    backend = new_domain_backend(load_or_exit(inventory_dir), backend, alias_of)
    with edit_accounts(inventory_dir) as domains:
        added = edits.add_domain(domains, name, alias_of, backend)
    kind = f"alias domain {added} of {alias_of}" if alias_of else f"domain {added}"
    kind += f" on {backend}" if backend else ""
    click.echo(f"Added {kind}; {APPLY_HINT}")


@domain.command("remove")
@inventory_option
@dry_run_option
@click.argument("name", shell_complete=completion.domains)
@click.option("--force", is_flag=True, help="Also remove the domain's mailboxes and aliases.")
def domain_remove(inventory_dir: Path, name: str, force: bool) -> None:
    """Stop hosting mail for NAME (a domain or an alias domain)."""
    with edit_accounts(inventory_dir) as domains:
        removed = edits.remove_domain(domains, name, force=force)
    click.echo(f"Removed domain {removed}; {APPLY_HINT}")


@domain.command("move")
@inventory_option
@click.argument("name", shell_complete=completion.domains)
@click.option("--to", "target", required=True, metavar="HOST", shell_complete=completion.hosts,
              help="The mailbox back end that will hold the domain.")
def domain_move(inventory_dir: Path, name: str, target: str) -> None:
    """Move the domain NAME's mailboxes to another mailbox back end of the fleet (dsync, no mail
    lost; docs/fleet.md). Run again to resume a move that stopped."""
    load_or_exit(inventory_dir)
    move = domain_moves.plan(inventory_dir, name, target)
    result = domain_moves.run(inventory_dir, move, lambda label: click.echo(f"==> {label}"))
    if result.rc != 0:
        for failure in result.progress.failures:
            click.echo(f"FAILED {failure.host}: {failure.task}: {failure.message}", err=True)
        fail(f"domain move stopped (ansible rc {result.rc}); fix the cause and run the same command "
             "again to resume", EXIT_FAILED)
    click.echo(f"Moved {move.domain} from {move.source} to {move.target}. Its old mail stays on "
               f"{move.source} (the domain's folder in the mail store) until you remove it.")


@domain.command("list")
@inventory_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def domain_list(inventory_dir: Path, as_json: bool) -> None:
    """List the mail domains."""
    inventory = load_or_exit(inventory_dir)
    rows = [{"name": d.name, "alias_domains": list(d.alias_domains), "mailboxes": len(d.mailboxes),
             "aliases": len(d.aliases)} for d in inventory.domains]
    columns = ["domain", "alias domains", "mailboxes", "aliases"]
    if inventory.is_fleet:  # which mailbox host holds each domain
        for row, d in zip(rows, inventory.domains, strict=True):
            row["backend"] = getattr(inventory.backend_of(d), "name", None)
        columns.append("backend")
    _show(rows, as_json, columns,
          lambda r: [r["name"], ", ".join(r["alias_domains"]), str(r["mailboxes"]), str(r["aliases"]),
                     *([str(r["backend"])] if "backend" in r else [])])


@click.group()
def user() -> None:
    """Add, remove and list mailboxes; change passwords."""


def _new_hash(password_stdin: bool, password_hash: str | None) -> str:
    if password_hash is not None:
        if password_stdin:
            raise UsageError("give either --password-stdin or --password-hash, not both")
        return normalize_imported_hash(password_hash)
    return hash_password(read_password(password_stdin))


@user.command("add")
@inventory_option
@dry_run_option
@click.argument("address", shell_complete=completion.new_address)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--password-hash", metavar="HASH",
              help="Import an existing {ARGON2ID}, {SHA512-CRYPT} or {BLF-CRYPT} hash.")
@click.option("--quota", metavar="SIZE", help="Mailbox quota such as 500M or 2G (default: none).")
def user_add(inventory_dir: Path, address: str, password_stdin: bool, password_hash: str | None,
             quota: str | None) -> None:
    """Create a mailbox for ADDRESS."""
    load_or_exit(inventory_dir)  # a broken inventory is reported before asking for a password
    new_hash = _new_hash(password_stdin, password_hash)
    with edit_accounts(inventory_dir) as domains:
        added = edits.add_mailbox(domains, address, new_hash, quota)
    click.echo(f"Added mailbox {added}; {APPLY_HINT}")


@user.command("passwd")
@inventory_option
@dry_run_option
@click.argument("address", shell_complete=completion.mailboxes)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--password-hash", metavar="HASH", help="Import an existing hash instead.")
def user_passwd(inventory_dir: Path, address: str, password_stdin: bool, password_hash: str | None) -> None:
    """Change the password of ADDRESS."""
    load_or_exit(inventory_dir)
    new_hash = _new_hash(password_stdin, password_hash)
    with edit_accounts(inventory_dir) as domains:
        changed = edits.set_password(domains, address, new_hash)
    click.echo(f"Changed the password of {changed}; {APPLY_HINT}")


@user.command("remove")
@inventory_option
@dry_run_option
@click.argument("address", shell_complete=completion.mailboxes)
def user_remove(inventory_dir: Path, address: str) -> None:
    """Remove the mailbox ADDRESS from the inventory (its mail stays on the server)."""
    with edit_accounts(inventory_dir) as domains:
        removed = edits.remove_mailbox(domains, address)
    click.echo(f"Removed mailbox {removed}; {APPLY_HINT}")


@user.command("import")
@inventory_option
@dry_run_option
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def user_import(inventory_dir: Path, file: Path) -> None:
    """Add every mailbox of FILE (CSV or JSON: address, hash or password, quota): all or none."""
    load_or_exit(inventory_dir)  # a broken inventory is reported before hashing anything
    added = account_import.import_file(inventory_dir, file)
    click.echo(f"Added {len(added)} mailbox{'es' if len(added) != 1 else ''} from {file}; {APPLY_HINT}")


@user.command("list")
@inventory_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def user_list(inventory_dir: Path, as_json: bool) -> None:
    """List the mailboxes."""
    _show(mailbox_rows(load_or_exit(inventory_dir)), as_json, ["mailbox", "quota", "aliases"],
          lambda r: [r["address"], r["quota"] or "-", ", ".join(r["aliases"])])


@click.group()
def alias() -> None:
    """Add, remove and list aliases; `@domain` as SOURCE is the catch-all."""


@alias.command("add")
@inventory_option
@dry_run_option
@click.argument("source", shell_complete=completion.alias_sources)
@click.argument("targets", nargs=-1, required=True, shell_complete=completion.addresses)
def alias_add(inventory_dir: Path, source: str, targets: tuple[str, ...]) -> None:
    """Deliver mail for SOURCE to TARGETS (adds to an existing alias)."""
    with edit_accounts(inventory_dir) as domains:
        added = edits.add_alias(domains, source, list(targets))
    click.echo(f"{added} -> {', '.join(targets)}; {APPLY_HINT}")


@alias.command("remove")
@inventory_option
@dry_run_option
@click.argument("source", shell_complete=completion.alias_sources)
@click.argument("target", required=False, shell_complete=completion.addresses)
def alias_remove(inventory_dir: Path, source: str, target: str | None) -> None:
    """Remove the alias SOURCE, or only its TARGET."""
    with edit_accounts(inventory_dir) as domains:
        removed = edits.remove_alias(domains, source, target)
    click.echo(f"Removed {removed}{' -> ' + target if target else ''}; {APPLY_HINT}")


@alias.command("list")
@inventory_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def alias_list(inventory_dir: Path, as_json: bool) -> None:
    """List aliases, mailbox aliases and catch-alls."""
    _show(alias_rows(load_or_exit(inventory_dir)), as_json, ["source", "targets", "kind"],
          lambda r: [r["source"], ", ".join(r["targets"]), r["kind"]])
