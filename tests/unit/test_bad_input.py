"""Bad input found by fuzzing (issue 10): each class ends in `FILE: FIELD: problem (fix)` and exit 2
with nothing written, or in a correct edit. The real CLI runs in-process, as in test_account_commands."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from provisioner.inventory.store import load_inventory

Cli = Callable[..., Result]
HASH = "$6$saltsalt$" + "a" * 86
LAUGHS = "mailprov_laughs:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"  {chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def refused(result: Result, *needles: str) -> None:
    """Exit 2, a one-line reason for each problem, no traceback."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "unexpected error" not in result.output, result.output
    for needle in needles:
        assert needle in result.output, result.output


def main_yml(inventory: Path) -> Path:
    return inventory / "group_vars" / "mailservers" / "main.yml"


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def add_user(cli: Cli, address: str = "bob@example.org") -> Result:
    return cli("user", "add", address, "--password-hash", HASH)


# --- nesting, aliases, self-reference --------------------------------------------------------

def test_deep_nesting_is_a_clear_error_for_validate_and_edits(cli: Cli, inventory: Path) -> None:
    append(main_yml(inventory), "mailprov_deep: " + "[" * 300 + "]" * 300 + "\n")
    before = snapshot(inventory)
    refused(cli("validate"), "main.yml: line 43: values nested more than 50 levels deep (")
    refused(add_user(cli), "nested more than 50 levels")
    assert snapshot(inventory) == before


def test_billion_laughs_is_refused_quickly_everywhere(cli: Cli, inventory: Path) -> None:
    append(main_yml(inventory), LAUGHS)
    before = snapshot(inventory)
    started = time.monotonic()
    refused(cli("validate"), "main.yml: line", "aliases expand to more than 100000 extra values")
    refused(add_user(cli), "aliases expand")
    refused(cli("relay", "clear"), "aliases expand")
    assert time.monotonic() - started < 5
    assert snapshot(inventory) == before


def test_the_patcher_and_round_trip_are_bounded_too() -> None:
    from provisioner.inventory import fastyaml, yamlpatch

    with pytest.raises(fastyaml.TooComplex):
        yamlpatch.rewrite(LAUGHS, {"mailprov_laughs": None}, {"mailprov_laughs": None, "x": 1})
    with pytest.raises(fastyaml.TooComplex, match="refers to the value that contains it"):
        fastyaml.load("a: &a [1, *a]\n")


def test_an_integer_python_cannot_convert_is_a_problem(cli: Cli, inventory: Path) -> None:
    append(main_yml(inventory), "mailprov_big: " + "9" * 5000 + "\n")
    refused(cli("validate"), "main.yml: (file): a value Python cannot read")


# --- passwords ---------------------------------------------------------------------------------

def test_password_that_is_not_utf8_is_refused(cli: Cli, accounts_file: Path) -> None:
    before = accounts_file.read_bytes()
    result = cli("user", "add", "bob@example.org", "--password-stdin", input=b"\xff\xfe secret\n")
    refused(result, "not UTF-8")
    assert accounts_file.read_bytes() == before


def test_password_with_lone_surrogates_is_refused(inventory: Path, accounts_file: Path) -> None:
    """What a C-locale stdin hands over for bytes that are not UTF-8 (surrogateescape)."""
    before = accounts_file.read_bytes()
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:surrogateescape"}
    result = subprocess.run(
        [sys.executable, "-c", "from provisioner.cli import main; main()", "user", "passwd",
         "postmaster@example.org", "--password-stdin", "-i", str(inventory)],
        input=b"\xff\xfe\n", capture_output=True, env=env, timeout=60, check=False)
    assert result.returncode == 2, result.stderr
    assert b"not UTF-8" in result.stderr and b"Traceback" not in result.stderr
    assert accounts_file.read_bytes() == before


# --- files that are not files ----------------------------------------------------------------

@pytest.mark.parametrize("kind", ["fifo", "socket", "directory"])
@pytest.mark.parametrize("name", ["hosts.yml", "group_vars/mailservers/main.yml", "group_vars/mailservers/extra.yml"])
def test_non_regular_files_are_refused_without_opening(cli: Cli, inventory: Path, kind: str, name: str) -> None:
    path = inventory / name
    path.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    else:
        short = Path(tempfile.mkdtemp(prefix="s")) / "s"  # AF_UNIX paths are short; bind, then move
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(short))
        os.rename(short, path)
        short.parent.rmdir()
    expected = {"fifo": "a FIFO", "socket": "a socket", "directory": "a folder"}[kind]
    refused(cli("validate"), f"{name}: (file): not a regular file ({expected})")
    refused(add_user(cli), "not a regular file")


