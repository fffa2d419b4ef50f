"""The server's own TLSA record in `mailprov dns`: printed from the installed certificate,
read through Ansible, and compared by --check with what port 25 serves."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from provisioner.dns import certs, records
from provisioner.dns.check import check_served
from provisioner.inventory.store import load_inventory

VALUE = "3 1 1 " + "ab" * 32


def test_the_record_is_printed_for_each_host_with_a_certificate(inventory: Path) -> None:
    loaded = load_inventory(inventory)
    host = loaded.hosts[0]
    plan = records.plan(loaded, tlsa={host.name: VALUE})
    tlsa = [r for r in plan.records if r.type == "TLSA"]
    hostname = loaded.hostname_for(host)
    assert [(r.name, r.value) for r in tlsa] == [(f"_25._tcp.{hostname}.", VALUE)]
    assert any("DNSSEC" in note for note in plan.notes)
    zone = records.render_zone(plan)
    assert f"IN TLSA  {VALUE}" in zone or f"IN TLSA {VALUE}" in zone
    # Without a certificate read from the server: no record (never a made-up one).
    assert not [r for r in records.plan(loaded).records if r.type == "TLSA"]


def test_check_compares_the_record_with_the_served_certificate() -> None:
    record = records.Record("_25._tcp.mail.example.org.", "TLSA", VALUE, "example.org")
    addresses = {record.name: "192.0.2.1"}
    ok = check_served([record], addresses, lambda address: VALUE.upper())
    assert [(f.status, f.record.name) for f in ok] == [("ok", "192.0.2.1:25 (served)")]
    other = "3 1 1 " + "cd" * 32
    different = check_served([record], addresses, lambda address: other)
    assert [(f.status, f.found) for f in different] == [("different", (other,))]

    def unreachable(address: str) -> str:
        raise ConnectionRefusedError(f"{address}: refused")

    missing = check_served([record], addresses, unreachable)
    assert missing[0].status == "missing" and "refused" in missing[0].found[0]
    assert check_served([record], {}, unreachable) == []  # a host without an address is not asked


def test_certificates_are_read_through_ansible(inventory: Path, tmp_path: Path) -> None:
    if shutil.which("ansible-playbook", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("ansible-playbook is not installed next to this Python")
    pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    (tmp_path / "mail.crt").write_bytes(pem)
    (inventory / "hosts.yml").write_text(
        "all:\n  children:\n    mailservers:\n      hosts:\n        mail.example.org:\n"
        f"          ansible_connection: local\n          ansible_python_interpreter: {sys.executable}\n")
    main = inventory / "group_vars" / "mailservers" / "main.yml"
    main.write_text(main.read_text() + f"mail_common_tls_cert_path: {tmp_path / 'mail.crt'}\n")
    found, notes = certs.fetch(inventory)
    assert found == {"mail.example.org": pem}, notes


def test_the_certificate_path_is_mail_commons() -> None:
    from provisioner.inventory.role_vars import role_for

    role = role_for("mail_common_tls_cert_path")
    assert role is not None and role.defaults["mail_common_tls_cert_path"] == certs.CERT_PATH_DEFAULT
    assert "'" + str(role.defaults["mail_common_tls_dir"]) + "'" in certs.cert_path_expression()
