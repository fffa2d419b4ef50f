"""The parts of provisioner/ import only downwards (docs/layout.md), read from the source with ast.

Floors, low to high: a part may import its own modules and those of any lower floor. Peers on
one floor (dns and probe) stay independent of each other, so the order is strict and no cycle
can form between parts.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import provisioner

PACKAGE = "provisioner"
PACKAGE_DIR = Path(provisioner.__file__).resolve().parent

FLOORS: list[tuple[str, ...]] = [
    # The package root holds only __version__: every part may read it.
    ("", "problems", "resources", "resolvers"),
    ("providers",),
    ("inventory",),
    ("runner",),
    ("dns", "probe", "deployed"),
    ("sandbox",),
    ("rehearse",),
    ("backup", "fleet"),
    ("cli",),
]
FLOOR_OF = {part: level for level, parts in enumerate(FLOORS) for part in parts}

# Rules the floors alone do not imply.
FORBIDDEN: dict[str, set[str]] = {
    # check talks to servers from outside; it never needs Ansible.
    "probe": {"runner"},
}
# Screen and argument parsing belong to cli/ only: the logic below it stays callable from tests
# and from other commands without a click context.
CLI_ONLY_LIBRARIES = {"click"}

# The one call into Ansible (runner.run.execute) and what it takes and returns: every other
# function of runner.run is a step of that call, never made on its own by a command.
RUNNER_RUN = f"{PACKAGE}.runner.run"
RUNNER_RUN_PUBLIC = {"execute", "RunResult", "EventSink", "RunStart", "playbook_path"}
ONE_CALL = f"outside runner/ only {sorted(RUNNER_RUN_PUBLIC)} (one call into Ansible: execute)"


@dataclass(frozen=True)
class Import:
    module: str  # absolute, e.g. provisioner.runner.run, or click
    name: str | None  # the name taken from it (`from module import name`), else None
    bound: str  # the local name the import binds
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def part_of(module: str) -> str:
    """provisioner.runner.run -> runner; provisioner.problems -> problems; provisioner -> ''."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imports(source: str, module: str, is_package: bool) -> Iterator[Import]:
    """Every import in ``source``, also the ones inside functions (deferred heavy imports count too)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, None, alias.asname or alias.name.split(".")[0], node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield Import(base, alias.name, alias.asname or alias.name, node.lineno)


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def attribute_uses(source: str, module_aliases: dict[str, str]) -> Iterator[tuple[str, str, int]]:
    """(module, name, line) for each `alias.name` where alias is an imported provisioner module."""
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in module_aliases
        ):
            yield module_aliases[node.value.id], node.attr, node.lineno


def runner_step(module: str, name: str | None, own: str) -> bool:
    """A step of runner.execute taken on its own, outside runner/."""
    return module == RUNNER_RUN and own != "runner" and name is not None and name not in RUNNER_RUN_PUBLIC


def violations(module: str, source: str, *, is_package: bool = False) -> list[str]:
    """What ``module`` (an importable name under provisioner) does against the layout."""
    own = part_of(module)
    found: list[str] = []
    module_aliases: dict[str, str] = {}  # local name -> provisioner module
    for imp in imports(source, module, is_package):
        top = imp.module.split(".")[0]
        if top in CLI_ONLY_LIBRARIES and own != "cli":
            found.append(f"{imp.line}: imports {top}, which only cli/ may use")
        if top != PACKAGE:
            continue
        target = imp.module
        if imp.name is not None and _is_module(f"{target}.{imp.name}"):
            target = f"{target}.{imp.name}"  # `from provisioner.probe import checks`: a module
        if target != imp.module or imp.name is None:
            module_aliases[imp.bound] = target
        other = part_of(target)
        if other not in FLOOR_OF:
            found.append(f"{imp.line}: imports {target}, a part with no floor in FLOORS")
        elif own in FLOOR_OF and other != own:
            if FLOOR_OF[other] > FLOOR_OF[own]:
                found.append(f"{imp.line}: {own} imports {target}, which is higher ({other})")
            elif FLOOR_OF[other] == FLOOR_OF[own] and other and own:
                found.append(f"{imp.line}: {own} imports {target}, a peer on its own floor ({other})")
        if other in FORBIDDEN.get(own, set()):
            found.append(f"{imp.line}: {own} must never import {other} ({target})")
        if imp.name is not None and is_private(imp.name) and target == imp.module:
            found.append(f"{imp.line}: imports the private name {imp.name} from {target}")
        if is_private(target.split(".")[-1]):
            found.append(f"{imp.line}: imports the private module {target}")
        if runner_step(imp.module, imp.name, own):
            found.append(f"{imp.line}: imports {imp.name} from {RUNNER_RUN}; {ONE_CALL}")
    for target, name, line in attribute_uses(source, module_aliases):
        if is_private(name):
            found.append(f"{line}: reaches the private name {name} of {target}")
        if runner_step(target, name, own):
            found.append(f"{line}: uses {name} of {RUNNER_RUN}; {ONE_CALL}")
    return found


def _is_module(dotted: str) -> bool:
    path = PACKAGE_DIR.parent / dotted.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def package_modules() -> list[Path]:
    return sorted(p for p in PACKAGE_DIR.rglob("*.py") if "_data" not in p.relative_to(PACKAGE_DIR).parts)


def test_every_part_has_a_floor() -> None:
    parts = {part_of(module_name(path)) for path in package_modules()}
    assert parts - set(FLOOR_OF) == set(), "a new part of provisioner/: give it a floor in FLOORS and docs/layout.md"


# A module a newcomer can read in one sitting; past this, split it by what it holds.
MAX_LINES = 300


def test_no_module_over_max_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE_DIR.parent)): lines
        for path in package_modules()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}, f"split these modules by what they hold (at most {MAX_LINES} lines each)"


def test_imports_only_go_down() -> None:
    problems = []
    for path in package_modules():
        source = path.read_text(encoding="utf-8")
        for problem in violations(module_name(path), source, is_package=path.name == "__init__.py"):
            problems.append(f"{path.relative_to(PACKAGE_DIR.parent)}:{problem}")
    assert problems == [], "\n".join(problems)


# The checker itself: each rule catches what it is for.
@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("provisioner.inventory.x", "from provisioner.runner.run import execute\n", "which is higher (runner)"),
        ("provisioner.inventory.x", "import provisioner.cli.common\n", "which is higher (cli)"),
        ("provisioner.probe.x", "from provisioner.runner import progress\n", "probe must never import runner"),
        ("provisioner.probe.x", "from provisioner.dns import records\n", "a peer on its own floor (dns)"),
        ("provisioner.runner.x", "import click\n", "imports click, which only cli/ may use"),
        ("provisioner.inventory.x", "def f():\n    import click\n", "imports click"),
        ("provisioner.cli.x", "from provisioner.resources import _ROOT\n", "private name _ROOT"),
        ("provisioner.cli.x", "from provisioner.probe import checks\nchecks._timed()\n", "private name _timed"),
        ("provisioner.rehearse.x", "from provisioner.runner.run import run_playbook\n", "one call into Ansible"),
        ("provisioner.dns.x", "from provisioner.runner import run\nrun.count_tasks()\n", "one call into Ansible"),
        ("provisioner.dns.x", "from ..cli import common\n", "which is higher (cli)"),
        ("provisioner.dns.x", "from provisioner.newpart import thing\n", "no floor in FLOORS"),
    ],
)
def test_checker_catches(module: str, source: str, expected: str) -> None:
    assert any(expected in problem for problem in violations(module, source)), violations(module, source)


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("provisioner.cli.x", "import click\nfrom provisioner.runner.run import execute\n"),
        ("provisioner.runner.run", "from provisioner.runner.options import PlaybookRun\n"),
        ("provisioner.cli", "from provisioner import __version__\n"),
        ("provisioner.rehearse.x", "from provisioner.probe import checks as probe\nprobe.Check\n"),
        ("provisioner.probe.x", "from provisioner.inventory.model import Inventory\n"),
    ],
)
def test_checker_lets_pass(module: str, source: str) -> None:
    assert violations(module, source) == []
