"""`mailprov rehearse`: parse, call, print (the logic is in provisioner.rehearse)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from provisioner import rehearse as rehearsal
from provisioner.cli.common import EXIT_FAILED, fail, inventory_option, load_or_exit, print_json
from provisioner.container import ContainerError
from provisioner.display import live_progress, print_report
from provisioner.probe_account import ProbeAccountError
from provisioner.runner import VaultFileError


@click.command()
@inventory_option
@click.option("-l", "--limit", metavar="HOSTS", help="Only these hosts (comma-separated names).")
@click.option("--keep", is_flag=True, help="Leave the containers and the private inventory copy running.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary (for CI).")
@click.option("-v", "--verbose", count=True, help="More Ansible output (repeat: -vvv).")
def rehearse(inventory_dir: Path, limit: str | None, keep: bool, as_json: bool, verbose: int) -> None:
    """Deploy the inventory onto throwaway local containers, one per host, and check them.

    Nothing reaches the real hosts. Exit 1 if any deploy or check fails.
    """
    load_or_exit(inventory_dir)  # exit 2 with the list of problems before anything starts
    console = Console(stderr=as_json)
    try:
        with live_progress(console, verbose) as sink:
            result = rehearsal.rehearse(
                inventory_dir,
                limit=limit,
                keep=keep,
                verbosity=verbose,
                step=lambda msg: console.print(f"[dim]rehearse:[/] {msg}", highlight=False),
                on_event=sink,
            )
    except (VaultFileError, ProbeAccountError) as err:
        fail(str(err))
    except ContainerError as err:
        fail(str(err), EXIT_FAILED)
    if result.deploy is not None:
        print_report(console, result.deploy.progress, show_diffs=False)
    for outcome in result.outcomes:
        for check in outcome.checks_failed:
            console.print(f"[bold red]CHECK FAILED[/] [bold]{outcome.stand.host}[/]  {check.name}: {check.detail}")
    if as_json:
        print_json(_summary(result))
    else:
        console.print(_table(result))
        _print_footer(console, result)
    sys.exit(0 if result.ok else EXIT_FAILED)


def _table(result: rehearsal.Rehearsal) -> Table:
    table = Table(title="Rehearsal", title_justify="left")
    for column in ("host", "release", "container", "deploy", "changed", "checks", "result"):
        table.add_column(column, no_wrap=column != "host", overflow="fold")
    for o in result.outcomes:
        deploy = "not run" if o.deploy is None else ("ok" if o.deploy_ok else "[red]failed[/]")
        changed = "-" if o.deploy is None else str(o.deploy.changed)
        passed = len(o.checks) - len(o.checks_failed)
        checks = f"{passed}/{len(o.checks)} passed" if o.checked else "not run"
        table.add_row(
            o.stand.host, o.stand.release, o.stand.name, deploy, changed, checks,
            "[green]ok[/]" if o.ok else "[bold red]FAILED[/]",
        )
    return table


def _print_footer(console: Console, result: rehearsal.Rehearsal) -> None:
    if not result.has_probe_account:
        console.print("[red]no probe account[/]: the login checks cannot pass; run `mailprov probe-account create`")
    if result.kept is not None:
        console.print(f"kept (--keep): private inventory copy {result.kept / 'inventory'}")
        for o in result.outcomes:
            ports = ", ".join(f"{k} {v}" for k, v in o.stand.ports.items())
            console.print(f"  {o.stand.name}: podman exec -it {o.stand.name} bash; 127.0.0.1 ports: {ports}")
        console.print(f"  check again: mailprov check -i {result.kept / 'inventory'}")
        names = " ".join(o.stand.name for o in result.outcomes)
        console.print(f"  remove: podman rm -f {names} && rm -rf {result.kept}")
    verdict = "[green]rehearsal passed[/]" if result.ok else "[bold red]rehearsal failed[/]"
    console.print(verdict)


def _summary(result: rehearsal.Rehearsal) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "rc": result.deploy.rc if result.deploy is not None else None,
        "kept": str(result.kept) if result.kept is not None else None,
        "hosts": [
            {
                "host": o.stand.host,
                "release": o.stand.release,
                "container": o.stand.name,
                "hostname": o.stand.hostname,
                "ports": dict(o.stand.ports),
                "ok": o.ok,
                "deploy": {
                    "ok": o.deploy_ok,
                    "changed": o.deploy.changed if o.deploy is not None else None,
                    "failures": [{"task": f.task, "message": f.message} for f in o.failures],
                },
                "checks": {
                    "run": o.checked,
                    "passed": len(o.checks) - len(o.checks_failed),
                    "failed": [{"name": c.name, "detail": c.detail} for c in o.checks_failed],
                },
            }
            for o in result.outcomes
        ],
    }
