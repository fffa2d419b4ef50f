"""Non-ASCII local parts are refused for hosts whose release cannot deliver them."""

from __future__ import annotations

from provisioner.inventory.consistency import check_release
from provisioner.inventory.model import Alias, Domain, Host, Mailbox
from provisioner.inventory.reader import Collector

DOMAINS = (
    Domain("example.org", mailboxes=(Mailbox("jörg@example.org", "{X}y"),),
           aliases=(Alias("info@example.org", ("müller@example.net",)),)),
)  # fmt: skip


def _problems(*releases: str | None) -> list[str]:
    hosts = [Host(f"h{n}", {} if r is None else {"mailprov_release": r}) for n, r in enumerate(releases)]
    out = Collector()
    check_release("accounts.yml", hosts, DOMAINS, out)
    return [f"{p.field}: {p.message} ({p.fix})" for p in out.problems]


def test_trixie_and_undeclared_hosts_take_them() -> None:
    # Undeclared: the mail_accounts role refuses them on a Debian 12 host at deploy time.
    assert _problems("trixie", None) == []


def test_a_bookworm_host_refuses_them_naming_the_release() -> None:
    problems = _problems("trixie", "bookworm")
    assert len(problems) == 2
    assert all("Debian 12 (bookworm)" in p and "SMTPUTF8" in p and "trixie" in p for p in problems)
    assert any("mailboxes[jörg@example.org]" in p for p in problems)
    assert any("targets" in p for p in problems)
