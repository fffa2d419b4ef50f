"""`mailprov user import FILE`: mailboxes from a CSV or JSON file, all in one edit or none.

A row is `address`, then either `hash` (an existing {ARGON2ID}, {SHA512-CRYPT} or {BLF-CRYPT}
hash, with or without the prefix) or `password` (hashed here with argon2id; the plaintext is
never stored or printed), and an optional `quota`. CSV has a header line naming the columns;
JSON is a list of objects with the same keys. Row 1 is the first mailbox (after the header).

Every row is checked before anything is hashed or written; every problem is reported as
`FILE: row N: FIELD: problem (fix)`. The mailboxes then go in through the same single
`edit_accounts` as `user add`, so an unknown domain or an existing mailbox stops the whole
import and nothing is written.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.inventory import accounts as edits
from provisioner.inventory.names import InvalidName, normalize_address
from provisioner.inventory.passwords import UnrecognisedHash, hash_password, normalize_imported_hash
from provisioner.inventory.reader import MAX_QUOTA_TEXT, normalize_quota, quota_problem
from provisioner.inventory.store import edit_accounts, read_text
from provisioner.problems import InventoryInvalid, Problem, UsageError, clip, shown

COLUMNS = ("address", "hash", "password", "quota")
MAX_BYTES = 64 * 1024 * 1024
MAX_PROBLEMS = 50
FORMAT_HELP = "a header line `address,hash,quota` (or `password` instead of `hash`) for CSV, " \
              "a list of {\"address\": ..., \"hash\": ..., \"quota\": ...} objects for JSON"


@dataclass(frozen=True)
class ImportRow:
    row: int
    address: str
    password_hash: str | None
    quota: str | None
    password: str | None = field(default=None, repr=False)  # plaintext: hashed, never kept


def read_rows(path: Path) -> list[ImportRow]:
    """The checked rows of FILE, or InventoryInvalid listing every bad row."""
    if path.exists() and path.stat().st_size > MAX_BYTES:
        raise InventoryInvalid([Problem(str(path), "(file)", f"larger than {MAX_BYTES >> 20} MiB",
                                        "split it into several imports")])
    text = read_text(path).removeprefix("\ufeff")
    raw = _json_rows(path, text) if _is_json(path, text) else _csv_rows(path, text)
    problems: list[Problem] = []
    rows: list[ImportRow] = []
    seen: dict[str, int] = {}
    for number, values in enumerate(raw, start=1):
        row = _check_row(str(path), number, values, problems)
        if row is None:
            continue
        if row.address in seen:
            problems.append(Problem(str(path), f"row {number}: address",
                                    f"{row.address} is also in row {seen[row.address]}", "keep one of the rows"))
        seen.setdefault(row.address, number)
        rows.append(row)
    if not raw:
        problems.append(Problem(str(path), "(file)", "no mailboxes in it", FORMAT_HELP))
    if len(problems) > MAX_PROBLEMS:
        problems[MAX_PROBLEMS:] = [Problem(str(path), "(file)", f"{len(problems) - MAX_PROBLEMS} more problems",
                                           "fix the ones above first")]
    if problems:
        raise InventoryInvalid(problems)
    return rows


def key_is_rest(keys: list[Any]) -> bool:
    """CSV puts the values past the header's columns under the key "" (restkey)."""
    return keys == [""]


def _is_json(path: Path, text: str) -> bool:
    suffix = path.suffix.lower()
    return suffix == ".json" or (suffix != ".csv" and text.lstrip().startswith(("[", "{")))


