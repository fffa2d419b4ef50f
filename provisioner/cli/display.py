"""Rich rendering of a playbook run: live progress, recap table, failures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from provisioner.cli.tables import FitTable
from provisioner.runner.progress import Progress
from provisioner.runner.run import EventSink


def live_view(progress: Progress) -> RenderableType:
    """Current play and task, a bar over the tasks, per-host counts."""
    done = progress.tasks_started
    total = progress.tasks_total if progress.tasks_total and progress.tasks_total >= done else None
    header = Text.assemble(
        (progress.play or "starting", "bold"), "  ", (progress.task or "", "cyan")
    )
    bar = ProgressBar(total=float(total) if total else None, completed=float(done), width=40)
    count = Text(f" {done}/{total}" if total else f" {done} tasks")
    hosts = Text(
        "  ".join(
            f"{host}: ok={c.ok} changed={c.changed} failed={c.failed + c.unreachable}"
            for host, c in sorted(progress.hosts.items())
        ),
        style="dim",
    )
    return Group(header, _bar_line(bar, count), hosts)


def _bar_line(bar: ProgressBar, count: Text) -> RenderableType:
    grid = Table.grid(padding=(0, 0))
    grid.add_row(bar, count)
    return grid


@contextmanager
def live_progress(console: Console, verbosity: int = 0) -> Iterator[EventSink]:
    """An event sink that keeps the display current.

    On a terminal: a live panel. Elsewhere (CI logs): one line per task.
    With -v, Ansible's own output for each event is printed as well.
    """
    if not console.is_terminal:

        def plain(event: dict[str, Any], progress: Progress) -> None:
            if event.get("event") == "playbook_on_task_start":
                console.print(f"[{progress.tasks_started}] {progress.task}", highlight=False)
            _verbose(console, event, verbosity)

        yield plain
        return

    with Live(console=console, transient=True, refresh_per_second=8) as live:

        def update(event: dict[str, Any], progress: Progress) -> None:
            _verbose(console, event, verbosity)
            live.update(live_view(progress))

        yield update


def _verbose(console: Console, event: dict[str, Any], verbosity: int) -> None:
    stdout = event.get("stdout")
    if verbosity and stdout:
        console.print(Text(str(stdout)))


def recap_table(progress: Progress) -> FitTable:
    counts = progress.hosts.values()
    # Columns that are zero everywhere only add width.
    columns = [
        col
        for col in ("ok", "changed", "failed", "unreachable", "skipped", "rescued", "ignored")
        if col in ("ok", "changed", "failed") or any(getattr(c, col) for c in counts)
    ]
    table = FitTable(("host", *columns), title="Recap", right=columns)
    for host, c in sorted(progress.hosts.items()):
        style = "red" if c.failed or c.unreachable else ("yellow" if c.changed else "green")
        table.add_row(host, *(str(getattr(c, col)) for col in columns), style=style)
    return table


def print_report(console: Console, progress: Progress, *, show_diffs: bool) -> None:
    """Diffs (when asked), failures as host + task + message, then the recap."""
    if show_diffs:
        for diff in progress.diffs:
            console.print(Text(f"--- {diff.host}: {diff.task}", style="bold"))
            for line in diff.text.splitlines():
                style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
                console.print(Text(line, style=style), highlight=False, soft_wrap=True)
    for failure in progress.failures:
        kind = "UNREACHABLE" if failure.unreachable else "FAILED"
        console.print(
            Text.assemble((f"{kind} ", "bold red"), (failure.host, "bold"), f"  {failure.task}")
        )
        for line in failure.message.splitlines() or [""]:
            console.print(Text(f"    {line}"), highlight=False)
    console.print(recap_table(progress))
