"""Many account edits in one `edit_accounts`: indexed lookups, comments kept, the same result.

No timing is asserted here (bench/bench_edits.py prints the figures); these pin that the fast
paths give exactly what the old linear ones gave.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.inventory import accounts as edits
from provisioner.inventory.store import edit_accounts, load_inventory
from provisioner.problems import UsageError

HASH = "{SHA512-CRYPT}$6$saltsalt$" + "a" * 86
N = 10_000


def test_ten_thousand_added_then_removed_in_one_edit_each(inventory: Path, accounts_file: Path) -> None:
    before = accounts_file.read_text()
    with edit_accounts(inventory) as domains:
        for n in range(N):
            edits.add_mailbox(domains, f"user{n:05d}@example.org", HASH, "100M")
    added = accounts_file.read_text()
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert comments and all(line in added.splitlines() for line in comments)
    assert len(load_inventory(inventory).mailboxes) == N + 1
    with edit_accounts(inventory) as domains:
        for n in range(N):
            edits.remove_mailbox(domains, f"user{n:05d}@example.org")
    assert accounts_file.read_text() == before


def test_scattered_removals_keep_comments_between_entries(inventory: Path, accounts_file: Path) -> None:
    with edit_accounts(inventory) as domains:
        for n in range(20):
            edits.add_mailbox(domains, f"user{n:02d}@example.org", HASH, None)
    text = accounts_file.read_text().replace("      - address: user10@", "      # keep me\n      - address: user10@")
    accounts_file.write_text(text)
    with edit_accounts(inventory) as domains:
        for n in (19, 3, 7, 11, 0):
            edits.remove_mailbox(domains, f"user{n:02d}@example.org")
    after = accounts_file.read_text()
    assert "# keep me" in after
    left = [m.address for m in load_inventory(inventory).mailboxes]
    assert left == ["postmaster@example.org", *(f"user{n:02d}@example.org" for n in range(20)
                                                if n not in (19, 3, 7, 11, 0))]


def test_the_index_follows_adds_removes_and_readds(inventory: Path) -> None:
    with edit_accounts(inventory) as domains:
        for n in range(50):
            edits.add_mailbox(domains, f"u{n}@example.org", HASH, None)
        with pytest.raises(UsageError, match="already has a mailbox"):
            edits.add_mailbox(domains, "u7@example.org", HASH, None)
        for n in range(0, 50, 2):
            edits.remove_mailbox(domains, f"u{n}@example.org")
        with pytest.raises(UsageError, match="has no mailbox"):
            edits.remove_mailbox(domains, "u4@example.org")
        edits.add_mailbox(domains, "u4@example.org", HASH, None)
        edits.set_password(domains, "u49@example.org", HASH.replace("saltsalt", "pepper12"))
        edits.remove_mailbox(domains, "u49@example.org")
    addresses = [m.address for m in load_inventory(inventory).mailboxes]
    assert addresses == ["postmaster@example.org", *(f"u{n}@example.org" for n in range(1, 49, 2)), "u4@example.org"]


def test_edits_made_behind_the_index_are_noticed(inventory: Path) -> None:
    """A caller that changes the lists directly gets answers from the list, not a stale index."""
    with edit_accounts(inventory) as domains:
        edits.add_mailbox(domains, "a@example.org", HASH, None)
        mailboxes = domains[0]["mailboxes"]
        mailboxes.insert(0, {"address": "b@example.org", "password": HASH})
        with pytest.raises(UsageError, match="already has a mailbox"):
            edits.add_mailbox(domains, "b@example.org", HASH, None)
        edits.remove_mailbox(domains, "a@example.org")
        domains.append({"name": "example.com", "mailboxes": []})
        edits.add_mailbox(domains, "c@example.com", HASH, None)
    addresses = {m.address for m in load_inventory(inventory).mailboxes}
    assert addresses == {"b@example.org", "postmaster@example.org", "c@example.com"}


def test_domains_added_and_removed_in_the_same_edit(inventory: Path) -> None:
    with edit_accounts(inventory) as domains:
        for n in range(30):
            edits.add_domain(domains, f"d{n}.example")
            edits.add_mailbox(domains, f"x@d{n}.example", HASH, None)
        edits.remove_domain(domains, "d3.example", force=True)
        edits.add_domain(domains, "alias.example", alias_of="d4.example")
        with pytest.raises(UsageError, match="already a mail domain"):
            edits.add_domain(domains, "alias.example")
        edits.add_mailbox(domains, "y@d5.example", HASH, None)
    inv = load_inventory(inventory)
    assert "d3.example" not in {d.name for d in inv.domains}
    assert {"x@d5.example", "y@d5.example"} <= {m.address for m in inv.mailboxes}
