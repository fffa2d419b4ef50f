"""Shared fixtures: a private copy of the sample inventory for each test."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from provisioner.cli import main
from provisioner.resources import resource_path


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    target = tmp_path / "inventory"
    shutil.copytree(resource_path("inventories") / "sample", target)
    return target


@pytest.fixture
def accounts_file(inventory: Path) -> Path:
    return inventory / "group_vars" / "mailservers" / "accounts.yml"


@pytest.fixture
def cli(inventory: Path) -> Callable[..., Result]:
    """Run `mailprov ARGS -i <the test inventory>` in-process."""

    def run(*args: str, input: str | None = None, with_inventory: bool = True) -> Result:
        argv = [*args, "-i", str(inventory)] if with_inventory else list(args)
        return CliRunner().invoke(main, argv, input=input, catch_exceptions=False)

    return run
