"""Fuzzing the real CLI: random mutations of the sample inventory, then a random command.

Invariants (issue 10): exit 0 or 2 only, never a traceback; no file changes on a non-zero exit;
no command runs longer than a few seconds; a successful edit leaves an inventory that still
validates and keeps every comment. The mutations include every bad-input class of
test_bad_input.py. Derandomized, so CI sees the same examples every run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner, Result
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from provisioner.cli import main
from provisioner.resources import resource_path

SAMPLE = resource_path("inventories") / "sample"
MAIN = "group_vars/mailservers/main.yml"
ACCOUNTS = "group_vars/mailservers/accounts.yml"
HOSTS = "hosts.yml"
FILES = [MAIN, ACCOUNTS, HOSTS]
HASH = "$6$saltsalt$" + "a" * 86
SLOW = 5.0  # seconds: longer than this for one command is a failure

# --- mutations: each takes the inventory folder and changes it ------------------------------------

odd_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
local_parts = st.text(alphabet=st.sampled_from(list("ab.-_+=/!%'\"`$|{}:#\\ é\t\x00")), min_size=1, max_size=6)
good_addresses = st.sampled_from(["bob@example.org", "first.last+tag@example.org", "ext@example.com",
                                  "carol@example.org", "Dave@Example.ORG"])
addresses = st.one_of(
    good_addresses,
    st.builds(lambda local: f"{local}@example.org", local_parts),
    st.sampled_from(["bob@example.org", "ext@example.com", "postmaster@example.org", "x@@example.org",
                     "a" * 70 + "@example.org", "b@" + "c" * 300 + ".org", "@example.org", "bob@bücher.example"]),
)
sizes = st.one_of(
    st.builds(lambda n, unit: f"{n}{unit}", st.integers(0, 10**30), st.sampled_from(["", "K", "M", "G", "T", "m", " MB"])),
    st.integers(-5, 10**40), st.sampled_from(["9" * 5000, "2G", "1.5G", "0", "50M"]),
)
yaml_values = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10**25), odd_text, sizes, addresses,
    st.lists(st.sampled_from(["a", "203.0.113.10", "root"]), max_size=2),
    st.dictionaries(st.sampled_from(["a", "name", "host"]), st.sampled_from(["x", "1"]), max_size=2),
)


def _flow(value: object) -> str:
    """A value as one line of YAML (JSON is YAML flow syntax)."""
    return json.dumps(value, ensure_ascii=False)


def _read(path: Path) -> str:
    """A mutation's own read: never of a FIFO an earlier mutation left (it would block)."""
    if not path.is_file():
        raise OSError(f"{path} is not a regular file any more")
    return path.read_text(encoding="utf-8")


def _edit(path: Path, old: str, new: str) -> None:
    path.write_text(_read(path).replace(old, new, 1), encoding="utf-8")


def _append(path: Path, text: str) -> None:
    path.write_text(_read(path) + text, encoding="utf-8")