def test_group_vars_mailservers_as_a_plain_file(cli: Cli, inventory: Path) -> None:
    folder = inventory / "group_vars" / "mailservers"
    text = (folder / "main.yml").read_text() + (folder / "accounts.yml").read_text().replace("---\n", "")
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()
    folder.write_text(text)
    refused(cli("validate"), "group_vars/mailservers: (file): a file where mailprov expects a folder (")
    refused(cli("domain", "add", "example.com"), "expects a folder")
    assert folder.read_text() == text


def test_group_vars_file_beside_the_folder_is_refused(cli: Cli, inventory: Path) -> None:
    (inventory / "group_vars" / "mailservers.yml").write_text("mail_hostname: mx.example.org\n")
    refused(cli("validate"), "group_vars/mailservers.yml: (file): Ansible reads it, but mailprov")


# --- hosts.yml ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "value"), [
    ("ansible_host", "{a: 1}"), ("ansible_host", "[203.0.113.10]"), ("ansible_host", "true"),
    ("ansible_user", "[root]"), ("ansible_user", "{name: root}"), ("ansible_user", "no"), ("ansible_host", '""'),
    ("ansible_port", "yes"), ("ansible_port", "70000"),
])
def test_connection_variables_of_the_wrong_type(cli: Cli, inventory: Path, key: str, value: str) -> None:
    hosts = inventory / "hosts.yml"
    text = hosts.read_text()
    if key in text:
        text = "\n".join(line for line in text.splitlines() if key not in line) + "\n"
    hosts.write_text(text + f"          {key}: {value}\n")
    refused(cli("validate"), f"hosts.yml: mailservers.hosts.mail.example.org.{key}: ")


def test_connection_variables_in_group_vars_are_checked_too(cli: Cli, inventory: Path) -> None:
    append(main_yml(inventory), "ansible_user: {name: root}\n")
    refused(cli("validate"), "main.yml: ansible_user: expected a name")


def test_unknown_keys_beside_hosts_are_refused(cli: Cli, inventory: Path) -> None:
    hosts = inventory / "hosts.yml"
    hosts.write_text(hosts.read_text().replace("      hosts:\n", "      foo: {}\n      hosts:\n"))
    refused(cli("validate"), "hosts.yml: mailservers.foo: unknown key (allowed keys: hosts, vars, children)")


# --- sizes -------------------------------------------------------------------------------------------

def test_huge_message_size_is_refused_with_the_maximum(cli: Cli, inventory: Path) -> None:
    path = main_yml(inventory)
    path.write_text(path.read_text().replace("mail_message_size_limit: 50M", "mail_message_size_limit: 99999999999999999999G"))
    refused(cli("validate"), "mail_message_size_limit: '99999999999999999999G' is more than the largest message size")


@pytest.mark.parametrize("quota", ["999999999999999999999999T", "101T", "9" * 5000 + "T"])
def test_huge_quota_in_the_file_is_refused(cli: Cli, accounts_file: Path, quota: str) -> None:
    accounts_file.write_text(accounts_file.read_text().replace("quota: 2G", f"quota: {quota}"))
    refused(cli("validate"), ".quota: ", "100T")


def test_huge_quota_on_the_command_line_is_refused(cli: Cli, accounts_file: Path) -> None:
    before = accounts_file.read_bytes()
    refused(cli("user", "add", "bob@example.org", "--password-hash", HASH, "--quota", "999999999999999999999999T"),
            "more than the largest quota mailprov allows, 100T")
    assert accounts_file.read_bytes() == before
    assert cli("user", "add", "bob@example.org", "--password-hash", HASH, "--quota", "100T").exit_code == 0


# --- the edit keeps what it does not change ------------------------------------------------------

@pytest.mark.parametrize("shape", ["no final newline", "byte order mark", "document end", "comment before ---",
                                   "two byte order marks"])
@pytest.mark.parametrize("edit", [("domain", "add", "example.com"), ("domain", "remove", "example.org", "--force")])
def test_edits_keep_markers_and_comments(cli: Cli, accounts_file: Path, shape: str, edit: tuple[str, ...]) -> None:
    text = accounts_file.read_text()
    text = {"no final newline": text.rstrip("\n"), "byte order mark": "\ufeff" + text,
            "document end": text + "...\n# after the end\n", "comment before ---": "# top\n" + text,
            "two byte order marks": "\ufeff\ufeff# top\n" + text}[shape]
    accounts_file.write_text(text)
    result = cli(*edit)
    assert result.exit_code == 0, result.output
    after = accounts_file.read_text()
    assert after.startswith(text[: text.index("---\n") + 4])
    header = [line for line in text.splitlines() if line.lstrip("\ufeff").startswith("#")]
    assert all(line in after.splitlines() for line in header), after
    if shape == "document end":
        assert after.endswith("...\n# after the end\n")
    assert cli("validate").exit_code == 0