def _json_rows(path: Path, text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InventoryInvalid([Problem(str(path), f"line {err.lineno}", f"not valid JSON: {err.msg}",
                                        FORMAT_HELP)]) from None
    if not isinstance(data, list):
        raise InventoryInvalid([Problem(str(path), "(file)", "not a JSON list", FORMAT_HELP)])
    return [item if isinstance(item, dict) else {"": item} for item in data]


def _csv_rows(path: Path, text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey="", restval=None)
    header = [name.strip().lower() for name in reader.fieldnames or []]
    unknown = [name for name in header if name not in (*COLUMNS, "password_hash")]
    if "address" not in header or unknown:
        why = f"unknown column {shown(unknown[0])}" if unknown else "no `address` column in the header line"
        raise InventoryInvalid([Problem(str(path), "line 1", why, FORMAT_HELP)])
    reader.fieldnames = ["hash" if name == "password_hash" else name for name in header]
    try:
        return [row for row in reader if any((v or "").strip() for v in row.values() if isinstance(v, str))]
    except csv.Error as err:
        raise InventoryInvalid([Problem(str(path), f"line {reader.line_num}", f"not valid CSV: {err}",
                                        FORMAT_HELP)]) from None


def _check_row(file: str, number: int, values: dict[str, Any], problems: list[Problem]) -> ImportRow | None:
    before = len(problems)

    def problem(column: str, why: str, fix: str) -> None:
        problems.append(Problem(file, f"row {number}: {column}", why, fix))

    extra = [key for key in values if key not in COLUMNS]
    if extra and key_is_rest(extra) and str(values.get("hash") or "").lstrip("{").lower().startswith(
            ("argon2", "$argon2")):
        problem("hash", "an argon2 hash holds commas, so CSV split it",
                'put the hash in double quotes: "{ARGON2ID}$..."')
        return None
    if extra:
        problem(str(extra[0]) or "(row)", "not a column of an import (or more values than columns)",
                "give address, hash or password, and quota")
    text = {key: values.get(key) for key in COLUMNS}
    for key, value in text.items():
        if value is not None and not isinstance(value, str):
            problem(key, f"expected text, found {type(value).__name__}", "write it as a string")
    # Only text goes on (a number or list was reported above); a password keeps its spaces.
    clean = {k: ((v if k == "password" else v.strip()) or None) if isinstance(v, str) else None
             for k, v in text.items()}
    address = None
    try:
        address = normalize_address(clean["address"] or "")
    except InvalidName as err:
        problem("address", str(err) if clean["address"] else "missing", "write a mail address like user@example.org")
    password_hash, password = clean["hash"], clean["password"]
    if (password_hash is None) == (password is None):
        problem("hash", "give either a hash or a password" if password_hash is None else "both a hash and a password",
                "fill exactly one of the two columns")
    elif password_hash is not None:
        try:
            password_hash = normalize_imported_hash(password_hash)
        except UnrecognisedHash as err:
            problem("hash", str(err), "export the hash in Dovecot's format, or give a `password` instead")
    quota = clean["quota"]
    if quota is not None:
        normalized, why = normalize_quota(quota), quota_problem(quota)
        if normalized is None or why is not None:
            problem("quota", why or f"{clip(shown(quota))} is not a size", f"write a size such as 500M or 2G, "
                    f"at most {MAX_QUOTA_TEXT}")
        quota = normalized
    if len(problems) > before or address is None:
        return None
    return ImportRow(number, address, password_hash, quota, password)


def hash_rows(rows: list[ImportRow], hasher: Callable[[str], str] = hash_password) -> list[ImportRow]:
    """Every row with a hash: plaintext passwords hashed (argon2id, on every core), then dropped."""
    plain = [row for row in rows if row.password is not None]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # argon2 releases the GIL
        hashes = dict(zip((row.row for row in plain), pool.map(hasher, (r.password or "" for r in plain)),
                          strict=True))
    return [ImportRow(row.row, row.address, hashes.get(row.row, row.password_hash), row.quota) for row in rows]


def add_rows(domains: list[Any], file: str, rows: Iterable[ImportRow]) -> list[str]:
    """Add every row in the open edit; InventoryInvalid (every refused row) adds none."""
    problems: list[Problem] = []
    added: list[str] = []
    for row in rows:
        try:
            added.append(edits.add_mailbox(domains, row.address, row.password_hash or "", row.quota))
        except UsageError as err:
            problems.append(Problem(file, f"row {row.row}: address", str(err).split(";")[0],
                                    "add the domain first, or leave the row out"))
    if problems:
        raise InventoryInvalid(problems)
    return added


def import_file(inventory: Path, path: Path) -> list[str]:
    """Read, check, hash and add every mailbox of `path`: all of them, or none."""
    rows = hash_rows(read_rows(path))
    with edit_accounts(inventory) as domains:
        return add_rows(domains, str(path), rows)
