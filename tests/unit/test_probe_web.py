"""`mailprov check`'s web probes against a local HTTPS server (no network beyond 127.0.0.1):
the MTA-STS policy must be the one `mailprov dns` publishes the id of, the autoconfig
document and the Apple profile must name the mail host and the standard ports, 443 must serve
TLS 1.2+."""

from __future__ import annotations

import http.server
import plistlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fake_smtp import HOSTNAME, self_signed_context
from test_web_documents import _defaults, _template

from provisioner.inventory.model import Inventory
from provisioner.inventory.ports import PUBLIC_PORTS
from provisioner.inventory.store import load_inventory
from provisioner.inventory.web import mta_sts_id, mta_sts_policy
from provisioner.probe.apple_profile import domain_profile
from provisioner.probe.session import ProbeFailed, Target
from provisioner.probe.web import autoconfig, https_banner, mta_sts


@contextmanager
def serve(folder: Path, documents: dict[tuple[str, str], tuple[str, bytes]]) -> Iterator[int]:
    """HTTPS on a free 127.0.0.1 port answering (Host, path) -> (content type, body), else 404."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = documents.get((self.headers["Host"], self.path))
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", found[0] if found else "text/html")
            body = found[1] if found else b"not found"
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = self_signed_context(folder)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _target(port: int) -> Target:
    return Target(HOSTNAME, "127.0.0.1", HOSTNAME, {**PUBLIC_PORTS, "https": port}, verify_tls=False)


@pytest.fixture
def loaded(inventory: Path) -> Inventory:
    main = inventory / "group_vars/mailservers/main.yml"
    main.write_text(main.read_text().replace("mail.example.org", HOSTNAME))
    return load_inventory(inventory)


def _documents(inventory: Inventory, policy: str) -> dict[tuple[str, str], tuple[str, bytes]]:
    docs: dict[tuple[str, str], tuple[str, bytes]] = {}
    for domain in inventory.domains:
        docs[(f"mta-sts.{domain.name}", "/.well-known/mta-sts.txt")] = ("text/plain", policy.encode())
        xml = _template("config-v1.1.xml.j2", web_domain=domain.name, web_hostname=HOSTNAME,
                        web_client_ports=_defaults("web")["web_client_ports"])
        docs[(f"autoconfig.{domain.name}", "/mail/config-v1.1.xml")] = ("application/xml", xml.encode())
        docs[(f"autoconfig.{domain.name}", "/mail.mobileconfig")] = (
            "application/x-apple-aspen-config", domain_profile(inventory, domain.name).encode())
    return docs


def test_the_documents_the_web_role_serves_pass(loaded: Inventory, tmp_path: Path) -> None:
    with serve(tmp_path, _documents(loaded, mta_sts_policy(loaded))) as port:
        target = _target(port)
        assert HOSTNAME in https_banner(target)
        assert mta_sts_id(mta_sts_policy(loaded)) in mta_sts(target, loaded)
        assert "imaps/pop3s/smtps/submission" in autoconfig(target, loaded)


def test_a_stale_policy_names_both_ids(loaded: Inventory, tmp_path: Path) -> None:
    stale = mta_sts_policy(loaded).replace("mode: testing", "mode: enforce")
    with serve(tmp_path, _documents(loaded, stale)) as port, pytest.raises(ProbeFailed) as caught:
        mta_sts(_target(port), loaded)
    assert mta_sts_id(stale) in str(caught.value)
    assert mta_sts_id(mta_sts_policy(loaded)) in str(caught.value)


def test_a_missing_autoconfig_document_fails(loaded: Inventory, tmp_path: Path) -> None:
    with serve(tmp_path, {}) as port, pytest.raises(ProbeFailed, match="answered 404"):
        autoconfig(_target(port), loaded)


@pytest.mark.parametrize(("content_type", "body", "why"), [
    ("application/octet-stream", None, "not application/x-apple-aspen-config"),
    ("application/x-apple-aspen-config", b"<html/>", "not a profile"),
    ("application/x-apple-aspen-config", b"<plist><dict><key>PayloadContent</key><array><dict>"
     b"</dict></array></dict></plist>", "names"),
    ("application/x-apple-aspen-config", b"with a password", "carries a password"),
])
def test_a_wrong_apple_profile_fails(loaded: Inventory, tmp_path: Path, content_type: str, body: bytes | None,
                                     why: str) -> None:
    documents = _documents(loaded, mta_sts_policy(loaded))
    key = (f"autoconfig.{loaded.domains[0].name}", "/mail.mobileconfig")
    served = documents[key][1]
    if body == b"with a password":
        profile = plistlib.loads(served)
        profile["PayloadContent"][0]["IncomingPassword"] = "secret"
        body = plistlib.dumps(profile)
    documents[key] = (content_type, served if body is None else body)
    with serve(tmp_path, documents) as port, pytest.raises(ProbeFailed, match=why):
        autoconfig(_target(port), loaded)
