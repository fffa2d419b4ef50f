"""Every validation rule, each shown failing with a message that names file, field and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.inventory.passwords import hash_password
from provisioner.inventory.store import load_inventory
from provisioner.problems import InventoryInvalid

HASH = hash_password("pw")
MAIN = "group_vars/mailservers/main.yml"
ACCOUNTS = "group_vars/mailservers/accounts.yml"


def write(inventory: Path, relative: str, text: str) -> None:
    (inventory / relative).write_text(text.replace("HASH", f'"{HASH}"'), encoding="utf-8")


def problems(inventory: Path) -> list[str]:
    with pytest.raises(InventoryInvalid) as caught:
        load_inventory(inventory)
    return [str(p) for p in caught.value.problems]


def only_problem(inventory: Path) -> str:
    found = problems(inventory)
    assert len(found) == 1, found
    return found[0]


def accounts(inventory: Path, body: str) -> None:
    write(inventory, ACCOUNTS, "mail_domains:\n" + body)


def test_the_sample_inventory_is_valid(inventory: Path) -> None:
    loaded = load_inventory(inventory)
    assert loaded.summary() == "1 host, 1 domain, 1 mailbox, 1 alias"
    assert loaded.settings.mail_hostname == "mail.example.org"
    assert loaded.settings.message_size_limit == 50 * 1024 * 1024
    assert loaded.hosts[0].address == "203.0.113.10"


def test_idna_names_are_accepted_as_a_labels(inventory: Path) -> None:
    accounts(inventory, "  - name: xn--bcher-kva.example\n    mailboxes:\n"
             "      - {address: anna@xn--bcher-kva.example, password: HASH, quota: 2G}\n")
    loaded = load_inventory(inventory)
    assert loaded.mailboxes[0].address == "anna@xn--bcher-kva.example"
    assert loaded.mailboxes[0].quota == "2G"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("name: Bücher.Example", "'Bücher.Example' is not in canonical form (write xn--bcher-kva.example"),
        ("name: EXAMPLE.org", "'EXAMPLE.org' is not in canonical form (write example.org"),
        ("name: example.org\n    mailboxes:\n      - {address: Anna@example.org, password: HASH}",
         "'Anna@example.org' is not in canonical form (write anna@example.org"),
        ("name: example.org\n    mailboxes:\n      - {address: anna@example.org, password: HASH, quota: 2g}",
         "quota: '2g' is not a quota as Dovecot writes it (write 2G)"),
        ("name: example.org\n    mailboxes:\n      - {address: \"eve\\n@example.org\", password: HASH}",
         "has an invalid part before the @"),
        ("name: example.org\n    mailboxes:\n      - {address: eve@example.org, password: \"{SHA512-CRYPT}$6$saltsalt$"
         + "a" * 86 + "\\n\"}", "not a recognised password hash"),
    ],
)
def test_names_must_be_stored_in_canonical_form(inventory: Path, value: str, expected: str) -> None:
    accounts(inventory, f"  - {value}\n")
    assert any(expected in p for p in problems(inventory)), problems(inventory)


def test_message_names_the_file_the_field_and_the_fix(inventory: Path) -> None:
    write(inventory, MAIN, "mail_hostname: not_a_host\n")
    message = only_problem(inventory)
    assert message.startswith(f"{inventory / MAIN}: mail_hostname: ")
    assert "(write e.g. example.org)" in message


@pytest.mark.parametrize(
    ("main_yml", "expected"),
    [
        ("mail_tls: {mode: selfsigned}\n", "mail_hostname: missing"),
        ("mail_hostname: mail.example.org\nmail_hostnme: x\n", "mail_hostnme: unknown setting (did you mean 'mail_hostname'?)"),
        ("mail_hostname: mail.example.org\nmail_tls: {mode: letsencrypt}\n", "mail_tls.mode: 'letsencrypt' is not a TLS mode"),
        ("mail_hostname: mail.example.org\nmail_tls: {mode: files}\n", "mail_tls.cert_file: required when mode is files"),
        ("mail_hostname: mail.example.org\nmail_tls: {mode: files, cert_file: c.pem, key_file: k.pem}\n", "mail_tls.cert_file: c.pem does not exist"),
        ("mail_hostname: mail.example.org\nmail_tls: {mode: acme}\n", "mail_tls.email: expected a text value"),
        ("mail_hostname: mail.example.org\nmail_tls: {mode: selfsigned, cert: x}\n", "mail_tls.cert: unknown key"),
        ("mail_hostname: mail.example.org\nmail_tls: {mode: acme, email: a@example.org, server: 'http://ca.example.net/dir'}\n",
         "mail_tls.server: 'http://ca.example.net/dir' is not an https:// ACME directory URL"),
        ("mail_hostname: mail.example.org\nmail_tls: {mode: acme, email: a@example.org, ca_file: ca.pem}\n",
         "mail_tls.ca_file: 'ca.pem' does not exist"),
        ("mail_hostname: mail.example.org\nmail_tls: {mode: acme, email: a@example.org, eab: {kid: k, hmac_key: secret}}\n",
         "mail_tls.eab.hmac_key: missing or in plaintext (put it in Ansible Vault"),
        ("mail_hostname: mail.example.org\nmail_tls: {mode: acme, email: a@example.org, eab: {hmac_key: '{{ vault_x }}'}}\n",
         "mail_tls.eab.kid: missing"),
        ("mail_hostname: mail.example.org\nmail_tls: {mode: acme, email: a@example.org, extra_names: [not_a_host]}\n",
         "mail_tls.extra_names[0]: "),
        ("mail_hostname: mail.example.org\nmail_mta_sts: {mode: strict}\n", "mail_mta_sts.mode: 'strict' is not an MTA-STS mode"),
        ("mail_hostname: mail.example.org\nmail_mta_sts: {max_age: 99999999}\n",
         "mail_mta_sts.max_age: 99999999 is not a number of seconds up to a year"),
        ("mail_hostname: mail.example.org\nmail_mta_sts: {mod: testing}\n", "mail_mta_sts.mod: unknown key"),
        ("mail_hostname: mail.example.org\nmail_message_size_limit: 10 parsecs\n", "mail_message_size_limit: '10 parsecs' is not a size"),
        ("mail_hostname: mail.example.org\nmail_message_size_limit: 100\n", "is not a size of at least 1M"),
        ("mail_hostname: mail.example.org\nmail_message_size_limit: 50mb\n", "'50mb' is not a size of at least 1M"),
        ("mail_hostname: mail.example.org\nmail_relay: {host: smtp.example.net, username: u, password: hunter2}\n",
         "mail_relay.password: a plaintext password (put it in Ansible Vault"),
        ("mail_hostname: mail.example.org\nmail_relay: {host: smtp.example.net, port: 99999}\n", "mail_relay.port: 99999 is not a port number"),
        ("mail_hostname: mail.example.org\nmail_relay: {host: smtp.example.net, username: u}\n", "mail_relay: username and password go together"),
        ("mail_hostname: mail.example.org\nmail_dkim: {selector: Mail_2026}\n",
         "mail_dkim.selector: 'Mail_2026' is not a DNS label (use lower-case letters"),
        ("mail_hostname: mail.example.org\nmail_dkim: {selector: mail.2026}\n", "mail_dkim.selector: 'mail.2026' is not a DNS label"),
        ("mail_hostname: mail.example.org\nmail_dkim: {selectr: mail}\n", "mail_dkim.selectr: unknown key"),
        ("mail_hostname: mail.example.org\nmail_dkim: mail\n", "mail_dkim: expected a mapping with selector"),
        ("mail_hostname: mail.example.org\nmail_spam: {junk_score: 20}\n",
         "mail_spam.junk_score: 20 is not below reject_score 15 (mail between the two goes into Junk"),
        ("mail_hostname: mail.example.org\nmail_spam: {reject_score: high}\n", "mail_spam.reject_score: 'high' is not a positive score"),
        ("mail_hostname: mail.example.org\nmail_spam: {junk_score: -1}\n", "mail_spam.junk_score: -1 is not a positive score"),
        ("mail_hostname: mail.example.org\nmail_spam: {greylist: sometimes}\n", "mail_spam.greylist: 'sometimes' is not true or false"),
        ("- just a list\n", "(top level): expected a mapping of variables"),
    ],
)
def test_settings_rules(inventory: Path, main_yml: str, expected: str) -> None:
    write(inventory, MAIN, main_yml)
    assert any(expected in p for p in problems(inventory)), problems(inventory)


def test_dkim_and_spam_settings_and_their_defaults(inventory: Path) -> None:
    settings = load_inventory(inventory).settings
    assert (settings.dkim.selector, settings.spam.reject_score, settings.spam.junk_score) == ("mail", 15, 6)
    assert settings.spam.greylist is False
    write(inventory, MAIN, "mail_hostname: mail.example.org\nmail_dkim: {selector: mail2026}\n"
          "mail_spam: {reject_score: 12.5, junk_score: 5, greylist: true}\n")
    settings = load_inventory(inventory).settings
    assert settings.dkim.selector == "mail2026"
    assert (settings.spam.reject_score, settings.spam.junk_score, settings.spam.greylist) == (12.5, 5, True)


def test_acme_and_mta_sts_settings_and_the_certificate_names(inventory: Path) -> None:
    loaded = load_inventory(inventory)
    assert loaded.settings.tls.acme_server == "https://acme-v02.api.letsencrypt.org/directory"
    assert (loaded.settings.mta_sts.mode, loaded.settings.mta_sts.max_age) == ("testing", 604800)
    (inventory / "ca.pem").write_text("x")
    write(inventory, MAIN, "mail_hostname: mail.example.org\n"
          "mail_tls: {mode: acme, email: postmaster@example.org, server: 'https://ca.example.net/acme/directory',\n"
          "  ca_file: ca.pem, eab: {kid: kid-1, hmac_key: '{{ vault_mail_acme_eab_hmac_key }}'},\n"
          "  extra_names: [webmail.example.org, mail.example.org]}\n"
          "mail_mta_sts: {mode: enforce, max_age: 1209600}\n")
    loaded = load_inventory(inventory)
    tls = loaded.settings.tls
    assert (tls.acme_server, tls.ca_file, tls.extra_names) == (
        "https://ca.example.net/acme/directory", "ca.pem", ("webmail.example.org", "mail.example.org"))
    assert tls.eab is not None and tls.eab.kid == "kid-1"
    assert "vault_mail_acme_eab_hmac_key" not in repr(tls)
    assert (loaded.settings.mta_sts.mode, loaded.settings.mta_sts.max_age) == ("enforce", 1209600)
    domain = loaded.domains[0].name
    assert loaded.certificate_names() == (
        "mail.example.org", f"mta-sts.{domain}", f"autoconfig.{domain}", "webmail.example.org")
    assert loaded.mx_names() == ("mail.example.org",)


def test_relay_with_vault_reference_and_tls_files_are_valid(inventory: Path) -> None:
    (inventory / "cert.pem").write_text("x")
    (inventory / "key.pem").write_text("x")
    write(inventory, MAIN, "mail_hostname: mail.example.org\n"
          "mail_tls: {mode: files, cert_file: cert.pem, key_file: key.pem}\n"
          "mail_relay: {host: smtp.example.net, port: 465, username: u, password: '{{ vault_relay_pw }}'}\n")
    settings = load_inventory(inventory).settings
    assert settings.tls.mode == "files"
    assert settings.relay is not None and settings.relay.port == 465


def test_inline_vault_value_counts_as_a_secret_reference(inventory: Path) -> None:
    write(inventory, MAIN, "mail_hostname: mail.example.org\nmail_relay:\n  host: smtp.example.net\n  username: u\n"
          "  password: !vault |\n    $ANSIBLE_VAULT;1.1;AES256\n    6136\n")
    assert load_inventory(inventory).settings.relay is not None


def test_encrypted_vault_file_is_skipped(inventory: Path) -> None:
    write(inventory, "group_vars/mailservers/vault.yml", "$ANSIBLE_VAULT;1.1;AES256\n3133\n")
    load_inventory(inventory)


def test_variable_defined_in_two_files(inventory: Path) -> None:
    write(inventory, "group_vars/mailservers/extra.yml", "mail_hostname: mail.example.org\n")
    assert any("also defined in" in p for p in problems(inventory))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("  - name: example.org\n    mailbox: []\n", "mail_domains[example.org].mailbox: unknown key (did you mean 'mailboxes'?)"),
        ("  - name: exa_mple.org\n", "mail_domains[exa_mple.org].name: "),
        ("  - alias_domains: []\n", "mail_domains[0].name: missing"),
        ("  - name: example.org\n    mailboxes:\n      - {address: a@example.com, password: HASH}\n",
         "a@example.com is not in the domain example.org"),
        ("  - name: example.org\n    mailboxes:\n      - {address: a@example.org, password: HASH}\n      - {address: a@example.org, password: HASH}\n",
         "a@example.org is already a mailbox"),
        ("  - name: example.org\n    mailboxes:\n      - {address: a@example.org, password: HASH}\n    aliases:\n      - {source: a@example.org, targets: [x@example.com]}\n",
         "a@example.org is already a mailbox"),
        ("  - name: example.org\n    mailboxes:\n      - {address: a@example.org, password: HASH, aliases: [b@example.org]}\n    aliases:\n      - {source: b@example.org, targets: [x@example.com]}\n",
         "b@example.org is already an alias of a@example.org"),
        ("  - name: example.org\n    aliases:\n      - {source: info@example.org, targets: [ghost@example.org]}\n",
         "ghost@example.org is a local address with no mailbox or alias"),
        ("  - name: example.org\n    catch_all: nobody@example.org\n", "catch_all: nobody@example.org is a local address"),
        ("  - name: example.org\n    aliases:\n      - {source: a@example.org, targets: [b@example.org]}\n      - {source: b@example.org, targets: [a@example.org]}\n",
         "aliases form a loop: a@example.org -> b@example.org -> a@example.org"),
        ("  - name: example.org\n    mailboxes:\n      - {address: a@example.org, password: HASH, quota: lots}\n", "quota: 'lots' is not a quota"),
        ("  - name: example.org\n    mailboxes:\n      - {address: a@example.org, password: hunter2}\n",
         "password: a plaintext password (store a hash: run `mailprov user passwd ADDRESS`"),
        ("  - name: example.org\n    mailboxes:\n      - {address: a@example.org, password: '{MD5}abc'}\n", "not a recognised password hash"),
        ("  - name: example.org\n    mailboxes:\n      - {address: a@example.org}\n", "password: not a recognised password hash"),
        ("  - name: example.org\n  - name: example.org.\n", "'example.org.' is not in canonical form"),
        ("  - name: example.org\n  - name: example.org\n", "example.org is listed twice"),
        ("  - name: example.org\n    alias_domains: [example.net]\n  - name: example.net\n", "example.net is listed twice"),
        ("  - name: example.org\n    aliases:\n      - {source: info@example.com, targets: [x@example.com]}\n", "info@example.com is not in this domain"),
        ("  - name: example.org\n    aliases:\n      - {source: info@example.org, targets: []}\n", "targets: no targets"),
        ("  - name: example.org\n    aliases:\n      - {source: info@example.org, targets: [not an address]}\n", "targets[0]: "),
        ("  - name: example.org\n    mailboxes: {a: b}\n", "mailboxes: expected a list, found a mapping"),
        ("  name: example.org\n", "mail_domains: expected a list of domains, found a mapping"),
    ],
)
def test_account_rules(inventory: Path, body: str, expected: str) -> None:
    accounts(inventory, body)
    found = problems(inventory)
    assert any(expected in p for p in found), found
    assert all(p.startswith(str(inventory / ACCOUNTS)) for p in found), found


def test_alias_domain_addresses_resolve_to_the_primary_domain(inventory: Path) -> None:
    accounts(inventory, "  - name: example.org\n    alias_domains: [example.net]\n    catch_all: [a@example.net]\n"
             "    mailboxes:\n      - {address: a@example.org, password: HASH}\n"
             "    aliases:\n      - {source: info@example.net, targets: [a@example.net, ext@example.com]}\n")
    loaded = load_inventory(inventory)
    assert loaded.domains[0].alias_domains == ("example.net",)
    assert loaded.domains[0].catch_all == ("a@example.net",)


def test_every_problem_is_reported_at_once(inventory: Path) -> None:
    write(inventory, MAIN, "mail_hostname: bad_name\nmail_tls: {mode: nope}\n")
    accounts(inventory, "  - name: example.org\n    mailboxes:\n      - {address: a@example.org, password: plain}\n")
    assert len(problems(inventory)) == 3


@pytest.mark.parametrize(
    ("hosts_yml", "expected"),
    [
        ("all:\n  children:\n    webservers: {}\n", "all.children.mailservers: the mail server group is missing"),
        ("all:\n  children:\n    mailservers:\n      hosts: {}\n", "mailservers.hosts: no hosts"),
        ("mailservers:\n  hosts:\n    m1:\n      ansibel_host: 1.2.3.4\n      colour: red\n", "mailservers.hosts.m1.ansibel_host: unknown host variable"),
        ("all: [1, 2\n", "hosts.yml: line 2: not valid YAML"),
    ],
)
def test_hosts_rules(inventory: Path, hosts_yml: str, expected: str) -> None:
    (inventory / "hosts.yml").write_text(hosts_yml)
    assert any(expected in p for p in problems(inventory)), problems(inventory)


def test_missing_inventory_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(InventoryInvalid) as caught:
        load_inventory(tmp_path / "nope")
    assert "mailprov init" in str(caught.value)


def test_per_host_mail_hostname_replaces_the_group_one(inventory: Path) -> None:
    (inventory / "hosts.yml").write_text("mailservers:\n  hosts:\n    a: {mail_hostname: mx1.example.org}\n"
                                         "    b: {mail_hostname: mx2.example.org}\n")
    write(inventory, MAIN, "mail_tls: {mode: selfsigned}\n")
    loaded = load_inventory(inventory)
    assert [loaded.hostname_for(h) for h in loaded.hosts] == ["mx1.example.org", "mx2.example.org"]


def test_duplicate_keys_are_reported_with_their_line(inventory: Path) -> None:
    write(inventory, MAIN, "mail_hostname: mail.example.org\nmail_tls: {mode: selfsigned}\nmail_hostname: mx.example.org\n")
    assert any("main.yml: line 3: not valid YAML: duplicate key 'mail_hostname'" in p for p in problems(inventory))


def test_unknown_yaml_tags_are_a_clean_error(inventory: Path) -> None:
    write(inventory, MAIN, "mail_hostname: !!python/object:os.system echo\n")
    assert any("not valid YAML" in p for p in problems(inventory))


@pytest.mark.parametrize(
    ("host_vars", "expected"),
    [
        ("mailprov_ports: {smtp: 0}", "m1.mailprov_ports.smtp: 0 is not a port number"),
        ("mailprov_ports: {smpt: 2525}", "m1.mailprov_ports.smpt: unknown key (did you mean 'smtp'?)"),
        ("mailprov_ports: [25]", "m1.mailprov_ports: expected a mapping of service: port"),
        ("mailprov_probe_address: ''", "m1.mailprov_probe_address: expected an address"),
        ("mailprov_colour: red", "m1.mailprov_colour: unknown host variable"),
    ],
)
def test_published_ports_rules(inventory: Path, host_vars: str, expected: str) -> None:
    (inventory / "hosts.yml").write_text(f"mailservers:\n  hosts:\n    m1:\n      {host_vars}\n")
    assert any(expected in p for p in problems(inventory)), problems(inventory)


def test_published_ports_are_accepted(inventory: Path) -> None:
    (inventory / "hosts.yml").write_text("mailservers:\n  hosts:\n    m1:\n      ansible_host: 127.0.0.1\n"
                                         "      mailprov_probe_address: 127.0.0.1\n"
                                         "      mailprov_ports: {smtp: 14025, imaps: 14993}\n")
    assert load_inventory(inventory).hosts[0].vars["mailprov_ports"]["smtp"] == 14025
