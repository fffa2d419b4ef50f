"""The account tables, computed without a server (filter plugin)."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[3] / "roles" / "mail_accounts" / "filter_plugins" / "mailprov_accounts.py"
_spec = importlib.util.spec_from_file_location("mailprov_accounts", PLUGIN)
assert _spec is not None and _spec.loader is not None
accounts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(accounts)

DOMAINS = [
    {
        "name": "example.org",
        "alias_domains": ["example.net"],
        "catch_all": "postmaster@example.org",
        "mailboxes": [
            {"address": "alice@example.org", "password": "{ARGON2ID}x", "quota": "2G", "aliases": ["a@example.org"]},
            {"address": "postmaster@example.org", "password": "{BLF-CRYPT}y"},
        ],
        "aliases": [{"source": "info@example.org", "targets": ["alice@example.org", "bob@example.com"]}],
    },
    {"name": "other.org", "mailboxes": [], "aliases": [{"source": "x@other.org", "targets": ["y@example.com"]}]},
]


def _entries(text: str) -> dict[str, str]:
    result = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            result[key] = value
    return result


def test_virtual_aliases() -> None:
    aliases = _entries(accounts.virtual_aliases(DOMAINS))
    assert aliases["alice@example.org"] == "alice@example.org"  # wins over the catch-all
    assert aliases["a@example.org"] == "alice@example.org"
    assert aliases["info@example.org"] == "alice@example.org, bob@example.com"
    assert aliases["@example.org"] == "postmaster@example.org"  # a string catch-all is one target
    assert aliases["alice@example.net"] == "alice@example.org"
    assert aliases["info@example.net"] == "info@example.org"
    assert aliases["@example.net"] == "postmaster@example.org"
    assert "@other.org" not in aliases
    assert aliases["x@other.org"] == "y@example.com"


def test_sender_logins() -> None:
    logins = _entries(accounts.sender_logins(DOMAINS))
    assert logins["alice@example.org"] == "alice@example.org"
    assert logins["a@example.org"] == "alice@example.org"
    assert logins["info@example.org"] == "alice@example.org"  # only local targets may send as an alias
    assert logins["a@example.net"] == "alice@example.org"
    assert "x@other.org" not in logins  # nobody local behind it
    assert not any(key.startswith("@") for key in logins)


# Explicit entries in an alias domain (the CLI allows them as overrides).
OVERRIDES = [
    {
        "name": "example.org",
        "alias_domains": ["example.net"],
        "catch_all": "postmaster@example.org",
        "mailboxes": [
            {"address": "alice@example.org", "password": "x", "aliases": ["alice@example.net", "a@example.org"]},
            {"address": "postmaster@example.org", "password": "y"},
        ],
        "aliases": [
            {"source": "special@example.org", "targets": ["alice@example.org"]},
            {"source": "special@example.net", "targets": ["postmaster@example.org"]},
        ],
    },
]


def _keys(text: str) -> list[str]:
    return [line.partition(" ")[0] for line in text.splitlines() if line and not line.startswith("#")]


def test_explicit_alias_domain_entries_win_without_duplicates() -> None:
    text = accounts.virtual_aliases(OVERRIDES)
    keys = _keys(text)
    assert len(keys) == len(set(keys)), text  # postmap would warn "duplicate entry"
    aliases = _entries(text)
    assert aliases["special@example.net"] == "postmaster@example.org"  # the override, not special@example.org
    assert aliases["alice@example.net"] == "alice@example.org"  # not mapped to itself
    assert aliases["a@example.net"] == "a@example.org"
    assert aliases["@example.net"] == "postmaster@example.org"


def test_explicit_sender_logins_win_without_duplicates() -> None:
    text = accounts.sender_logins(OVERRIDES)
    keys = _keys(text)
    assert len(keys) == len(set(keys)), text
    logins = _entries(text)
    assert logins["special@example.net"] == "postmaster@example.org"
    assert logins["special@example.org"] == "alice@example.org"
    assert logins["alice@example.net"] == "alice@example.org"


def test_domains_and_mailboxes() -> None:
    assert accounts.virtual_mailbox_domains(DOMAINS) == "example.org OK\nother.org OK\n"
    assert accounts.virtual_alias_domains(DOMAINS) == "example.net OK\n"
    assert accounts.virtual_mailboxes(DOMAINS) == "alice@example.org OK\npostmaster@example.org OK\n"


def test_passwd_file() -> None:
    text = accounts.passwd_file(DOMAINS, "userdb_quota_storage_size=")
    assert text.splitlines() == [
        "alice@example.org:{ARGON2ID}x::::::userdb_quota_storage_size=2G",
        "postmaster@example.org:{BLF-CRYPT}y::::::",
    ]


def test_ten_thousand_mailboxes_are_fast() -> None:
    domains = [
        {
            "name": f"d{d}.test",
            "alias_domains": [f"a{d}.test"],
            "catch_all": [f"u0@d{d}.test"],
            "mailboxes": [
                {"address": f"u{i}@d{d}.test", "password": "{ARGON2ID}h", "quota": "1G", "aliases": [f"x{i}@d{d}.test"]}
                for i in range(1000)
            ],
            "aliases": [{"source": f"t{i}@d{d}.test", "targets": [f"u{i}@d{d}.test"]} for i in range(100)],
        }
        for d in range(10)
    ]
    start = time.perf_counter()
    tables = accounts.account_tables(domains, "userdb_quota_storage_size=")
    elapsed = time.perf_counter() - start
    assert len(tables["users"].splitlines()) == 10_000
    print(f"10,000 mailboxes: {elapsed:.3f} s")  # a figure, not a timed assertion


def test_idn_domain_served_in_both_forms() -> None:
    """An IDN domain (stored as A-label) also answers to its U-label: RCPT, sender, login."""
    domains = [
        {
            "name": "xn--bcher-kva.test",
            "alias_domains": ["xn--mller-kva.test"],
            "mailboxes": [{"address": "idn@xn--bcher-kva.test", "password": "{X}y", "quota": "1G"}],
        }
    ]
    tables = accounts.account_tables(domains, "q=")
    assert accounts.u_label("xn--bcher-kva.test") == "bücher.test"
    assert set(tables["virtual_alias_domains"].split("\n")) >= {"bücher.test OK", "müller.test OK"}
    assert _entries(tables["virtual_aliases"])["idn@bücher.test"] == "idn@xn--bcher-kva.test"
    assert _entries(tables["virtual_aliases"])["idn@müller.test"] == "idn@xn--bcher-kva.test"
    assert _entries(tables["sender_logins"])["idn@bücher.test"] == "idn@xn--bcher-kva.test"
    assert "idn@bücher.test:{X}y::::::user=idn@xn--bcher-kva.test q=1G" in tables["users"].splitlines()
    assert "xn--bcher-kva.test OK" in tables["virtual_mailbox_domains"]
    assert "bücher" not in tables["virtual_mailbox_domains"]
