"""`mailprov backup now|list` and `mailprov restore`: print what the backup/ part did."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from provisioner.backup import runs
from provisioner.backup.restore import Restored, pick_host, restore_host
from provisioner.backup.sandbox_restore import restore_to_sandbox
from provisioner.cli import completion
from provisioner.cli.common import EXIT_FAILED, fail, inventory_option, json_option, load_or_exit, print_json
from provisioner.cli.tables import FitTable
from provisioner.inventory.probe_account import load as load_probe_account
from provisioner.inventory.vault import find_vault_password_file

host_option = click.option("--host", metavar="HOST", shell_complete=completion.hosts,
                           help="Only this host (default: every host; restore: the only one).")


@click.group("backup")
def backup_group() -> None:
    """Backups made by restic on the servers (mail_backup in the inventory)."""


def _run(inventory_dir: Path, action: str, host: str | None) -> list[runs.HostBackups]:
    inventory = load_or_exit(inventory_dir)
    if inventory.settings.backup is None:
        fail("mail_backup is not set in the inventory (see docs/backup.md)")
    rc, hosts = runs.run(inventory_dir, action, host)
    results = list(hosts.values())
    if rc != 0 and not any(h.error for h in results):
        results.append(runs.HostBackups(host or "all", error=f"ansible rc {rc}"))
    return results


def _backup_command(action: str, doc: str, show: Callable[[list[runs.HostBackups]], None]) -> None:
    """`backup now` and `backup list`: the same options, one run of backup.yml, --json alike."""

    @backup_group.command(action, help=doc)
    @inventory_option
    @json_option
    @host_option
    def command(*, inventory_dir: Path, as_json: bool, host: str | None) -> None:
        results = _run(inventory_dir, action, host)
        if as_json:
            print_json({"ok": all(h.error is None for h in results), "hosts": [h.summary() for h in results]})
        else:
            show(results)
        sys.exit(EXIT_FAILED if any(h.error for h in results) else 0)


def _show_run(results: list[runs.HostBackups]) -> None:
    for h in results:
        rec = h.record or {}
        click.echo(f"{h.host}: " + (f"failed: {h.error}" if h.error else
                   f"snapshot {str(rec.get('snapshot', ''))[:8]} at {rec.get('time')}, "
                   f"{rec.get('files')} files, {rec.get('added')} bytes added"))


def _show_list(results: list[runs.HostBackups]) -> None:
    console = Console()
    for h in results:
        if h.error:
            console.print(f"[red]{escape(h.host)}: {escape(h.error)}[/]")
            continue
        table = FitTable(("id", "time", "host", "size"), title=h.host, right=("size",))
        for s in h.snapshots:
            table.add_row(s["short_id"], s["time"][:19], s["host"], "" if s["bytes"] is None else str(s["bytes"]))
        console.print(table)


_backup_command("now", "Run the backup on each host now (the unit its timer starts); exit 1 if one failed.", _show_run)
_backup_command("list", "List each host's snapshots, oldest first.", _show_list)


@click.command("restore")
@inventory_option
@json_option
@host_option
@click.option("--snapshot", metavar="ID", help="The snapshot to restore (default: the latest).")
@click.option("--to-sandbox", is_flag=True, help="Into a throwaway local container, never the host itself.")
@click.option("--repository-dir", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="--to-sandbox with a local-path repository: a copy of it on this machine.")
@click.option("--keep", is_flag=True, help="--to-sandbox: keep the container afterwards.")
@click.option("--force", is_flag=True, help="Overwrite a host that holds mail newer than the snapshot.")
def restore(*, inventory_dir: Path, as_json: bool, host: str | None, snapshot: str | None, to_sandbox: bool,
            repository_dir: Path | None, keep: bool, force: bool) -> None:
    """Deploy the inventory, put a snapshot's data back, then check (exit 1 if any step failed).

    The host must be deployed from the same inventory; a host holding mail newer than the
    snapshot is refused unless --force.
    """
    inventory = load_or_exit(inventory_dir)
    if to_sandbox:
        if force:
            fail("--force is for real hosts; a sandbox is always fresh")
        done = restore_to_sandbox(inventory_dir, host, snapshot=snapshot, repository_dir=repository_dir, keep=keep)
    else:
        if repository_dir or keep:
            fail("--repository-dir and --keep go with --to-sandbox")
        name = pick_host(inventory, host)
        done = restore_host(inventory, name, load_probe_account(inventory_dir), snapshot=snapshot, force=force,
                            vault=find_vault_password_file(inventory_dir))
    _report(done, as_json)
    sys.exit(0 if done.ok else EXIT_FAILED)


def _report(done: Restored, as_json: bool) -> None:
    if as_json:
        print_json(done.summary())
        return
    where = f"{done.host}" + (f" (sandbox {done.container})" if done.container else "")
    steps = [("deploy", done.deploy), ("restore", done.restore)]
    for label, result in steps:
        if result is None:
            click.echo(f"{where}: {label}: not run")
        else:
            failures = "; ".join(f"{f.task}: {f.message}" for f in result.progress.failures)
            click.echo(f"{where}: {label}: {'ok' if result.rc == 0 else 'failed: ' + failures}")
    failed = [c for c in done.checks if not c.ok]
    click.echo(f"{where}: check: {len(done.checks) - len(failed)}/{len(done.checks)} passed"
               + "".join(f"; failed {c.name}: {c.detail}" for c in failed))
