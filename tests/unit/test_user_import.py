"""`mailprov user import FILE`: CSV or JSON, every row checked, all mailboxes or none."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from argon2 import PasswordHasher
from click.testing import Result

from provisioner.inventory.store import load_inventory

Cli = Callable[..., Result]
SHA = "{SHA512-CRYPT}$6$saltsalt$" + "a" * 86
BARE_SHA = "$6$saltsalt$" + "b" * 86


def test_csv_with_hashes_and_passwords(cli: Cli, inventory: Path, accounts_file: Path, tmp_path: Path) -> None:
    source = tmp_path / "users.csv"
    source.write_text("address,hash,password,quota\n"
                      f"Alice@Example.ORG,{SHA},,2G\n"
                      f"bob@example.org,{BARE_SHA},,\n"
                      "carol@example.org,,correct horse battery,500m\n")
    result = cli("user", "import", str(source))
    assert result.exit_code == 0, result.output
    assert "Added 3 mailboxes" in result.output
    boxes = {m.address: m for m in load_inventory(inventory).mailboxes}
    assert boxes["alice@example.org"].quota == "2G"
    assert boxes["bob@example.org"].password == "{SHA512-CRYPT}" + BARE_SHA
    carol = boxes["carol@example.org"]
    assert PasswordHasher().verify(carol.password.removeprefix("{ARGON2ID}"), "correct horse battery")
    assert "correct horse" not in accounts_file.read_text()
    assert "correct horse" not in result.output


def test_json_list_of_objects(cli: Cli, inventory: Path, tmp_path: Path) -> None:
    source = tmp_path / "users.json"
    source.write_text(json.dumps([{"address": "dave@example.org", "hash": SHA, "quota": "1G"},
                                  {"address": "erin@example.org", "password": "pw erin"}]))
    result = cli("user", "import", str(source))
    assert result.exit_code == 0, result.output
    assert {"dave@example.org", "erin@example.org"} <= {m.address for m in load_inventory(inventory).mailboxes}


def test_bad_rows_are_all_reported_and_nothing_is_written(cli: Cli, accounts_file: Path, tmp_path: Path) -> None:
    before = accounts_file.read_text()
    source = tmp_path / "users.csv"
    source.write_text("address,hash,password,quota\n"
                      f"ok@example.org,{SHA},,\n"
                      "not-an-address,,secret one,\n"
                      "nohash@example.org,,,\n"
                      "badhash@example.org,{PLAIN}secret two,,\n"
                      f"quota@example.org,{SHA},,lots\n"
                      f"ok@example.org,{SHA},,\n")
    result = cli("user", "import", str(source))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    for expected in ("row 2: address: ", "row 3: hash: give either a hash or a password",
                     "row 4: hash: not an {ARGON2ID}", "row 5: quota: ", "row 6: address: ok@example.org is also in row 1"):
        assert f"{source}: {expected}" in result.output
    assert "secret one" not in result.output and "secret two" not in result.output
    assert accounts_file.read_text() == before


def test_rows_the_inventory_refuses_stop_the_whole_import(cli: Cli, accounts_file: Path, tmp_path: Path) -> None:
    before = accounts_file.read_text()
    source = tmp_path / "users.json"
    source.write_text(json.dumps([{"address": "new@example.org", "hash": SHA},
                                  {"address": "postmaster@example.org", "hash": SHA},
                                  {"address": "x@unknown.example", "hash": SHA}]))
    result = cli("user", "import", str(source))
    assert result.exit_code == 2
    assert f"{source}: row 2: address: postmaster@example.org already has a mailbox" in result.output
    assert f"{source}: row 3: address: unknown.example is not a mail domain here" in result.output
    assert accounts_file.read_text() == before


def test_bad_files(cli: Cli, accounts_file: Path, tmp_path: Path) -> None:
    before = accounts_file.read_text()
    cases = {"a.csv": "mail,hash\nx@example.org,h\n", "b.json": "[{\"address\": ", "c.json": "{}",
             "d.csv": "address,hash\n", "e.json": json.dumps([{"address": "x@example.org", "hash": SHA, "x": 1}])}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        result = cli("user", "import", str(tmp_path / name))
        assert result.exit_code == 2, (name, result.output)
        assert f"{tmp_path / name}: " in result.output and "Traceback" not in result.output
    assert accounts_file.read_text() == before


def test_ten_thousand_rows_in_one_edit(cli: Cli, inventory: Path, tmp_path: Path) -> None:
    source = tmp_path / "big.csv"
    source.write_text("address,hash,quota\n" + "".join(f"user{n:05d}@example.org,{SHA},100M\n" for n in range(10_000)))
    result = cli("user", "import", str(source))
    assert result.exit_code == 0, result.output
    assert "Added 10000 mailboxes" in result.output
    assert len(load_inventory(inventory).mailboxes) == 10_001


def test_an_unquoted_argon2_hash_in_csv_is_explained(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "users.csv"
    argon = "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$" + "A" * 43
    source.write_text(f"address,hash,quota\nz@example.org,{argon},1G\n")
    result = cli("user", "import", str(source))
    assert result.exit_code == 2
    assert f"{source}: row 1: hash: an argon2 hash holds commas, so CSV split it" in result.output
    source.write_text(f'address,hash,quota\nz@example.org,"{argon}",1G\n')
    assert cli("user", "import", str(source)).exit_code == 0


def test_json_values_that_are_not_text(cli: Cli, accounts_file: Path, tmp_path: Path) -> None:
    before = accounts_file.read_text()
    source = tmp_path / "users.json"
    source.write_text(json.dumps([{"address": 5, "hash": SHA}, {"address": "q@example.org", "password": ["x"]}, 7]))
    result = cli("user", "import", str(source))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{source}: row 1: address: expected text, found int" in result.output
    assert f"{source}: row 2: password: expected text, found list" in result.output
    assert f"{source}: row 3: " in result.output
    assert accounts_file.read_text() == before
