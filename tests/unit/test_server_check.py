"""`settings --check`: port, TLS version, certificate and AUTH of local TLS servers, no login."""

from __future__ import annotations

import socketserver
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from click.testing import Result
from fake_https import Ca, silent_port
from fake_smtp import Script, closed_port, self_signed_context, serve

from provisioner.probe.server_check import check_server, describe

NAME = "mail.example.test"


class _Imap(socketserver.StreamRequestHandler):
    server: _ImapServer

    def setup(self) -> None:
        self.request = self.server.context.wrap_socket(self.request, server_side=True)
        super().setup()

    def handle(self) -> None:
        self.wfile.write(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=LOGIN] ready\r\n")
        for raw in self.rfile:
            tag, _, command = raw.decode().strip().partition(" ")
            self.server.commands.append(command.upper())
            if command.upper() == "CAPABILITY":
                self.wfile.write(f"* CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=LOGIN\r\n{tag} OK done\r\n".encode())
            elif command.upper() == "LOGOUT":
                self.wfile.write(f"* BYE\r\n{tag} OK bye\r\n".encode())
                return
            else:
                self.wfile.write(f"{tag} BAD not here\r\n".encode())


class _ImapServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.commands: list[str] = []
        super().__init__(("127.0.0.1", 0), _Imap)


@contextmanager
def imaps(context: ssl.SSLContext) -> Iterator[_ImapServer]:
    server = _ImapServer(context)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_implicit_tls_smtp_with_a_trusted_certificate(tmp_path: Path) -> None:
    ca = Ca(tmp_path)
    script = Script(contexts=[ca.server(NAME)])
    with serve(script) as port:
        check = check_server("smtp", NAME, port, "SSL", context=ca.client(), connect_to="127.0.0.1")
    assert check.ok, check
    assert check.tls in ("TLSv1.2", "TLSv1.3") and check.auth == ("PLAIN",)
    assert check.certificate.startswith(f"valid for {NAME} until ")
    assert not any(c.startswith("AUTH ") for c in script.commands)  # no login


def test_imaps_capabilities_and_no_login(tmp_path: Path) -> None:
    ca = Ca(tmp_path)
    with imaps(ca.server(NAME)) as server:
        check = check_server("imap", NAME, server.server_address[1], "SSL", context=ca.client(),
                             connect_to="127.0.0.1")
    assert check.ok, check
    assert check.auth == ("PLAIN", "LOGIN")
    assert not any(c.startswith(("LOGIN", "AUTHENTICATE")) for c in server.commands)


def test_an_untrusted_or_misnamed_certificate_is_reported_and_still_inspected(tmp_path: Path) -> None:
    ca = Ca(tmp_path / "ca")
    with serve(Script(contexts=[self_signed_context(tmp_path / "self", NAME)])) as port:
        untrusted = check_server("smtp", NAME, port, "SSL", context=ca.client(), connect_to="127.0.0.1")
    with serve(Script(contexts=[ca.server("other.example.test")])) as port:
        misnamed = check_server("smtp", NAME, port, "SSL", context=ca.client(), connect_to="127.0.0.1")
    for check in (untrusted, misnamed):
        assert check.port_open and not check.certificate_valid and not check.ok
        assert check.certificate.startswith(f"not valid for {NAME}: ")
        assert check.tls and check.auth == ("PLAIN",)  # what answers is still reported
    assert "self-signed" in untrusted.certificate or "self signed" in untrusted.certificate
    assert "mismatch" in misnamed.certificate or "match" in misnamed.certificate


def test_starttls_not_offered_is_an_error(tmp_path: Path) -> None:
    with serve(Script()) as port:  # plain SMTP without STARTTLS
        check = check_server("smtp", NAME, port, "STARTTLS", connect_to="127.0.0.1")
    assert check.port_open and check.error == "STARTTLS not offered" and not check.ok


def test_closed_and_silent_ports_fail_fast() -> None:
    closed = check_server("imap", NAME, closed_port(), "SSL", connect_to="127.0.0.1", timeout=0.5)
    assert not closed.port_open and closed.error == "connection refused"
    assert describe(closed) == "port closed: connection refused"
    with silent_port() as port:
        started = time.monotonic()
        silent = check_server("imap", NAME, port, "SSL", connect_to="127.0.0.1", timeout=0.5)
        assert time.monotonic() - started < 2.0
    assert silent.port_open and silent.error == "no answer in time"


def test_cli_check_reports_each_server(cli: Callable[..., Result], inventory: Path, tmp_path: Path) -> None:
    with serve(Script(contexts=[self_signed_context(tmp_path, "127.0.0.1")])) as smtps:
        hosts = inventory / "hosts.yml"
        hosts.write_text(hosts.read_text() + "          mailprov_probe_address: 127.0.0.1\n"
                         f"          mailprov_ports: {{smtps: {smtps}, imaps: {closed_port()}, "
                         f"pop3s: {closed_port()}, submission: {closed_port()}}}\n")
        result = cli("settings", "postmaster@example.org", "--check", "--timeout", "1")
    assert result.exit_code == 1, result.output
    assert "Check (no login attempted):" in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("  FAIL") or line.startswith("  ok")]
    assert len(lines) == 4
    smtp_line = next(line for line in lines if f"127.0.0.1:{smtps} SSL" in line)
    assert "certificate not valid for 127.0.0.1" in smtp_line and "AUTH PLAIN" in smtp_line
    assert sum("port closed: connection refused" in line for line in lines) == 3
