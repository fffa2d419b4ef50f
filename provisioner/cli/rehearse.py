"""`mailprov rehearse`: parse, call, print (the logic is in provisioner.rehearse.rehearsal)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console

from provisioner.cli import completion, upgrade_report
from provisioner.cli.common import EXIT_FAILED, fail, inventory_option, load_or_exit, print_json
from provisioner.cli.display import live_progress, print_report
from provisioner.cli.tables import FitTable
from provisioner.inventory.probe_account import ProbeAccountError
from provisioner.inventory.vault import VaultFileError
from provisioner.rehearse import rehearsal
from provisioner.rehearse.fleet import NETWORK as FLEET_NETWORK
from provisioner.rehearse.overlay import Stand
from provisioner.rehearse.rehearsal import Step
from provisioner.rehearse.upgrade import UpgradeRehearsal, upgrade_rehearsal
from provisioner.runner.run import EventSink
from provisioner.sandbox.container import ContainerError


@click.command()
@inventory_option
@click.option("-l", "--limit", metavar="HOSTS", shell_complete=completion.hosts,
              help="Only these hosts (comma-separated names).")
@click.option("--keep", is_flag=True, help="Leave the containers and the private inventory copy running.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary (for CI).")
@click.option(
    "--upgrade-from", "upgrade_from", metavar="REF",
    help="Rehearse the upgrade from an earlier mailprov: a git ref (tag, branch, commit) or a .whl file.",
)
@click.option(
    "--repo", type=click.Path(path_type=Path, file_okay=False), metavar="PATH",
    help="With --upgrade-from REF: the mailprov git checkout to look REF up in (default: the one mailprov runs from).",
)
@click.option("--diff", "show_diff", is_flag=True, help="With --upgrade-from: show the configuration diffs.")
@click.option("-v", "--verbose", count=True, help="More Ansible output (repeat: -vvv).")
def rehearse(
    *, inventory_dir: Path, limit: str | None, keep: bool, as_json: bool, upgrade_from: str | None,
    repo: Path | None, show_diff: bool, verbose: int,
) -> None:
    """Deploy the inventory onto throwaway local containers, one per host, and check them.

    With --upgrade-from REF: deploy the earlier release first, send mail, upgrade to this
    release, then prove the mail is readable, the checks pass and a further deploy changes
    nothing; lists the configuration files the upgrade changed.

    Nothing reaches the real hosts. Exit 1 if any deploy or check fails.
    """
    if upgrade_from is None and (repo is not None or show_diff):
        fail("--repo and --diff only go with --upgrade-from REF")
    load_or_exit(inventory_dir)  # exit 2 with the list of problems before anything starts
    console = Console(stderr=as_json)
    if upgrade_from is not None:
        upgraded = _run(console, verbose, lambda step, sink: upgrade_rehearsal(
            inventory_dir, upgrade_from, repo=repo, limit=limit, keep=keep, verbosity=verbose, step=step,
            on_event=sink,
        ))
        for name, run in upgraded.runs:
            if run.progress.failures:
                console.print(f"[bold]{name}[/]")
                print_report(console, run.progress, show_diffs=False)
        upgrade_report.print_details(console, upgraded, show_diff=show_diff)
        _finish(console, as_json, upgrade_report.summary(upgraded), upgrade_report.table(upgraded), upgraded)
    result = _run(console, verbose, lambda step, sink: rehearsal.rehearse(
        inventory_dir, limit=limit, keep=keep, verbosity=verbose, step=step, on_event=sink,
    ))
    if result.deploy is not None:
        print_report(console, result.deploy.progress, show_diffs=False)
    for outcome in result.outcomes:
        for check in outcome.checks_failed:
            console.print(f"[bold red]CHECK FAILED[/] [bold]{outcome.stand.host}[/]  {check.name}: {check.detail}")
    _finish(console, as_json, _summary(result), _table(result), result)


R = TypeVar("R", rehearsal.Rehearsal, UpgradeRehearsal)


def _run(console: Console, verbose: int, call: Callable[[Step, EventSink], R]) -> R:
    """``call`` with live progress; the set-up errors it raises before anything starts end here."""
    try:
        with live_progress(console, verbose) as sink:
            return call(lambda msg: console.print(f"[dim]rehearse:[/] {msg}", highlight=False), sink)
    except (VaultFileError, ProbeAccountError) as err:
        fail(str(err))
    except ContainerError as err:
        fail(str(err), EXIT_FAILED)


def _finish(
    console: Console, as_json: bool, summary: dict[str, Any], table: FitTable,
    result: rehearsal.Rehearsal | UpgradeRehearsal,
) -> NoReturn:
    if as_json:
        print_json(summary)
    else:
        console.print(table)
        throwaway = getattr(result, "throwaway_probe", None)
        if throwaway:
            console.print(f"probe account: {throwaway}, made for this rehearsal in its private copy only "
                          "(`mailprov probe-account create` makes one for `check`)")
        _print_footer(console, result.kept, [o.stand for o in result.outcomes], result.has_probe_account,
                      result.ok)
    sys.exit(0 if result.ok else EXIT_FAILED)


def _table(result: rehearsal.Rehearsal) -> FitTable:
    table = FitTable(("host", "release", "container", "deploy", "changed", "checks", "result"),
                     title="Rehearsal", right=("changed",))
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


def _print_footer(console: Console, kept: Path | None, stands: list[Stand], has_probe_account: bool,
                  ok: bool) -> None:
    if not has_probe_account:
        console.print("[red]no probe account[/]: the login checks cannot pass; run `mailprov probe-account create`")
    if kept is not None:
        console.print(f"kept (--keep): private inventory copy {kept / 'inventory'}")
        for stand in stands:
            ports = ", ".join(f"{k} {v}" for k, v in stand.ports.items())
            at = f" (fleet address {stand.address})" if stand.address else ""
            console.print(f"  {stand.name}{at}: podman exec -it {stand.name} bash; 127.0.0.1 ports: {ports}")
        console.print(f"  check again: mailprov check -i {kept / 'inventory'}")
        names = " ".join(stand.name for stand in stands)
        network = f" && podman network rm {FLEET_NETWORK}" if any(s.address for s in stands) else ""
        console.print(f"  remove: podman rm -f {names}{network} && rm -rf {kept}")
    verdict = "[green]rehearsal passed[/]" if ok else "[bold red]rehearsal failed[/]"
    console.print(verdict)


def _summary(result: rehearsal.Rehearsal) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "rc": result.deploy.rc if result.deploy is not None else None,
        "kept": str(result.kept) if result.kept is not None else None,
        "hosts": [
            {
                **o.stand.describe(),
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