@dataclass(frozen=True)
class Mutation:
    kind: str
    file: str
    value: object
    number: int

    def apply(self, root: Path) -> None:  # one branch per class of bad input, on purpose
        path = root / self.file
        n = self.number
        if self.kind == "nesting":
            _append(root / MAIN, "mailprov_deep: " + "[" * n + "]" * n + "\n")
        elif self.kind == "laughs":
            width, levels = 2 + n % 9, 1 + n % 8
            lines = [f"  l0: &l0 [{', '.join(['x'] * width)}]"] + [
                f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels + 1)]
            _append(root / MAIN, "mailprov_laughs:\n" + "\n".join(lines) + "\n")
        elif self.kind == "special file":
            _read(path)
            path.unlink()
            if n % 3 == 0:
                os.mkfifo(path)
            elif n % 3 == 1:
                path.mkdir()
            else:
                short = Path(tempfile.mkdtemp(prefix="f")) / "s"
                with socket.socket(socket.AF_UNIX) as sock:
                    sock.bind(str(short))
                os.rename(short, path)
                short.parent.rmdir()
        elif self.kind == "connection":
            key = ["ansible_host", "ansible_user", "ansible_port"][n % 3]
            text = _read(root / HOSTS)
            text = "\n".join(line for line in text.splitlines() if key not in line) + "\n"
            (root / HOSTS).write_text(text + f"          {key}: {_flow(self.value)}\n")
        elif self.kind == "group key":
            _edit(root / HOSTS, "      hosts:\n", f"      {_flow(str(self.value) or 'x')}: 1\n      hosts:\n")
        elif self.kind == "message size":
            _edit(root / MAIN, "mail_message_size_limit: 50M", f"mail_message_size_limit: {_flow(self.value)}")
        elif self.kind == "quota":
            _edit(root / ACCOUNTS, "quota: 2G", f"quota: {self.value}")
        elif self.kind == "framing":
            text = _read(path)
            text = [text.rstrip("\n"), "\ufeff" + text, text + "...\n# after the end\n", "# top\n" + text,
                    text.replace("\n", "\r\n"), text + "\n\n# trailing\n"][n % 6]
            path.write_text(text)
        elif self.kind == "anchors":
            _edit(root / ACCOUNTS, "        targets: [postmaster@example.org]\n",
                  "        targets: &team [postmaster@example.org]\n"
                  "      - source: sales@example.org\n        targets: *team\n")
        elif self.kind == "long value":
            field = ["mail_hostname: ", "quota: ", "source: ", "ansible_host: ", "mail_message_size_limit: "][n % 5]
            _edit(path, field, field + "x" * 200_000)
        elif self.kind == "group_vars file":
            folder = root / "group_vars" / "mailservers"
            text = "".join(_read(p) for p in sorted(folder.iterdir()))
            shutil.rmtree(folder)
            folder.write_text(text.replace("---\n", "") if n % 2 else "mail_hostname: mail.example.org\n")
        elif self.kind == "local part":
            _edit(root / ACCOUNTS, "source: info@example.org", f"source: {_flow(self.value)}")
        elif self.kind == "replace value":
            lines = _read(path).splitlines(keepends=True)
            keyed = [i for i, line in enumerate(lines) if ": " in line and not line.lstrip().startswith("#")]
            i = keyed[n % len(keyed)]
            lines[i] = lines[i][: lines[i].index(": ") + 2] + _flow(self.value) + "\n"
            path.write_text("".join(lines))
        elif self.kind == "comment":  # anywhere: the edit must keep it
            lines = _read(path).splitlines(keepends=True)
            lines.insert(n % (len(lines) + 1), f"{' ' * (n % 9)}# note {n}\n")
            path.write_text("".join(lines))
        elif self.kind == "line":
            lines = _read(path).splitlines(keepends=True)
            i = n % len(lines)
            choice = n % 4
            if choice == 0:
                del lines[i]
            elif choice == 1:
                lines.insert(i, lines[i])
            elif choice == 2:
                lines.insert(i, f"{' ' * (n % 7)}{self.value}\n")
            else:
                lines[i] = lines[i][: n % max(1, len(lines[i]))] + "\n"
            path.write_text("".join(lines))


KINDS = ["comment", "nesting", "laughs", "special file", "connection", "group key", "message size", "quota", "framing",
         "anchors", "long value", "group_vars file", "local part", "replace value", "line"]
mutations = st.builds(
    Mutation,
    kind=st.sampled_from(KINDS),
    file=st.sampled_from(FILES),
    value=st.one_of(yaml_values, local_parts, addresses),
    number=st.integers(0, 400),
)

# Mutations that leave a valid inventory: an edit of it must succeed and keep every comment.
benign = st.builds(Mutation, kind=st.sampled_from(["framing", "comment"]), file=st.sampled_from(FILES),
                   value=st.none(), number=st.integers(0, 400))

# --- commands ----------------------------------------------------------------------------------------

