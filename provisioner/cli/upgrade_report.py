"""What `rehearse --upgrade-from` prints: the per-host phase table, details, and the JSON summary.

Pure rendering (rich objects and plain data): no containers, no Ansible.
Secret files appear by path and status only (:mod:`provisioner.rehearse.config_snapshot`
never keeps their text); passwords are never part of the result at all.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from provisioner.cli.tables import FitTable
from provisioner.rehearse.config_snapshot import FileChange, summary_line
from provisioner.rehearse.upgrade import Converge, UpgradeOutcome, UpgradeRehearsal

NOT_RUN = "[dim]not run[/]"


def _converge(c: Converge) -> str:
    if not c.ran:
        return NOT_RUN
    assert c.counts is not None
    return f"ok ({c.counts.changed} changed)" if c.ok else "[red]failed[/]"


def _mail_sent(o: UpgradeOutcome) -> str:
    if not o.old.ok:
        return NOT_RUN
    text = f"{len(o.delivered)}/{len(o.sent)} delivered"
    return text if o.mail_ok else f"[red]{text}[/]" if o.sent else "[red]none sent[/]"


def _readable(o: UpgradeOutcome) -> str:
    if not o.new.ok:
        return NOT_RUN
    text = f"{len(o.readable)}/{len(o.sent)}"
    return text if o.read_ok else f"[red]{text}[/]"


def _checks(o: UpgradeOutcome) -> str:
    if o.checks is None or not o.checks.checked:
        return NOT_RUN
    passed = len(o.checks.checks) - len(o.checks.checks_failed)
    text = f"{passed}/{len(o.checks.checks)} passed"
    return text if o.checks_ok else f"[red]{text}[/]"


def _idempotent(o: UpgradeOutcome) -> str:
    if not o.again.ran:
        return NOT_RUN
    if not o.again.ok:
        return "[red]failed[/]"
    assert o.again.counts is not None
    return "yes" if o.idempotent else f"[red]no ({o.again.counts.changed} changed)[/]"


def _config(o: UpgradeOutcome) -> str:
    if o.config is None:
        return "[red]snapshot failed[/]" if o.snapshot_error else NOT_RUN
    return summary_line(o.config)


def table(result: UpgradeRehearsal) -> FitTable:
    """Phases down, hosts across; stacked per phase when the hosts do not fit side by side."""
    out = FitTable(("phase", *(o.stand.host for o in result.outcomes)),
                   title=f"Upgrade rehearsal from {result.source.label}")
    rows: list[tuple[str, list[str]]] = [
        ("release", [o.stand.release for o in result.outcomes]),
        ("container", [o.stand.name for o in result.outcomes]),
        ("old converge", [_converge(o.old) for o in result.outcomes]),
        ("mail sent", [_mail_sent(o) for o in result.outcomes]),
        ("new converge", [_converge(o.new) for o in result.outcomes]),
        ("mail readable", [_readable(o) for o in result.outcomes]),
        ("checks", [_checks(o) for o in result.outcomes]),
        ("idempotent", [_idempotent(o) for o in result.outcomes]),
        ("config files", [_config(o) for o in result.outcomes]),
        ("result", ["[green]ok[/]" if o.ok else "[bold red]FAILED[/]" for o in result.outcomes]),
    ]
    for phase, cells in rows:
        out.add_row(phase, *cells)
    return out


def print_details(console: Console, result: UpgradeRehearsal, *, show_diff: bool) -> None:
    """Per host: what went wrong, what the third converge changed, which config files changed."""
    for o in result.outcomes:
        host = o.stand.host
        for error in [*o.mail_errors, *o.read_errors]:
            console.print(Text.assemble(("MAIL FAILED ", "bold red"), (host, "bold"), f"  {error}"))
        missing = len(o.sent) - len(o.readable)
        if o.new.ok and not o.read_errors and missing:
            console.print(Text.assemble(("MAIL LOST ", "bold red"), (host, "bold"),
                                        f"  {missing} of {len(o.sent)} messages not readable after the upgrade"))
        if o.checks is not None:
            for check in o.checks.checks_failed:
                console.print(Text.assemble(("CHECK FAILED ", "bold red"), (host, "bold"),
                                            f"  {check.name}: {check.detail}"))
        for task in o.again.changed_tasks:
            console.print(Text.assemble(("NOT IDEMPOTENT ", "bold red"), (host, "bold"), f"  changed: {task}"))
        if o.snapshot_error:
            console.print(Text.assemble(("SNAPSHOT FAILED ", "bold red"), (host, "bold"), f"  {o.snapshot_error}"))
        if o.config is not None:
            console.print(Text(f"{host}: configuration files the upgrade changed: {summary_line(o.config)}",
                               style="bold"))
            for change in o.config:
                console.print(Text(f"  {change.path}  {change.describe()}"), highlight=False)
                if show_diff and change.diff:
                    for line in change.diff.splitlines():
                        style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
                        console.print(Text(f"    {line}", style=style), highlight=False, soft_wrap=True)


def _converge_json(c: Converge) -> dict[str, Any]:
    return {
        "ran": c.ran,
        "ok": c.ok,
        "changed": c.counts.changed if c.counts is not None else None,
        "changed_tasks": c.changed_tasks,
        "failures": [{"task": f.task, "message": f.message} for f in c.failures],
    }


def _change_json(change: FileChange, with_diff: bool) -> dict[str, Any]:
    return {
        "path": change.path,
        "status": change.status,
        "secret": change.secret,
        "added_lines": change.added_lines,
        "removed_lines": change.removed_lines,
        "diff": change.diff if with_diff else None,
    }


def _host_json(o: UpgradeOutcome, with_diff: bool) -> dict[str, Any]:
    checks = o.checks
    return {
        **o.stand.describe(),
        "ok": o.ok,
        "old_converge": _converge_json(o.old),
        "mail": {
            "ok": o.mail_ok,
            "sent": len(o.sent),
            "delivered": len(o.delivered),
            "mailboxes": sorted({s.mailbox for s in o.sent}),
            "message_ids": [s.message_id for s in o.sent],
            "errors": o.mail_errors,
        },
        "new_converge": _converge_json(o.new),
        "mail_readable": {
            "ok": o.read_ok,
            "readable": len(o.readable),
            "sent": len(o.sent),
            "missing": [s.message_id for s in o.sent if s.message_id not in o.readable],
            "errors": o.read_errors,
        },
        "checks": {
            "run": checks is not None and checks.checked,
            "ok": o.checks_ok,
            "passed": len(checks.checks) - len(checks.checks_failed) if checks is not None else 0,
            "failed": [{"name": c.name, "detail": c.detail} for c in checks.checks_failed] if checks else [],
        },
        "idempotence": {**_converge_json(o.again), "idempotent": o.idempotent},
        "config_changes": {
            "compared": o.config is not None,
            "summary": summary_line(o.config) if o.config is not None else None,
            "error": o.snapshot_error,
            "files": [_change_json(c, with_diff) for c in o.config or []],
        },
    }


def summary(result: UpgradeRehearsal, *, with_diff: bool = True) -> dict[str, Any]:
    source = result.source
    return {
        "ok": result.ok,
        "upgrade_from": {
            "ref": source.ref,
            "kind": source.kind,
            "commit": source.commit,
            "wheel": str(source.wheel) if source.wheel else None,
            "version": source.version,
        },
        "mailboxes": result.mailboxes,
        "runs": [{"phase": name, "rc": run.rc} for name, run in result.runs],
        "kept": str(result.kept) if result.kept is not None else None,
        "hosts": [_host_json(o, with_diff) for o in result.outcomes],
    }
