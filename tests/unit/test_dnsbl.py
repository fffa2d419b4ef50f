"""mail_dnsbl: validated in Python, the same switches in the roles' argument specs and vars,
rendered into postscreen's sites and rspamd's rbl module (docs/filtering.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from role_render import ROLES, load, render, value

from provisioner.inventory import dnsbl
from provisioner.inventory.store import load_inventory
from provisioner.problems import InventoryInvalid

MAIN = "group_vars/mailservers/main.yml"
BASE = {"mail_hostname": "mail.example.org", "mail_domains": []}


def _spec_options(role: str) -> dict[str, Any]:
    options = load(ROLES / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    return dict(options["mail_dnsbl"]["options"])


def test_the_switches_are_the_same_in_python_and_both_argument_specs() -> None:
    for role in ("postfix", "rspamd"):
        options = _spec_options(role)
        assert tuple(options) == dnsbl.KEYS, role
        assert all(option["type"] == "bool" for option in options.values())


def test_every_list_python_knows_has_a_site_in_the_postfix_role() -> None:
    lists = load(ROLES / "postfix" / "vars" / "main.yml")["postfix_dnsbl_lists"]
    assert tuple(lists) == dnsbl.LISTS


def test_all_lists_are_on_by_default() -> None:
    sites = value(BASE, "postfix_dnsbl_sites")
    assert sites == ["zen.spamhaus.org=127.0.0.[2..11]*3", "bl.spamcop.net*2", "psbl.surriel.com*2",
                     "list.dnswl.org=127.0.[0..255].[2..3]*-2"]
    main_cf = render("postfix", "main.cf.j2", BASE)
    assert "postscreen_dnsbl_sites = zen.spamhaus.org=127.0.0.[2..11]*3, bl.spamcop.net*2," in main_cf
    rbl = render("rspamd", "rbl.conf.j2", BASE)
    assert "enabled = false" not in rbl


def test_each_list_turns_off_on_its_own() -> None:
    settings = {**BASE, "mail_dnsbl": {"spamcop": False, "spamhaus": False, "rspamd": False}}
    assert value(settings, "postfix_dnsbl_sites") == ["psbl.surriel.com*2", "list.dnswl.org=127.0.[0..255].[2..3]*-2"]
    rbl = render("rspamd", "rbl.conf.j2", settings)
    assert "\nenabled = false;\nrbls {" in rbl
    assert "spamhaus {\n    enabled = false;" in rbl
    assert "dnswl {\n    enabled = true;" in rbl


def test_every_list_off_leaves_postscreen_without_dnsbl() -> None:
    settings = {**BASE, "mail_dnsbl": dict.fromkeys(dnsbl.KEYS, False)}
    assert "postscreen_dnsbl_sites = \n" in render("postfix", "main.cf.j2", settings)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail_dnsbl: {spamhaus: no-thanks}\n", "mail_dnsbl.spamhaus: 'no-thanks' is not true or false (write spamhaus: false"),
        ("mail_dnsbl: {spamhouse: false}\n", "mail_dnsbl.spamhouse: unknown key (did you mean 'spamhaus'?)"),
        ("mail_dnsbl: [spamhaus]\n", "mail_dnsbl: expected a mapping of spamhaus, spamcop, psbl, dnswl, rspamd"),
    ],
)
def test_bad_switches_are_refused_before_ansible(inventory: Path, text: str, expected: str) -> None:
    (inventory / MAIN).write_text("mail_hostname: mail.example.org\n" + text, encoding="utf-8")
    with pytest.raises(InventoryInvalid) as caught:
        load_inventory(inventory)
    found = [str(p) for p in caught.value.problems]
    assert len(found) == 1 and expected in found[0] and MAIN in found[0], found


def test_good_switches_load(inventory: Path) -> None:
    (inventory / MAIN).write_text("mail_hostname: mail.example.org\nmail_dnsbl: {spamcop: false, rspamd: true}\n",
                                  encoding="utf-8")
    load_inventory(inventory)
