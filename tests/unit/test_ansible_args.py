"""Golden tests: the shared Ansible options become exactly this argv."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from provisioner.cli.ansible_options import ansible_options
from provisioner.runner.options import AnsibleOptions, PlaybookRun

PLAYBOOK = Path("/pb/site.yml")
INVENTORY = Path("/inv")


@click.command()
@ansible_options
def probe_command(ansible: AnsibleOptions) -> None:
    click.echo(shlex.join(PlaybookRun(PLAYBOOK, INVENTORY, ansible).argv()))


def argv_for(*args: str) -> str:
    result = CliRunner().invoke(probe_command, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output.strip()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current directory, holding the files `-e @FILE` names in the tests."""
    monkeypatch.chdir(tmp_path)
    for name in ("secrets.yml", "x.yml"):
        (tmp_path / name).write_text("a: 1\n")
    return tmp_path.resolve()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "ansible-playbook -i /inv /pb/site.yml"),
        (["--limit", "mail1"], "ansible-playbook -i /inv --limit mail1 /pb/site.yml"),
        (["-t", "accounts"], "ansible-playbook -i /inv --tags accounts /pb/site.yml"),
        (
            ["-t", "postfix,dovecot", "-t", "postfix"],
            "ansible-playbook -i /inv --tags postfix,dovecot /pb/site.yml",
        ),
        (["--check", "--diff"], "ansible-playbook -i /inv --check --diff /pb/site.yml"),
        (
            ["-e", "@secrets.yml", "-e", "a=b c"],
            "ansible-playbook -i /inv -e @{cwd}/secrets.yml -e 'a=b c' /pb/site.yml",
        ),
        (["-vvv"], "ansible-playbook -i /inv -vvv /pb/site.yml"),
        (
            ["-l", "m1", "-t", "accounts", "--check", "--diff", "-e", "@x.yml", "-v"],
            "ansible-playbook -i /inv --limit m1 --tags accounts --check --diff -e @{cwd}/x.yml -v"
            " /pb/site.yml",
        ),
    ],
)
def test_cli_options_to_argv(args: list[str], expected: str, workdir: Path) -> None:
    assert argv_for(*args) == expected.format(cwd=workdir)


def test_relative_extra_vars_file_becomes_absolute(workdir: Path) -> None:
    # ansible-runner runs ansible-playbook inside its private data dir: a
    # relative @file would be looked up there.
    (workdir / "sub").mkdir()
    (workdir / "sub" / "v.yml").write_text("a: 1\n")
    assert f"-e @{workdir}/sub/v.yml " in argv_for("-e", "@sub/v.yml")


def test_missing_extra_vars_file_is_a_usage_error(workdir: Path) -> None:
    result = CliRunner().invoke(probe_command, ["-e", "@nope.yml"])
    assert result.exit_code == 2
    assert "nope.yml: no such file" in result.output


def test_vault_file_is_a_path_never_a_secret() -> None:
    opts = AnsibleOptions(vault_password_file=Path("/inv/.vault-password"))
    assert opts.flags() == ["--vault-password-file", "/inv/.vault-password"]


def test_runner_kwargs_round_trip_through_shlex() -> None:
    opts = AnsibleOptions(
        limit="m1", tags=("accounts",), check=True, extra_vars=("a=b c", "@f y.yml")
    )
    kwargs = PlaybookRun(PLAYBOOK, INVENTORY, opts).runner_kwargs()
    assert kwargs["playbook"] == "/pb/site.yml"
    assert kwargs["inventory"] == "/inv"
    # ansible-runner shlex-splits `cmdline`: the split must give back our list.
    assert shlex.split(kwargs["cmdline"]) == opts.flags()


def test_no_cmdline_without_options() -> None:
    assert "cmdline" not in PlaybookRun(PLAYBOOK, INVENTORY).runner_kwargs()
