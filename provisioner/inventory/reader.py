"""Reading one inventory file's values: every problem collected, fields named as operators see them."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from provisioner.inventory.names import InvalidName, normalize_address, normalize_domain
from provisioner.problems import Problem, shown

_SIZE = re.compile(r"^([1-9][0-9]*)\s*([KMGT]?)B?$", re.IGNORECASE)
CANONICAL_SIZE = re.compile(r"[1-9][0-9]*[KMGT]?")
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_HUGE = 1024**5 * 10**6  # stands for any size of more digits than a real one has
MAX_QUOTA = 100 * 1024**4
MAX_QUOTA_TEXT = "100T"
_VAULT_REFERENCE = re.compile(r"^\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}$")


@dataclass
class Collector:
    """Gathers problems so that one validation run reports all of them at once."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, file: str, where: str, message: str, fix: str) -> None:
        self.problems.append(Problem(file, where, message, fix))


def parse_size(value: object) -> int | None:
    """Bytes in a size like 50M, 2G or 1048576; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return min(value, _HUGE) if value > 0 else None
    match = _SIZE.fullmatch(str(value).strip())
    if not match:
        return None
    if len(match.group(1)) > 20:  # more than any disk holds; int() of 5000 digits would fail
        return _HUGE
    return int(match.group(1)) * _UNITS[match.group(2).upper()]


def quota_problem(value: object) -> str | None:
    """Why `value` cannot be a quota (None when it can): not a size, or over MAX_QUOTA."""
    size = parse_size(value)
    if size is None:
        return f"{shown(value)} is not a quota"
    if size > MAX_QUOTA:
        return f"{shown(value)} is more than the largest quota mailprov allows, {MAX_QUOTA_TEXT}"
    return None


def normalize_quota(value: object) -> str | None:
    """Quota in Dovecot's notation (2G, 500M, bytes), or None when invalid."""
    if parse_size(value) is None:
        return None
    match = _SIZE.fullmatch(str(value).strip())
    assert match is not None
    return match.group(1) + match.group(2).upper()


def is_vault_value(value: object) -> bool:
    """A `{{ vault_var }}` reference or an inline `!vault` encrypted scalar."""
    tag = getattr(getattr(value, "tag", None), "value", getattr(value, "tag", None))
    if isinstance(tag, str) and tag.endswith("vault"):
        return True
    return isinstance(value, str) and bool(_VAULT_REFERENCE.fullmatch(value.strip()))


class Reader:
    """Reads one file's values with a collector, naming fields the way operators see them."""

    def __init__(self, file: str, out: Collector) -> None:
        self.file = file
        self.out = out

    def problem(self, where: str, message: str, fix: str) -> None:
        self.out.add(self.file, where, message, fix)

    def mapping(self, value: object, where: str, what: str) -> Mapping[str, Any] | None:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.problem(where, f"expected {what}, found {kind(value)}", f"write {what} here")
            return None
        return cast(Mapping[str, Any], value)

    def known_keys(self, value: Mapping[str, Any], where: str, allowed: tuple[str, ...]) -> None:
        for key in value:
            if key not in allowed:
                hint = closest(str(key), allowed)
                self.problem(
                    f"{where}.{key}" if where else str(key),
                    "unknown key",
                    f"did you mean {hint!r}?" if hint else f"allowed keys: {', '.join(allowed)}",
                )

    def string_list(self, value: object, where: str) -> list[str] | None:
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return [str(v) for v in value]
        self.problem(where, f"expected a list of addresses, found {kind(value)}",
                     "write a YAML list such as [alice@example.org]")
        return None

    def name(self, value: object, where: str, convert: Callable[[str], str], example: str) -> str | None:
        if not isinstance(value, str):
            self.problem(where, f"expected a text value, found {kind(value)}", f"write e.g. {example}")
            return None
        try:
            converted = convert(value)
        except InvalidName as err:
            self.problem(where, str(err), f"write e.g. {example}")
            return None
        if converted != value:
            # Ansible reads the file itself: what it renders must already be the canonical form.
            self.problem(where, f"{shown(value)} is not in canonical form",
                         f"write {converted} (lower case, international names as A-labels)")
            return None
        return converted

    def domain(self, value: object, where: str) -> str | None:
        return self.name(value, where, normalize_domain, "example.org")

    def address(self, value: object, where: str) -> str | None:
        return self.name(value, where, normalize_address, "alice@example.org")

    def addresses(self, value: object, where: str) -> list[str] | None:
        raw = self.string_list(value, where)
        if raw is None:
            return None
        parsed = [self.address(v, f"{where}[{i}]") for i, v in enumerate(raw)]
        return [p for p in parsed if p is not None] if all(parsed) else None


def kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a yes/no value"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return "a number"
    return "text"


def closest(key: str, allowed: tuple[str, ...]) -> str | None:
    found = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    return found[0] if found else None
