"""Edits rewrite only the lines that change; odd layouts fall back to ruamel.yaml's round trip."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import Result
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.inventory import fastyaml, yamlpatch

Cli = Callable[..., Result]
HASH = "$6$saltsalt$" + "a" * 86


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


@pytest.fixture
def no_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(text: str, new: object) -> str:
        raise AssertionError("the text patch should have handled this edit")

    monkeypatch.setattr(yamlpatch, "_round_trip", refuse)


@pytest.mark.usefixtures("no_fallback")
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("user", "add", "bob@example.org", "--password-hash", HASH, "--quota", "1G"),
         ["+      - address: bob@example.org", f'+        password: "{{SHA512-CRYPT}}{HASH}"', "+        quota: 1G"]),
        (("user", "passwd", "postmaster@example.org", "--password-hash", HASH), None),
        (("alias", "add", "info@example.org", "ext@example.com"),
         ["-        targets: [postmaster@example.org]", "+        targets: [postmaster@example.org, ext@example.com]"]),
        (("alias", "add", "sales@example.org", "postmaster@example.org"),
         ["+      - source: sales@example.org", "+        targets: [postmaster@example.org]"]),
        (("alias", "remove", "info@example.org"),
         ["-    aliases:", "-      - source: info@example.org", "-        targets: [postmaster@example.org]",
          "+    aliases: []"]),
        (("alias", "add", "@example.org", "postmaster@example.org"), ["+    catch_all: [postmaster@example.org]"]),
        (("domain", "add", "example.com"),
         ["+  - name: example.com", "+    mailboxes: []", "+    aliases: []"]),
    ],
)
def test_common_edits_change_only_their_own_lines(cli: Cli, accounts_file: Path, args: tuple[str, ...],
                                                   expected: list[str] | None) -> None:
    before = accounts_file.read_text()
    assert cli(*args).exit_code == 0
    changes = changed_lines(before, accounts_file.read_text())
    if expected is None:
        assert len(changes) == 2 and changes[1][1:].strip().startswith('password: "{SHA512-CRYPT}')
    else:
        assert changes == expected


@pytest.mark.usefixtures("no_fallback")
def test_a_mailbox_goes_into_an_empty_flow_list(cli: Cli, inventory: Path) -> None:
    assert cli("domain", "add", "example.com").exit_code == 0
    assert cli("user", "add", "a@example.com", "--password-hash", HASH).exit_code == 0
    assert cli("user", "add", "b@example.com", "--password-hash", HASH).exit_code == 0
    assert cli("user", "remove", "a@example.com").exit_code == 0
    text = (inventory / "group_vars/mailservers/accounts.yml").read_text()
    assert "  - name: example.com\n    mailboxes:\n      - address: b@example.com\n" in text


def test_unusual_layouts_fall_back_to_round_trip_and_keep_comments(cli: Cli, accounts_file: Path) -> None:
    accounts_file.write_text(
        "# top comment\nmail_domains:\n"
        "  - {name: example.org, mailboxes: [{address: postmaster@example.org, password: '{SHA512-CRYPT}" + HASH + "'}]}"
        "  # flow style, by hand\n"
    )
    assert cli("user", "add", "bob@example.org", "--password-hash", HASH).exit_code == 0
    assert cli("user", "remove", "bob@example.org").exit_code == 0
    assert cli("user", "remove", "postmaster@example.org").exit_code == 0
    text = accounts_file.read_text()
    assert text.startswith("# top comment\n")
    assert fastyaml.load(text) == {"mail_domains": [{"name": "example.org", "mailboxes": []}]}


@pytest.mark.parametrize(
    ("text", "old", "new"),
    [
        ("", None, {"mail_domains": [{"name": "a.org"}]}),
        ("a: 1  # keep\nb: [x]\n", {"a": 1, "b": ["x"]}, {"a": 2, "b": ["x", "y"]}),
        ("a:\n  - k: 1\n    l: 2\n# between\n  - k: 3\n", {"a": [{"k": 1, "l": 2}, {"k": 3}]}, {"a": [{"k": 3}]}),
        ("a:\n  - k: 1\n    l: 2\n", {"a": [{"k": 1, "l": 2}]}, {"a": [{"k": 1}]}),
        ("a:\n  - k: 1\n    l: 2\n", {"a": [{"k": 1, "l": 2}]}, {"a": [{"l": 2}]}),
        ("a:\n  - k: 1\n", {"a": [{"k": 1}]}, {"a": []}),
        ("a: 'it''s'\n", {"a": "it's"}, {"a": "true"}),
        ("a:\nb: 1\n", {"a": None, "b": 1}, {"a": [{"k": "v"}], "b": 1}),
    ],
)
def test_rewrite_always_yields_the_new_data(text: str, old: object, new: object) -> None:
    result = yamlpatch.rewrite(text, old, new)
    assert fastyaml.load(result) == new
    if "# keep" in text:
        assert "a: 2  # keep\n" in result
    if "# between" in text:
        assert "# between" in result


_leaf = st.one_of(st.integers(0, 9), st.sampled_from(["a@example.org", "x", "{ARGON2ID}$v", "it's", "2G", "yes", ""]))
_data = st.recursive(
    _leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from("abcd"), inner, max_size=3)),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(old=st.dictionaries(st.sampled_from("abcd"), _data, min_size=1, max_size=3),
       new=st.dictionaries(st.sampled_from("abcd"), _data, min_size=1, max_size=3),
       flow=st.booleans())
def test_rewrite_matches_the_new_data_whatever_the_shapes(old: dict[str, object], new: dict[str, object],
                                                          flow: bool) -> None:
    text = yaml.safe_dump(old, default_flow_style=flow, sort_keys=False)
    assert fastyaml.load(yamlpatch.rewrite(text, old, new)) == new
