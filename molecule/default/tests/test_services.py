"""State of the converged servers, seen through `podman exec` (testinfra)."""

from __future__ import annotations

import socket
import ssl

import pytest
from conftest import HOSTNAME, LOCALHOST, PASSWORDS, Server

RELEASE_VERSIONS = {"trixie": ("3.10", "2.4"), "bookworm": ("3.7", "2.3")}


def test_release_versions(server: Server) -> None:
    postfix, dovecot = RELEASE_VERSIONS[server.release]
    assert server.host.check_output("postconf -h mail_version").startswith(postfix)
    assert server.host.check_output("dovecot --version").startswith(dovecot)


@pytest.mark.parametrize("service", ["postfix", "dovecot"])
def test_services_running_and_enabled(server: Server, service: str) -> None:
    svc = server.host.service(service)
    assert svc.is_running
    assert svc.is_enabled


@pytest.mark.parametrize("port", [25, 587, 465, 143, 993, 110, 995, 4190])
def test_listening(server: Server, port: int) -> None:
    assert server.host.socket(f"tcp://0.0.0.0:{port}").is_listening


def test_configuration_is_valid(server: Server) -> None:
    server.host.run_expect([0], "postfix check")
    server.host.run_expect([0], "doveconf -n")


def test_postfix_settings(server: Server) -> None:
    def get(name: str) -> str:
        return str(server.host.check_output(f"postconf -h {name}"))

    assert get("myhostname") == HOSTNAME
    assert get("message_size_limit") == str(20 * 1024 * 1024)
    assert get("smtpd_helo_required") == "yes"
    assert get("disable_vrfy_command") == "yes"
    assert get("smtpd_tls_mandatory_protocols") == ">=TLSv1.2"
    assert "10.88" not in get("mynetworks")  # never trust the container gateway
    assert "postscreen" in server.host.check_output("postconf -M smtp/inet")


def test_secret_files_modes(server: Server) -> None:
    users = server.host.file("/etc/dovecot/mailprov/users")
    assert users.user == "root"
    assert users.group == "dovecot"
    assert users.mode == 0o640
    key = server.host.file(f"/etc/mailprov/tls/{HOSTNAME}.key")
    assert key.user == "root"
    assert key.mode == 0o600


def test_vmail_user(server: Server) -> None:
    vmail = server.host.user("vmail")
    assert vmail.uid == 5000
    assert server.host.file("/var/vmail").user == "vmail"
    assert server.host.file("/var/vmail").mode == 0o750


@pytest.mark.parametrize("user", sorted(PASSWORDS))
def test_every_hash_scheme_authenticates(server: Server, user: str) -> None:
    """ARGON2ID, SHA512-CRYPT and BLF-CRYPT hashes from the inventory all work."""
    server.host.run_expect([0], f"doveadm auth test {user} {PASSWORDS[user]}")


def test_templates_carry_ansible_managed(server: Server) -> None:
    for path in (
        "/etc/postfix/main.cf",
        "/etc/postfix/master.cf",
        "/etc/dovecot/dovecot.conf",
        "/etc/postfix/mailprov/virtual_aliases",
    ):
        assert "Ansible managed" in server.host.file(path).content_string


def test_certificate_names_the_host(server: Server) -> None:
    with (
        socket.create_connection((LOCALHOST, server.port(993)), timeout=10) as raw,
        server.tls.wrap_socket(raw) as tls,
    ):
        cert = tls.getpeercert()
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    assert cert is not None
    assert ("DNS", HOSTNAME) in cert["subjectAltName"]


@pytest.mark.parametrize("port", [465, 993, 995])
def test_old_tls_refused(server: Server, port: int) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        context.set_ciphers("ALL:@SECLEVEL=0")
    except ssl.SSLError:  # pragma: no cover - client OpenSSL without TLS 1.0
        pytest.skip("this client cannot offer TLS 1.0/1.1")
    with (
        socket.create_connection((LOCALHOST, server.port(port)), timeout=10) as raw,
        pytest.raises((ssl.SSLError, ConnectionError)),
    ):
        context.wrap_socket(raw).close()
