"""Tables that stay readable at any width: a grid when it fits, else one block per row.

Rich squeezes a table that is wider than the console by narrowing its columns, down to one
character each (a host name printed one letter per line). :class:`FitTable` decides when it is
printed, from the width it gets (a terminal's, 80 in a pipe or a CI log, ``COLUMNS``):

- every column at its natural width, plus at least :data:`MIN_WRAP` for the one column that may
  wrap (``wrap``), fits: a grid; only that column wraps;
- otherwise: stacked, one block per row (its first cell as the heading, then ``header: value``
  lines that wrap like text).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

MIN_WRAP = 24  # the wrapping column gets at least this many cells, else we stack
Cell = str | Text


def _text(cell: Cell) -> Text:
    return cell if isinstance(cell, Text) else Text.from_markup(cell)


def _natural(cell: Text) -> int:
    return max((Text(line).cell_len for line in cell.plain.splitlines()), default=0)


@dataclass
class FitTable:
    """``headers`` and ``rows`` of markup strings (or Text); ``wrap``: the header that may wrap."""

    headers: Sequence[str]
    rows: list[Sequence[Cell]] = field(default_factory=list)
    title: str | None = None
    wrap: str | None = None
    right: Sequence[str] = ()  # headers of right-aligned (numeric) columns
    row_styles: list[str] = field(default_factory=list)
    box: bool = True

    def add_row(self, *cells: Cell, style: str = "") -> None:
        self.rows.append(cells)
        self.row_styles.append(style)

    def widths(self) -> list[int]:
        """Each column's natural width: its widest header or cell line."""
        columns = zip(*[[Text(h) for h in self.headers], *[[_text(c) for c in r] for r in self.rows]], strict=True)
        return [max(_natural(c) for c in column) for column in columns]

    def needed(self) -> int:
        """The narrowest width at which the grid shows every column whole."""
        widths = self.widths()
        if self.wrap is not None and self.wrap in self.headers:
            index = list(self.headers).index(self.wrap)
            widths[index] = min(widths[index], MIN_WRAP)
        per_column = 3 if self.box else 2  # "│ x " with the borders, else padding
        return sum(widths) + per_column * len(widths) + (1 if self.box else 0)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.needed() <= options.max_width:
            yield self.grid()
        else:
            yield from self.stacked(console, options.max_width)

    def grid(self) -> Table:
        table = Table(title=self.title, title_justify="left") if self.box else Table(box=None, pad_edge=False)
        for header, width in zip(self.headers, self.widths(), strict=True):
            wraps = header == self.wrap
            table.add_column(
                header, no_wrap=not wraps, overflow="fold" if wraps else "ellipsis",
                min_width=None if wraps else width, justify="right" if header in self.right else "left",
            )
        for row, style in zip(self.rows, self.row_styles or [""] * len(self.rows), strict=True):
            table.add_row(*row, style=style or None)
        return table

    def stacked(self, console: Console, width: int) -> Iterable[RenderableType]:
        if self.title:
            yield Text(self.title, style="italic")
        for row, style in zip(self.rows, self.row_styles or [""] * len(self.rows), strict=True):
            first, *rest = [_text(c) for c in row]
            yield Text.assemble(first, style=f"bold {style}".strip())
            pairs = [Text.assemble((f"{h}: ", "dim"), c) for h, c in zip(self.headers[1:], rest, strict=True)]
            # Wrapped like text, each line indented; no padding to the right (clean in a log).
            for line in Text("; ").join(pairs).wrap(console, max(width - 2, 20)):
                line.rstrip()
                yield Text.assemble("  ", line)


def render(renderable: object, width: int) -> str:
    """``renderable`` as plain text at ``width`` columns (tests, logs)."""
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()
