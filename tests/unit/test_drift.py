"""Rules that Python and the roles share: each test reads both sides and fails when they differ.

(The habit of trailofbits/algo's tests/unit/test_supported_platforms.py.) Where a rule has one
home, the test proves the other side really reads it; where it is written twice, the test pins
the two copies together. Roles are read with PyYAML; role variables and templates are
evaluated with Ansible's own templating (tests/unit/role_render.py). No host, no container.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.plugins.filter.mathstuff import human_to_bytes
from role_render import ROLES, ROOT, load, release_file, render, role_names, value

from provisioner.dns import dkim
from provisioner.inventory import parse, role_vars
from provisioner.inventory.model import DEFAULT_MESSAGE_SIZE_LIMIT, TLS_MODES, Dkim, Spam, Tls
from provisioner.inventory.parse import ALIAS_KEYS, DOMAIN_KEYS, MAILBOX_KEYS, SETTINGS_KEYS
from provisioner.inventory.ports import PUBLIC_PORTS
from provisioner.inventory.reader import parse_size
from provisioner.inventory.releases import DEBIAN_MAJOR, RELEASES
from provisioner.inventory.store import load_inventory
from provisioner.probe.exposure import RSPAMD_CONTROLLER_PORT
from provisioner.problems import InventoryInvalid
from provisioner.providers import relay_presets
from provisioner.sandbox import container

MAIN = "group_vars/mailservers/main.yml"
HOSTNAME = "mail_hostname: mail.example.org\n"


def spec_options(role: str) -> dict[str, Any]:
    spec = load(ROLES / role / "meta" / "argument_specs.yml")
    return dict(spec["argument_specs"]["main"]["options"])


def problems_with(inventory: Path, main_yml: str) -> list[str]:
    (inventory / MAIN).write_text(main_yml, encoding="utf-8")
    try:
        load_inventory(inventory)
    except InventoryInvalid as invalid:
        return [str(p) for p in invalid.problems]
    return []


# --- Role variables: the roles/ folder is the list; defaults/ is what an inventory may set ----

def test_role_prefixes_are_the_role_folders() -> None:
    assert [r.name for r in role_vars.roles()] == role_names()
    for role in role_names():
        names = set(load(ROLES / role / "defaults" / "main.yml"))
        for path in sorted((ROLES / role / "vars").glob("*.yml")):
            names |= set(load(path))
        strays = sorted(n for n in names if not n.startswith(f"{role}_"))
        assert not strays, f"roles/{role}: variables without the role's prefix {role}_: {strays}"


def test_a_new_role_needs_no_python_change(tmp_path: Path) -> None:
    for name, defaults in (("mail_base", "mail_base_x: 1\n"), ("mail", "mail_y: 2\n"), ("acme", "acme_email: ''\n")):
        (tmp_path / name / "defaults").mkdir(parents=True)
        (tmp_path / name / "defaults" / "main.yml").write_text("---\n" + defaults)
    assert role_vars.role_for("acme_email", tmp_path).name == "acme"  # type: ignore[union-attr]
    assert role_vars.role_for("mail_base_x", tmp_path).name == "mail_base"  # type: ignore[union-attr]  # longest
    assert role_vars.role_for("nginx_port", tmp_path) is None
    assert role_vars.settable(tmp_path) == ("acme_email", "mail_base_x", "mail_y")


def test_no_role_prefix_swallows_a_mailprov_setting() -> None:
    for name in sorted(SETTINGS_KEYS | {parse.ACCOUNTS_KEY}):
        role = role_vars.role_for(name)
        assert role is None or name in role.defaults, f"{name} starts like role {role and role.name}"


def test_mail_common_overrides_that_docs_recommend_validate(inventory: Path) -> None:
    docs = (ROOT / "docs" / "roles.md").read_text(encoding="utf-8")
    section = docs[docs.index("## Role variables an operator may set"):docs.index("## Safety")]
    prefixes = tuple(f"{r}_" for r in role_names())
    named = sorted({n for n in re.findall(r"`([a-z0-9_]+)`", section) if n.startswith(prefixes)})
    assert "mail_common_vmail_uid" in named and "postfix_extra_config" in named
    settable = set(role_vars.settable())
    assert not [n for n in named if n not in settable], "docs/roles.md offers names the roles do not take"
    defaults: dict[str, Any] = {}
    for role in role_names():
        defaults.update(load(ROLES / role / "defaults" / "main.yml"))
    main_yml = HOSTNAME + "".join(f"{n}: {json.dumps(defaults[n])}\n"
                                  for n in named if not str(defaults[n]).startswith("{{"))
    assert problems_with(inventory, main_yml) == []


@pytest.mark.parametrize(("line", "expected"), [
    ("postfix_extra_confg: {}\n", "postfix_extra_confg: unknown setting (did you mean 'postfix_extra_config'?)"),
    ("mail_common_vmail_ui: 5001\n", "mail_common_vmail_ui: unknown setting (did you mean 'mail_common_vmail_uid'?)"),
    ("postfix_enable_smtputf8: 1\n", "postfix_enable_smtputf8: unknown setting (the postfix role's settings are in roles/postfix/defaults"),
    ("postfix_relay_port: 2525\n", "postfix_relay_port: computed by the postfix role, not a setting"),
    ("rspamd_dkim_dir: /srv/dkim\n", "rspamd_dkim_dir: computed by the rspamd role, not a setting"),
    ("rspamd_reject_score: 99\n", "rspamd_reject_score: computed by the rspamd role"),
    ("mail_accounts_domains: []\n", "mail_accounts_domains: computed by the mail_accounts role"),
])
def test_role_variables_outside_defaults_are_refused(inventory: Path, line: str, expected: str) -> None:
    found = problems_with(inventory, HOSTNAME + line)
    assert len(found) == 1 and expected in found[0], found


def test_defaults_hold_no_value_derived_from_the_settings() -> None:
    """A default computed from a mail_* setting would let an inventory bypass its validation."""
    settings = sorted(SETTINGS_KEYS | {parse.ACCOUNTS_KEY}, key=len, reverse=True)
    uses = re.compile(r"\b(" + "|".join(settings) + r")\b")
    # The certificate's installed path names the host; moving it is the operator's documented choice.
    chosen_paths = {"mail_common_tls_cert_path", "mail_common_tls_key_path"}
    for role in role_names():
        for name, default in load(ROLES / role / "defaults" / "main.yml").items():
            if name not in chosen_paths:
                assert not uses.search(str(default)), f"roles/{role}/defaults: {name} is derived: move it to vars/main.yml"


def test_argument_specs_document_exactly_the_settable_variables() -> None:
    for role in role_names():
        own = {n for n in spec_options(role) if n.startswith(f"{role}_")}
        assert own == set(load(ROLES / role / "defaults" / "main.yml")), role


def test_the_sandbox_sets_only_settable_variables() -> None:
    assert set(container.OFFLINE_VARS) <= set(role_vars.settable())


# --- Relay: tls and port --------------------------------------------------------------------

def test_relay_tls_modes_are_the_roles() -> None:
    relay = spec_options("postfix")["mail_relay"]["options"]
    assert tuple(relay["tls"]["choices"]) == relay_presets.TLS_MODES
    assert set(relay) == set(parse.RELAY_KEYS)


@pytest.mark.parametrize("relay", [
    {}, {"port": 465}, {"port": 587}, {"port": 2525}, {"tls": "implicit"}, {"tls": "starttls"},
    {"tls": "implicit", "port": 2465}, {"tls": "starttls", "port": 2525}, {"tls": "starttls", "port": 465},
])
def test_relay_port_and_tls_defaults_agree(inventory: Path, relay: dict[str, Any]) -> None:
    mail_relay = {"host": "smtp.example.net", **relay}
    found = problems_with(inventory, HOSTNAME + "mail_relay: " + yaml.safe_dump(mail_relay, default_flow_style=True))
    if found:  # refused in Python: the roles never see it
        assert relay == {"tls": "starttls", "port": 465}, found
        return
    parsed = load_inventory(inventory).settings.relay
    assert parsed is not None
    inv = {"mail_hostname": "mail.example.org", "mail_relay": mail_relay}
    assert (parsed.tls, parsed.port) == (value(inv, "postfix_relay_tls"), int(value(inv, "postfix_relay_port")))
    if "port" not in relay:
        assert parsed.port == relay_presets.DEFAULT_PORTS[parsed.tls]


# --- Defaults Python assumes and the roles apply --------------------------------------------

def test_spam_defaults() -> None:
    inv = {"mail_hostname": "mail.example.org"}
    assert float(value(inv, "rspamd_reject_score")) == Spam.reject_score
    assert float(value(inv, "rspamd_junk_score")) == Spam.junk_score
    assert value(inv, "rspamd_greylist") is Spam.greylist
    actions = render("rspamd", "actions.conf.j2", inv)
    assert f"reject = {Spam.reject_score:g};" in actions and f"add_header = {Spam.junk_score:g};" in actions


def test_dkim_selector_default_and_key_folder() -> None:
    inv = {"mail_hostname": "mail.example.org"}
    assert value(inv, "rspamd_dkim_selector") == Dkim.selector == dkim.DEFAULT_SELECTOR
    assert value({**inv, "mail_dkim": {"selector": "s2026"}}, "rspamd_dkim_selector") == "s2026"
    # One home: `mailprov dns` reads the folder from the role's vars/main.yml, where no inventory reaches.
    folder = value(inv, "rspamd_dkim_dir")
    assert dkim.key_path("example.org", "mail") == f"{folder}/example.org.mail.pub"
    assert "rspamd_dkim_dir" in load(ROLES / "rspamd" / "vars" / "main.yml")
    tasks = (ROLES / "rspamd" / "tasks" / "dkim.yml").read_text(encoding="utf-8")
    assert "{{ rspamd_dkim_dir }}/{{ item }}.{{ rspamd_dkim_selector }}.pub" in tasks


def test_message_size_default_and_notation() -> None:
    inv = {"mail_hostname": "mail.example.org"}
    assert human_to_bytes(value(inv, "postfix_message_size_limit")) == DEFAULT_MESSAGE_SIZE_LIMIT
    assert f"message_size_limit = {DEFAULT_MESSAGE_SIZE_LIMIT}\n" in render("postfix", "main.cf.j2", inv)
    for size in ("1M", "50M", "2G", "3T", "512K", "1048576"):  # what parse accepts, as Ansible reads it
        assert parse_size(size) == human_to_bytes(size), size


def test_tls_mode_default() -> None:
    assert value({"mail_hostname": "m.example.org"}, "mail_base_tls") == {"mode": Tls.mode}
    assert spec_options("mail_base")["mail_tls"]["options"]["mode"]["default"] == Tls.mode


def _modes_the_roles_accept() -> set[str]:
    """mail_tls.mode choices in the argument specs, narrowed by any assert on the mode in the tasks."""
    accepted = set(spec_options("mail_base")["mail_tls"]["options"]["mode"]["choices"])
    for tasks in sorted(ROLES.glob("*/tasks/*.yml")):
        for task in yaml.safe_load(tasks.read_text(encoding="utf-8")) or []:
            check = task.get("ansible.builtin.assert") or {}
            for condition in check.get("that", []):
                match = re.fullmatch(r"\s*\w*tls\.mode in (\[.*\])\s*", str(condition))
                if match:
                    accepted &= set(yaml.safe_load(match.group(1)))
    return accepted


def test_tls_modes_validated_are_the_modes_the_roles_declare() -> None:
    assert set(spec_options("mail_base")["mail_tls"]["options"]["mode"]["choices"]) == set(TLS_MODES)


@pytest.mark.xfail(strict=True, reason="issue 11: the roles refuse mail_tls.mode acme until the ACME role lands; "
                   "remove this marker when merging it")
def test_tls_modes_validated_are_the_modes_the_roles_accept() -> None:
    assert _modes_the_roles_accept() == set(TLS_MODES)


# --- Debian releases ------------------------------------------------------------------------

def test_releases_match_the_roles_platforms() -> None:
    assert set(RELEASES) == set(DEBIAN_MAJOR) and parse.RELEASE_VALUES == RELEASES
    for role in role_names():
        platforms = load(ROLES / role / "meta" / "main.yml")["galaxy_info"]["platforms"]
        assert platforms == [{"name": "Debian", "versions": sorted(RELEASES)}], role


def test_every_release_has_the_roles_vars() -> None:
    for role in role_names():
        tasks = (ROLES / role / "tasks" / "main.yml")
        if not tasks.is_file() or "include_vars" not in tasks.read_text(encoding="utf-8"):
            continue
        first = yaml.safe_load(tasks.read_text(encoding="utf-8"))[0]
        assert "first_found" in str(first["ansible.builtin.include_vars"]), role
        for release, major in DEBIAN_MAJOR.items():
            assert release_file(role, major) is not None, (
                f"roles/{role}: no vars/Debian-{major}.yml or vars/Debian.yml for {release}")
        # A release with nothing special has no file of its own (the fallback is vars/Debian.yml).
        files = sorted((ROLES / role / "vars").glob("Debian*.yml"))
        for path in files:
            if path.stem != "Debian":
                assert int(path.stem.removeprefix("Debian-")) in DEBIAN_MAJOR.values(), f"{path}: not a release of ours"
            same = [p.name for p in files if p != path and load(p) == load(path)]
            assert not same, f"{path} repeats {same}: keep one, as vars/Debian.yml"


def test_molecule_and_make_cover_every_release() -> None:
    molecule = load(ROOT / "molecule" / "default" / "molecule.yml")
    images = [p["image"] for p in molecule["platforms"]]
    assert images == [container.image_for(r) for r in RELEASES]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert f"RELEASES ?= {' '.join(RELEASES)}\n" in makefile


# --- Accounts -------------------------------------------------------------------------------

def test_account_shape_is_the_roles() -> None:
    domain = spec_options("mail_accounts")["mail_domains"]["options"]
    assert set(domain) == set(DOMAIN_KEYS)
    assert set(domain["mailboxes"]["options"]) == set(MAILBOX_KEYS)
    assert set(domain["aliases"]["options"]) == set(ALIAS_KEYS)


def test_account_tables_render_from_the_inventory() -> None:
    sys.path.insert(0, str(ROLES / "mail_accounts" / "filter_plugins"))
    try:
        import mailprov_accounts
    finally:
        sys.path.pop(0)
    inv = {"mail_hostname": "mail.example.org", "mail_domains": [
        {"name": "example.org", "alias_domains": ["example.net"], "catch_all": ["postmaster@example.org"],
         "mailboxes": [{"address": "a@example.org", "password": "{ARGON2ID}x", "quota": "2G", "aliases": []}],
         "aliases": [{"source": "info@example.org", "targets": ["a@example.org"]}]}]}
    for major in DEBIAN_MAJOR.values():
        domains = value(inv, "mail_accounts_domains", major)
        tables = mailprov_accounts.account_tables(domains, value(inv, "mail_accounts_quota_field", major))
        users = render("mail_accounts", "users.j2", inv, major, extra={"mail_accounts_tables": tables})
        assert "a@example.org:{ARGON2ID}x:" in users and "2G" in users
        for table in value(inv, "mail_accounts_postfix_maps", major):
            render("mail_accounts", f"{table}.j2", inv, major, extra={"mail_accounts_tables": tables})


# --- Ports and sockets ----------------------------------------------------------------------

def test_public_ports_are_the_ones_the_roles_open() -> None:
    master = render("postfix", "master.cf.j2", {"mail_hostname": "mail.example.org"})
    inet = {line.split()[0] for line in master.splitlines() if line[:1].isalpha() and line.split()[1] == "inet"}
    assert inet == {"smtp", "submission", "submissions"}  # 25, 587, 465 in /etc/services
    assert {PUBLIC_PORTS[s] for s in ("smtp", "submission", "smtps")} == {25, 587, 465}
    dovecot_services = {"imap": "imap", "imaps": "imaps", "pop3": "pop3", "pop3s": "pop3s", "sieve": "managesieve"}
    for template in ("dovecot-2.3.conf.j2", "dovecot-2.4.conf.j2"):
        text = render("dovecot", template, {"mail_hostname": "mail.example.org"})
        listeners = dict(re.findall(r"inet_listener (\w+) \{\s*port = (\d+)", text))
        assert {k: int(v) for k, v in listeners.items()} == {k: PUBLIC_PORTS[s] for k, s in dovecot_services.items()}
    published = {int(p.rsplit(":", 1)[1]) for p in load(ROOT / "molecule" / "default" / "molecule.yml")
                 ["platforms"][0]["published_ports"]}
    assert published == set(PUBLIC_PORTS.values())


def test_rspamd_ui_port_that_check_probes() -> None:
    socket = value({"mail_hostname": "mail.example.org"}, "rspamd_controller_socket")
    assert int(str(socket).rsplit(":", 1)[1]) == RSPAMD_CONTROLLER_PORT


def test_postfix_connects_where_dovecot_listens() -> None:
    inv = {"mail_hostname": "mail.example.org"}
    spool = value(inv, "dovecot_postfix_spool")
    for template in ("dovecot-2.3.conf.j2", "dovecot-2.4.conf.j2"):
        text = render("dovecot", template, inv)
        for name in ("postfix_dovecot_lmtp_socket", "postfix_dovecot_auth_socket", "postfix_dovecot_quota_socket"):
            assert f"unix_listener {spool}/{value(inv, name)} {{" in text, (template, name)
    assert value(inv, "postfix_lmtp_concurrency_limit") == value(inv, "dovecot_lmtp_user_concurrency_limit")
