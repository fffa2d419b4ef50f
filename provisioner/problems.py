"""Problems found in an inventory, reported as `FILE: FIELD: what is wrong (how to fix)`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message} ({self.fix})"


class InventoryInvalid(Exception):
    """The inventory (or an edit of it) breaks one or more rules; nothing was changed."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(Exception):
    """A command was asked for something that cannot be done, e.g. removing a missing user."""
