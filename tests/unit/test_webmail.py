"""Webmail (roles/webmail): mail_webmail validated in Python like the role's argument spec, the
certificate names the acme role asks for, the nginx site the web role renders, and the
`mailprov check` login probe against a local fake Roundcube (127.0.0.1 only)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from fake_smtp import HOSTNAME, self_signed_context
from role_render import ROLES, load, render, value

from provisioner.inventory.model import Inventory, Settings, Webmail
from provisioner.inventory.parse_webmail import WEBMAIL_KEYS
from provisioner.inventory.ports import PUBLIC_PORTS
from provisioner.inventory.probe_account import Credentials
from provisioner.inventory.store import load_inventory
from provisioner.probe.session import ProbeFailed, Skip, Target
from provisioner.probe.webmail import webmail_login
from provisioner.problems import InventoryInvalid

MAIN = "group_vars/mailservers/main.yml"


def _problems(inventory: Path, text: str) -> list[str]:
    (inventory / MAIN).write_text("mail_hostname: mail.example.org\n" + text, encoding="utf-8")
    try:
        load_inventory(inventory)
    except InventoryInvalid as invalid:
        return [str(p) for p in invalid.problems]
    return []


@pytest.mark.parametrize(("text", "expected"), [
    ("mail_webmail: yes-please\n", "mail_webmail"),
    ("mail_webmail: {enabled: 'yes'}\n", "mail_webmail.enabled: 'yes' is not true or false"),
    ("mail_webmail: {enabled: true, host: 'not a name'}\n", "mail_webmail.host"),
    ("mail_webmail: {enabled: true, hots: webmail.example.org}\n", "hots"),
])
def test_bad_webmail_settings_are_refused(inventory: Path, text: str, expected: str) -> None:
    found = _problems(inventory, text)
    assert len(found) == 1 and expected in found[0], found


def test_webmail_settings_parse_and_name_the_certificate(inventory: Path) -> None:
    assert not _problems(inventory, "mail_webmail: {enabled: true, host: webmail.example.org}\n")
    loaded = load_inventory(inventory)
    assert loaded.settings.webmail == Webmail(True, "webmail.example.org")
    assert loaded.certificate_names()[-1] == "webmail.example.org"
    inv = {"mail_hostname": "mail.example.org", "mail_tls": {"mode": "acme", "email": "a@example.org"},
           "mail_webmail": {"enabled": True, "host": "webmail.example.org"}}
    assert value(inv, "acme_names")[-1] == "webmail.example.org"
    assert "webmail.example.org" not in value({**inv, "mail_webmail": {"enabled": False, "host": "webmail.example.org"}},
                                              "acme_names")


def test_the_role_specs_take_the_keys_python_takes() -> None:
    for role in ("webmail", "web"):
        options = load(ROLES / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
        assert tuple(options["mail_webmail"]["options"]) == WEBMAIL_KEYS, role


def test_nginx_serves_roundcube_only_when_enabled() -> None:
    base = {"mail_hostname": "mail.example.org", "mail_message_size_limit": "20M"}
    off = render("web", "mailprov.conf.j2", base)
    assert "fastcgi_pass" not in off
    on = render("web", "mailprov.conf.j2", {**base, "mail_webmail": {"enabled": True}})
    assert on.count("fastcgi_pass unix:/run/php/mailprov-webmail.sock;") == 1
    assert f"client_max_body_size {20 * 1024 * 1024 + 1048576};" in on
    assert "location ^~ /installer" in on and "frame-ancestors 'self'" in on
    own = render("web", "mailprov.conf.j2", {**base, "mail_webmail": {"enabled": True, "host": "webmail.example.org"}})
    assert "server_name webmail.example.org;" in own and own.count("fastcgi_pass") == 1


# --- the `check` probe -------------------------------------------------------------------------

PASSWORD = "right-Secret-1"


@contextmanager
def fake_roundcube(folder: Path) -> Iterator[int]:
    """The two answers the probe needs: the login form (token, session cookie) and the login."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'<form><input type="hidden" name="_token" value="abc123"><input id="rcmloginuser"></form>'
            self.send_response(200)
            self.send_header("Set-Cookie", "roundcube_sessid=s1; path=/; secure; HttpOnly")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            ok = (form["_token"] == ["abc123"] and form["_pass"] == [PASSWORD]
                  and "roundcube_sessid=s1" in (self.headers["Cookie"] or ""))
            self.send_response(302 if ok else 401)
            if ok:
                self.send_header("Location", "./?_task=mail&_token=xyz")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = self_signed_context(folder).wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _target(port: int, password: str) -> Target:
    return Target(HOSTNAME, "127.0.0.1", HOSTNAME, {**PUBLIC_PORTS, "https": port}, verify_tls=False,
                  creds=Credentials("probe@example.org", password))


def _inventory(enabled: bool) -> Inventory:
    return Inventory(Path("."), (), Settings(HOSTNAME, webmail=Webmail(enabled)), ())


def test_check_logs_in_to_the_webmail(tmp_path: Path) -> None:
    with fake_roundcube(tmp_path) as port:
        assert "logged in as probe@example.org" in webmail_login(_target(port, PASSWORD), _inventory(True))
        with pytest.raises(ProbeFailed, match="refused the login"):
            webmail_login(_target(port, "wrong"), _inventory(True))


def test_check_skips_the_webmail_when_disabled() -> None:
    with pytest.raises(Skip):
        webmail_login(_target(1, PASSWORD), _inventory(False))
