"""Protection settings (issue 13 items 1, 2): mail_bans, mail_sending_limit and
mailboxes[].sending_limit validated in Python, and pinned to the roles' defaults and
argument specs (one rule, two sides)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from role_render import render

from provisioner.inventory.model import DEFAULT_SENDING_LIMIT, Bans
from provisioner.inventory.passwords import hash_password
from provisioner.inventory.protection import BANS_KEYS, duration_seconds
from provisioner.inventory.store import load_inventory
from provisioner.problems import InventoryInvalid
from provisioner.resources import resource_path

MAIN = "group_vars/mailservers/main.yml"
ACCOUNTS = "group_vars/mailservers/accounts.yml"
ROLES = resource_path("roles")


def problems(inventory: Path) -> list[str]:
    with pytest.raises(InventoryInvalid) as caught:
        load_inventory(inventory)
    return [str(p) for p in caught.value.problems]


def main_yml(inventory: Path, extra: str) -> None:
    (inventory / MAIN).write_text("mail_hostname: mail.example.org\n" + extra, encoding="utf-8")


def test_defaults(inventory: Path) -> None:
    settings = load_inventory(inventory).settings
    assert settings.bans == Bans(5, "10m", "1h", ())
    assert settings.sending_limit == DEFAULT_SENDING_LIMIT == 100


def test_settings_are_read(inventory: Path) -> None:
    main_yml(inventory, "mail_bans: {max_failures: 3, find_time: 600, ban_time: 1d, "
             "ignore: [203.0.113.7, 198.51.100.0/24, '2001:db8::/48', 192.0.2.1/24]}\nmail_sending_limit: 500\n")
    settings = load_inventory(inventory).settings
    assert settings.bans == Bans(3, "600", "1d", ("203.0.113.7/32", "198.51.100.0/24", "2001:db8::/48",
                                                  "192.0.2.0/24"))
    assert settings.sending_limit == 500


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("mail_bans: {max_failures: 0}\n", "mail_bans.max_failures: 0 is not a number from 1 to 100"),
        ("mail_bans: {max_failures: many}\n", "mail_bans.max_failures: 'many' is not a number from 1 to 100"),
        ("mail_bans: {ban_time: forever}\n", "mail_bans.ban_time: 'forever' is not a duration up to a year"),
        ("mail_bans: {ban_time: -1}\n", "mail_bans.ban_time: -1 is not a duration up to a year"),
        ("mail_bans: {find_time: 2y}\n", "mail_bans.find_time: '2y' is not a duration"),
        ("mail_bans: {ignore: [10.0.0.300]}\n", "mail_bans.ignore[0]: '10.0.0.300' is not an address or network"),
        ("mail_bans: {ignore: 10.0.0.0/8}\n", "mail_bans.ignore: a single value (write a list: ignore: [10.0.0.0/8])"),
        ("mail_bans: {max_fail: 3}\n", "mail_bans.max_fail: unknown key (did you mean 'max_failures'?)"),
        ("mail_bans: 5\n", "mail_bans: expected a mapping with max_failures"),
        ("mail_sending_limit: 0\n", "mail_sending_limit: 0 is not a number of messages per hour from 1 to 100000"),
        ("mail_sending_limit: lots\n", "mail_sending_limit: 'lots' is not a number of messages per hour"),
    ],
)
def test_settings_rules(inventory: Path, extra: str, expected: str) -> None:
    main_yml(inventory, extra)
    found = problems(inventory)
    assert any(expected in p and p.startswith(str(inventory / MAIN)) for p in found), found


def test_a_mailbox_sending_limit(inventory: Path) -> None:
    hashed = hash_password("pw")
    body = ("mail_domains:\n  - name: example.org\n    mailboxes:\n"
            f"      - {{address: a@example.org, password: \"{hashed}\", sending_limit: 500}}\n"
            f"      - {{address: b@example.org, password: \"{hashed}\"}}\n")
    (inventory / ACCOUNTS).write_text(body, encoding="utf-8")
    boxes = load_inventory(inventory).mailboxes
    assert [m.sending_limit for m in boxes] == [500, None]
    (inventory / ACCOUNTS).write_text(body.replace("sending_limit: 500", "sending_limit: -3"), encoding="utf-8")
    assert any("mail_domains[example.org].mailboxes[a@example.org].sending_limit: -3 is not a number of messages"
               in p for p in problems(inventory))


def test_durations() -> None:
    assert [duration_seconds(v) for v in (600, "600", "10m", "1h", "1d", "1w", "20s")] == [
        600, 600, 600, 3600, 86400, 604800, 20]
    assert [duration_seconds(v) for v in (0, "0", "1y", "", True, 1.5, "53w", None)] == [None] * 8


# -- one rule, two sides: the roles agree with the Python defaults ------------------------------

def _vars(role: str) -> str:
    return (ROLES / role / "vars" / "main.yml").read_text(encoding="utf-8")


def test_the_bans_role_has_the_python_defaults() -> None:
    text = _vars("bans")
    assert f".max_failures | default({Bans.max_failures})" in text
    assert f".find_time | default('{Bans.find_time}')" in text
    assert f".ban_time | default('{Bans.ban_time}')" in text
    assert "['127.0.0.1/32', '::1']" in text
    spec = yaml.safe_load((ROLES / "bans" / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
    assert set(spec["argument_specs"]["main"]["options"]["mail_bans"]["options"]) == set(BANS_KEYS)


def test_the_rspamd_role_has_the_default_sending_limit() -> None:
    assert re.search(rf"mail_sending_limit \| default\({DEFAULT_SENDING_LIMIT}\)", _vars("rspamd"))


def test_the_jails_are_data_and_roundcube_waits_for_webmail() -> None:
    jails = {j["name"]: j for j in yaml.safe_load(_vars("bans"))["bans_jails"]}
    assert set(jails) == {"postfix-sasl", "dovecot", "roundcube-auth"}
    assert jails["roundcube-auth"]["enabled"] == "{{ (mail_webmail | default({})).enabled | default(false) }}"
    assert jails["roundcube-auth"]["logpath"] == "/var/log/roundcube/errors.log"
    assert jails["roundcube-auth"]["filter"] == "roundcube-auth"


# -- the templates, rendered by Ansible's own templating (no host) ------------------------------

def test_the_jails_render_from_mail_bans() -> None:
    inventory = {"mail_hostname": "mail.example.org", "mail_bans": {"max_failures": 3, "ban_time": "20s",
                                                                    "ignore": ["198.51.100.0/24"]}}
    text = render("bans", "mailprov.local.j2", inventory)
    assert "ignoreip = 127.0.0.1/32 ::1 198.51.100.0/24\nmaxretry = 3\nfindtime = 10m\nbantime = 20s\n" in text
    assert "banaction = nftables-multiport\n" in text and "backend = systemd\n" in text
    assert "[postfix-sasl]\nenabled = true\nfilter = postfix[mode=auth]\nport = 465,587,143,993,110,995,4190,80,443\n" \
        in text
    assert "[dovecot]\nenabled = true\nfilter = mailprov-dovecot\n" in text
    assert "roundcube" not in text
    webmail = render("bans", "mailprov.local.j2", {**inventory, "mail_webmail": {"enabled": True}})
    assert ("[roundcube-auth]\nenabled = true\nfilter = roundcube-auth\nport = 465,587,143,993,110,995,4190,80,443\n"
            "backend = auto\nlogpath = /var/log/roundcube/errors.log\n") in webmail


def test_the_sending_limits_render_per_mailbox() -> None:
    box = {"password": "{ARGON2ID}x"}
    domains = [{"name": "example.org", "mailboxes": [
        {**box, "address": "a@example.org"}, {**box, "address": "News@example.org", "sending_limit": 500},
        {**box, "address": "b@example.org", "sending_limit": 500}, {**box, "address": "c@example.org",
                                                                    "sending_limit": 5}]}]
    text = render("rspamd", "ratelimit.conf.j2", {"mail_domains": domains, "mail_sending_limit": 50})
    assert ('selector = "user.lower.not_in(\'news@example.org\', \'b@example.org\', \'c@example.org\')";\n'
            "    bucket {\n      burst = 50;\n      rate = \"50 / 1h\";\n") in text
    assert 'selector = "user.lower.in(\'news@example.org\', \'b@example.org\')";\n    bucket {\n      burst = 500;' in text
    assert "mailprov_user_5 {" in text and "user.lower.in('c@example.org')" in text
    plain = render("rspamd", "ratelimit.conf.j2", {"mail_domains": []})
    assert 'selector = "user.lower";' in plain and "burst = 100;" in plain
