"""The rehearsal's private inventory: real addresses never reach it, the rest is byte-identical."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from provisioner.inventory.store import load_inventory
from provisioner.problems import InventoryInvalid, UsageError
from provisioner.rehearse.overlay import (
    CONNECTION_FILE,
    MAX_HOSTS,
    plan,
    ports_for,
    write_overlay,
)

REAL = ("203.0.113.10", "198.51.100.20", "bastion.example.net")
SECOND_HOST = """\
        mail2.example.org:
          ansible_host: 198.51.100.20
          ansible_port: 2222
          ansible_user: admin
          ansible_ssh_common_args: -o ProxyJump=bastion.example.net
          mail_hostname: mail2.example.org
          mailprov_release: bookworm
          mailprov_probe_address: 198.51.100.20
"""


@pytest.fixture
def two_hosts(inventory: Path) -> Path:
    hosts = inventory / "hosts.yml"
    hosts.write_text(hosts.read_text() + SECOND_HOST)
    (inventory / ".vault-password").write_text("secret\n")
    (inventory / ".vault-password").chmod(0o600)
    return inventory


def files_under(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_ports_are_distinct_and_clear_of_sandbox_and_molecule() -> None:
    seen: set[int] = set()
    for index in range(MAX_HOSTS):
        ports = ports_for(index)
        assert len(set(ports.values())) == len(ports)
        assert not seen & set(ports.values())
        seen |= set(ports.values())
    assert min(seen) >= 16000 and max(seen) < 32768  # 12xxx-15xxx taken; ephemeral ports above
    assert ports_for(0)["ssh"] == 16022 and ports_for(1)["smtp"] == 16125
    assert ports_for(2)["managesieve"] == 16290 and ports_for(0)["submission"] == 16087
    with pytest.raises(UsageError):
        ports_for(MAX_HOSTS)


def test_release_per_host_default_trixie(two_hosts: Path) -> None:
    stands = plan(load_inventory(two_hosts))
    assert [(s.host, s.release, s.hostname, s.name) for s in stands] == [
        ("mail.example.org", "trixie", "mail.example.org", "mailprov-rehearse-0"),
        ("mail2.example.org", "bookworm", "mail2.example.org", "mailprov-rehearse-1"),
    ]


def test_group_release_is_the_default_and_host_wins(two_hosts: Path) -> None:
    main = two_hosts / "group_vars" / "mailservers" / "main.yml"
    main.write_text(main.read_text() + "\nmailprov_release: bookworm\n")
    assert {s.host: s.release for s in plan(load_inventory(two_hosts))} == {
        "mail.example.org": "bookworm",
        "mail2.example.org": "bookworm",
    }
    main.write_text(main.read_text().replace("mailprov_release: bookworm", "mailprov_release: sid"))
    with pytest.raises(UsageError, match="sid"):
        plan(load_inventory(two_hosts))


def test_host_release_is_validated(two_hosts: Path) -> None:
    hosts = two_hosts / "hosts.yml"
    hosts.write_text(hosts.read_text().replace("mailprov_release: bookworm", "mailprov_release: buster"))
    with pytest.raises(InventoryInvalid) as caught:
        load_inventory(two_hosts)
    [problem] = caught.value.problems
    assert "mailprov_release" in str(problem) and "trixie, bookworm" in str(problem)


def test_limit_selects_and_unknown_names_are_refused(two_hosts: Path) -> None:
    stands = plan(load_inventory(two_hosts), "mail2.example.org")
    assert [(s.host, s.index) for s in stands] == [("mail2.example.org", 0)]
    with pytest.raises(UsageError, match=r"nope\.example\.org"):
        plan(load_inventory(two_hosts), "nope.example.org")


def test_overlay_points_only_at_the_containers(two_hosts: Path, tmp_path: Path) -> None:
    stands = plan(load_inventory(two_hosts))
    workdir = tmp_path / "work"
    workdir.mkdir(mode=0o700)
    before = files_under(two_hosts)
    copy = write_overlay(two_hosts, workdir, stands)

    text = (copy / "hosts.yml").read_text()
    for address in REAL:
        assert address not in text
    hosts = yaml.safe_load(text)["all"]["children"]["mailservers"]["hosts"]
    second = hosts["mail2.example.org"]
    assert second["ansible_host"] == second["mailprov_probe_address"] == "127.0.0.1"
    assert second["ansible_port"] == second["ansible_ssh_port"] == 16122
    assert second["ansible_user"] == "root"
    assert second["ansible_ssh_private_key_file"] == str(workdir / "id_ed25519")
    assert f"UserKnownHostsFile={workdir / 'known_hosts'}" in second["ansible_ssh_common_args"]
    assert "-F /dev/null" in second["ansible_ssh_common_args"]
    assert second["mail_hostname"] == "mail2.example.org" and second["mailprov_release"] == "bookworm"
    assert second["mailprov_ports"]["imaps"] == 16193 and "ssh" not in second["mailprov_ports"]

    # Extra vars outrank group_vars and host_vars: the address cannot come from anywhere else.
    connection = json.loads((workdir / CONNECTION_FILE).read_text())
    assert connection["ansible_host"] == connection["ansible_ssh_host"] == "127.0.0.1"
    assert connection["ansible_ssh_extra_args"] == ""
    assert connection["ansible_host_key_checking"] is True
    # rspamd in a stand-in container looks nothing up outside it.
    assert connection["rspamd_dns_nameservers"] == ["127.0.0.1:53"]

    after = files_under(copy)
    for name, content in before.items():
        if name == ".vault-password":
            assert name not in after  # used in place, never copied
        elif name != "hosts.yml":
            assert after[name] == content, name  # group_vars, vault files: byte-identical
    assert files_under(two_hosts) == before  # the operator's inventory is untouched
    assert (copy / "hosts.yml").stat().st_mode & 0o077 == 0

    loaded = load_inventory(copy)  # still a valid inventory, for `check`
    assert [h.name for h in loaded.hosts] == ["mail.example.org", "mail2.example.org"]


def test_overlay_with_limit_has_only_the_rehearsed_host(two_hosts: Path, tmp_path: Path) -> None:
    stands = plan(load_inventory(two_hosts), "mail.example.org")
    (tmp_path / "work").mkdir()
    copy = write_overlay(two_hosts, tmp_path / "work", stands)
    assert [h.name for h in load_inventory(copy).hosts] == ["mail.example.org"]


def test_acme_inventories_are_rehearsed_with_a_self_signed_certificate(two_hosts: Path, tmp_path: Path) -> None:
    """A stand-in has no public name a CA could validate: no ACME request leaves a rehearsal."""
    main = two_hosts / "group_vars" / "mailservers" / "main.yml"
    main.write_text(main.read_text().replace("mail_tls:\n  mode: selfsigned\n",
                                             "mail_tls: {mode: acme, email: postmaster@example.org}\n"))
    assert load_inventory(two_hosts).settings.tls.mode == "acme"
    (tmp_path / "work").mkdir()
    write_overlay(two_hosts, tmp_path / "work", plan(load_inventory(two_hosts)))
    assert json.loads((tmp_path / "work" / CONNECTION_FILE).read_text())["mail_tls"] == {"mode": "selfsigned"}