READ_ONLY = {"validate", "user list", "alias list", "domain list"}
REMOVALS = {"domain remove", "alias remove", "user remove"}
edits = st.one_of(
    st.builds(lambda a: ["user", "add", a, "--password-hash", HASH], good_addresses),
    st.builds(lambda a: ["alias", "add", "info@example.org", a], good_addresses),
    st.sampled_from([["user", "passwd", "postmaster@example.org", "--password-hash", HASH],
                     ["domain", "add", "example.com"], ["alias", "remove", "info@example.org"],
                     ["user", "add", "bob@example.org", "--password-hash", HASH, "--quota", "1G"]]),
)
commands = st.one_of(
    edits,
    edits,
    st.sampled_from([["validate"], ["user", "list"], ["alias", "list"], ["domain", "list"]]),
    st.builds(lambda a: ["user", "add", a, "--password-hash", HASH], addresses),
    st.builds(lambda a, q: ["user", "add", a, "--password-hash", HASH, "--quota", q], addresses, sizes.map(str)),
    st.builds(lambda a: ["user", "passwd", a, "--password-hash", HASH], addresses),
    st.builds(lambda a: ["alias", "add", "info@example.org", a], addresses),
    st.builds(lambda a: ["alias", "add", a, "postmaster@example.org"], addresses),
    st.sampled_from([["domain", "add", "example.com"], ["domain", "add", "example.net", "--alias-of", "example.org"],
                     ["domain", "remove", "example.org", "--force"], ["alias", "remove", "info@example.org"],
                     ["user", "passwd", "postmaster@example.org", "--password-stdin"]]),
)
stdin_bytes = st.sampled_from([b"\xff\xfe\n", b"\n", b"pw\x00x\n", b"\xc3(\n", b""])


def _snapshot(root: Path) -> dict[str, bytes | str]:
    """Every entry of the folder: a file's bytes, or what kind of entry it is."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        found[rel] = path.read_bytes() if path.is_file() else ("dir" if path.is_dir() else "special")
    return found


def _comments(data: bytes | str | None) -> list[str]:
    if not isinstance(data, bytes):
        return []
    return [line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip().startswith("#")]


def _run(args: list[str], root: Path, stdin: bytes) -> tuple[Result, float]:
    started = time.monotonic()
    result = CliRunner().invoke(main, [*args, "-i", str(root)], input=stdin)
    return result, time.monotonic() - started


@settings(max_examples=int(os.environ.get("MAILPROV_FUZZ_EXAMPLES", "500")), derandomize="MAILPROV_FUZZ_RANDOM" not in os.environ, database=None,
          deadline=timedelta(seconds=20), suppress_health_check=[HealthCheck.too_slow])
@given(mutation_list=st.one_of(st.lists(benign, max_size=3), st.lists(mutations, min_size=1, max_size=3)), args=commands, stdin=stdin_bytes)
def test_random_mutations_then_a_command(mutation_list: list[Mutation], args: list[str], stdin: bytes) -> None:
    base = Path(tempfile.mkdtemp(prefix="mailprov-fuzz-"))
    try:
        root = base / "inv"
        shutil.copytree(SAMPLE, root)
        for mutation in mutation_list:
            # A mutation that no longer applies (its file is gone) is skipped; the others still count.
            with contextlib.suppress(OSError, ValueError, IndexError):
                mutation.apply(root)
        before = _snapshot(root)
        result, took = _run(args, root, stdin)
        output = result.output
        event(f"exit {result.exit_code}")
        event(f"{args[0]} {args[1] if len(args) > 1 else ''}: exit {result.exit_code}")
        assert result.exit_code in (0, 2), output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert "Traceback" not in output and "unexpected error" not in output, output
        assert took < SLOW, f"{args} took {took:.1f}s"
        after = _snapshot(root)
        if result.exit_code != 0:
            assert after == before, f"{args} changed files and failed: {output}"
            return
        if " ".join(args[:2]) in READ_ONLY:
            assert after == before
            return
        check, took = _run(["validate"], root, b"")
        assert check.exit_code == 0, f"{args} left an invalid inventory: {check.output}"
        assert took < SLOW
        removal = " ".join(args[:2]) in REMOVALS
        for name, old in before.items():
            kept = _comments(after.get(name))
            lost = [c for c in _comments(old) if c not in kept]
            if removal:  # comments inside the removed entry go with it; the file's header stays
                header = _comments(old)[:2]
                lost = [c for c in lost if c in header]
            assert not lost, f"{args} dropped comments of {name}: {lost}"
    finally:
        shutil.rmtree(base, ignore_errors=True)
