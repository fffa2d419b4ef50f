"""`mailprov deploy --profile`: the time of the run by task, role and host, after the report."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console
from rich.table import Table

from provisioner.runner.progress import Progress
from provisioner.runner.run import EventSink
from provisioner.runner.timing import Timing

TOP_TASKS = 25

profile_option = click.option(
    "--profile", is_flag=True,
    help="Afterwards, print where the time went: per task and role, fact gathering, argument specs, per host.",
)


def timed(sink: EventSink, timing: Timing | None) -> EventSink:
    """`sink`, with every event also given to `timing` (when profiling)."""
    if timing is None:
        return sink

    def both(event: dict[str, Any], progress: Progress) -> None:
        timing.handle(event)
        sink(event, progress)

    return both


def print_profile(console: Console, timing: Timing, top: int = TOP_TASKS) -> None:
    """The `top` tasks by seconds summed over hosts, then the summary lines."""
    summary = timing.summary()
    table = Table("task", "role", "count", "total s", "mean s", "wall s", box=None, pad_edge=False,
                  title=f"Where the {summary['wall_seconds']:.1f} s went ({summary['task_count']} tasks, "
                        f"the {min(top, summary['task_count'])} longest)", title_justify="left")
    for row in summary["tasks"][:top]:
        table.add_row(row["task"], row["role"] or "-", str(row["count"]), f"{row['total_seconds']:.2f}",
                      f"{row['mean_seconds']:.2f}", f"{row['wall_seconds']:.2f}")
    console.print(table)
    for label, key in (("fact gathering", "fact_gathering"), ("argument-spec validation", "argument_specs")):
        part: dict[str, Any] = summary[key]
        console.print(f"{label}: {part['tasks']} tasks, {part['host_seconds']:.2f} s on the hosts, "
                      f"{part['wall_seconds']:.2f} s of the run", highlight=False)
    for host, h in summary["hosts"].items():
        console.print(f"{host}: {h['results']} task results, {h['in_tasks_seconds']:.2f} s in tasks, "
                      f"{h['outside_tasks_seconds']:.2f} s outside them "
                      f"({h['overhead_per_task_seconds']:.3f} s per task)", highlight=False)