def test_edit_of_a_file_of_comments_only_keeps_them(cli: Cli, accounts_file: Path) -> None:
    accounts_file.write_text("---\n# accounts go here\n")
    assert cli("domain", "add", "example.com").exit_code == 0
    assert accounts_file.read_text().startswith("---\n# accounts go here\nmail_domains:\n")


# --- shared anchors ----------------------------------------------------------------------------

def test_edit_through_a_shared_anchor_is_refused(cli: Cli, accounts_file: Path) -> None:
    text = accounts_file.read_text().replace(
        "        targets: [postmaster@example.org]\n",
        "        targets: &team [postmaster@example.org]\n      - source: sales@example.org\n        targets: *team\n")
    accounts_file.write_text(text)
    assert cli("validate").exit_code == 0
    refused(cli("alias", "add", "sales@example.org", "ext@example.com"),
            "accounts.yml: line 18: YAML anchors and aliases share values here", "without &anchors and *aliases")
    assert accounts_file.read_text() == text


# --- long values ---------------------------------------------------------------------------------

@pytest.mark.parametrize("line", ["mail_dkim: {selector: VALUE}", "mail_hostname_typo: VALUE",
                                  "mail_relay: {host: VALUE}", "VALUE: 1", "mailprov_x: [VALUE"])
def test_a_huge_value_is_cut_in_the_message(cli: Cli, inventory: Path, line: str) -> None:
    path = main_yml(inventory)
    path.write_text(path.read_text().replace("mail_hostname: mail.example.org", "mail_hostname: " + "a" * 1_000_000)
                    + line.replace("VALUE", "b" * 1_000_000) + "\n")
    result = cli("validate")
    refused(result)
    assert all(len(out) < 800 for out in result.output.splitlines()), max(map(len, result.output.splitlines()))


def test_a_huge_address_on_the_command_line_is_cut(cli: Cli) -> None:
    result = add_user(cli, "a" * 1_000_000 + "@example.org")
    refused(result, "...")
    assert len(result.output) < 400


# --- local parts -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("local", "reason"), [
    ("a/b", "separates folders"), ("a!b", "bang path"), ("a%b", "percent hack"), (".a", "starts with '.'"),
    ("a..b", "two dots"), ("a.", "dot at the end"), ("-a", "starts with '-'"), ("a'b", "shell or template"),
    ("a|b", "command"), ("a{b", "template"), ("a\\b", "escape"), ("a:b", "passwd-file"), ("a#b", "comment"),
])
def test_unsafe_local_parts_are_refused_with_the_reason(cli: Cli, accounts_file: Path, local: str, reason: str) -> None:
    before = accounts_file.read_bytes()
    if not local.startswith("-"):  # click would take it for an option
        refused(add_user(cli, f"{local}@example.org"), reason)
        refused(cli("alias", "add", "info@example.org", f"{local}@example.com"), reason)
    assert accounts_file.read_bytes() == before
    quoted = json.dumps(f"{local}@example.org")  # a JSON string is a YAML double-quoted scalar
    accounts_file.write_text(accounts_file.read_text().replace("source: info@example.org", f"source: {quoted}"))
    refused(cli("validate"), "accounts.yml: mail_domains[example.org].aliases[", reason)


def test_ordinary_local_parts_still_work(cli: Cli, inventory: Path) -> None:
    for address in ("first.last@example.org", "a_b-c+tag@example.org", "x=y@example.org"):
        assert add_user(cli, address).exit_code == 0
    assert len(load_inventory(inventory).mailboxes) == 4


def test_vault_password_fifo_is_refused(cli: Cli, inventory: Path) -> None:
    os.mkfifo(inventory / ".vault-password", 0o600)
    before = snapshot(inventory)
    result = cli("relay", "set", "--provider", "gmail", "--username", "u@example.org", "--password-stdin",
                 input="pw\n")
    refused(result, ".vault-password: not a regular file")
    assert snapshot(inventory) == before


def test_relay_password_not_utf8_is_refused(cli: Cli, inventory: Path) -> None:
    before = snapshot(inventory)
    result = cli("relay", "set", "--provider", "gmail", "--username", "u@example.org", "--password-stdin",
                 input=b"\xff\n")
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert snapshot(inventory) == before
