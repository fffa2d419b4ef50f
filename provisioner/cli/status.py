"""`mailprov status`: one screen per host, read by a read-only play (changes nothing)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from provisioner.cli import completion
from provisioner.cli.common import EXIT_FAILED, inventory_option, json_option, load_or_exit, print_json
from provisioner.deployed.status import HostStatus, status

CERT_WARN_DAYS = 21


@click.command("status")
@inventory_option
@json_option
@click.option("-l", "--limit", metavar="HOSTS", shell_complete=completion.hosts,
              help="Only these hosts (comma-separated names).")
def status_command(*, inventory_dir: Path, as_json: bool, limit: str | None) -> None:
    """What each host runs: mailprov version and commit, last deploy, certificate expiry,
    mail queue, mail store disk use, last backup.

    Read over SSH by a read-only play; exit 1 when a host could not be read.
    """
    load_or_exit(inventory_dir)
    console = Console(stderr=as_json)
    with console.status("reading the hosts (read-only)"):
        hosts = status(inventory_dir, limit)
    if as_json:
        print_json({"ok": all(h.error is None for h in hosts), "hosts": [h.as_json() for h in hosts]})
    else:
        for index, host in enumerate(hosts):
            if index:
                console.print()
            for line in screen(host):
                console.print(line, highlight=False)
    sys.exit(EXIT_FAILED if any(h.error is not None for h in hosts) else 0)


def _size(value: int) -> str:
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} B"


def screen(h: HostStatus) -> list[str]:
    """The host's lines (rich markup), label column 12 wide: readable in a log and at 60 columns."""
    lines = [f"[bold]{escape(h.host)}[/]"]
    if h.error is not None:
        lines.append(f"  [red]{escape(h.error)}[/]")
        if h.version is None and h.queue is None:
            return lines
    if h.version is None:
        lines.append("  deployed    [yellow]never[/] (no /etc/mailprov/deployed.json; run `mailprov deploy`)")
    else:
        commit = f" (commit {h.commit})" if h.commit else ""
        tags = f", tags {','.join(h.tags)}" if h.tags and h.tags != ["all"] else ""
        lines.append(f"  mailprov    {escape(h.version)}{escape(commit)}")
        lines.append(f"  last deploy {escape(h.deployed_at or '?')}: {escape(h.result or '?')}{escape(tags)}")
    if h.certificate_expires is None:
        lines.append("  certificate [yellow]unknown[/] (not found or unreadable)")
    else:
        days = h.certificate_days_left if h.certificate_days_left is not None else 0
        style = "red" if days < CERT_WARN_DAYS else "green"
        lines.append(f"  certificate expires {h.certificate_expires} ([{style}]{days} days[/])")
    queue = "unknown" if h.queue is None else f"{h.queue} message{'s' if h.queue != 1 else ''}"
    lines.append(f"  queue       {queue}")
    store = "unknown" if h.mail_store_bytes is None else _size(h.mail_store_bytes)
    lines.append(f"  mail store  {store}")
    lines.append(f"  last backup {h.last_backup or 'none'}")
    return lines
