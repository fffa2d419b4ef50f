"""Problems found in an inventory, reported as `FILE: FIELD: what is wrong (how to fix)`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MAX_SHOWN = 60  # characters of an operator's value quoted in a message


def clip(text: str, limit: int = MAX_SHOWN) -> str:
    """`text`, cut to `limit` characters plus "..." (a 1 MB value must not fill the screen)."""
    return text if len(text) <= limit else text[:limit] + "..."


def shown(value: object, limit: int = MAX_SHOWN) -> str:
    """A value as messages quote it: its repr, cut to `limit` characters plus "..."."""
    if isinstance(value, str) and len(value) > limit:
        value = value[: limit + 1]  # repr of the head only: cheap for a 1 MB value
    return clip(repr(value), limit)


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    message: str
    fix: str

    def __str__(self) -> str:
        # Values are quoted with `shown` where messages are made; this is the safety net.
        return f"{clip(self.file, 300)}: {clip(self.field, 160)}: {clip(self.message, 300)} ({clip(self.fix, 300)})"


class InventoryInvalid(Exception):
    """The inventory (or an edit of it) breaks one or more rules; nothing was changed."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(Exception):
    """A command was asked for something that cannot be done, e.g. removing a missing user."""
