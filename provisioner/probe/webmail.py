"""`mailprov check`: the webmail (roles/webmail, Roundcube) logs the probe account in, as a
browser would: the login page, its form token and session cookie, then the login POST, which
Roundcube answers with a redirect into the mailbox (a refused login gets the form again)."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from provisioner.inventory.model import Inventory
from provisioner.probe.session import ProbeFailed, Skip, Target, need_creds
from provisioner.probe.web import https_exchange

_TOKEN = re.compile(rb'name="_token" value="([A-Za-z0-9]+)"')


def webmail_host(inventory: Inventory, hostname: str) -> str | None:
    """The webmail's name (its own, or the server's), None when it is not enabled."""
    webmail = inventory.settings.webmail
    return (webmail.host or hostname) if webmail.enabled else None


def _cookies(headers: list[tuple[str, str]]) -> dict[str, str]:
    pairs = (value.split(";", 1)[0].partition("=") for key, value in headers if key == "set-cookie")
    return {name.strip(): value.strip() for name, _, value in pairs}


def webmail_login(target: Target, inventory: Inventory) -> str:
    name = webmail_host(inventory, target.hostname)
    if name is None:
        raise Skip("mail_webmail is not enabled")
    creds = need_creds(target)
    status, headers, body = https_exchange(target, name, "/")
    token = _TOKEN.search(body)
    if status != 200 or token is None:
        raise ProbeFailed(f"https://{name}/ answered {status} without Roundcube's login form")
    cookies = _cookies(headers)
    form = urlencode({"_token": token.group(1).decode(), "_task": "login", "_action": "login",
                      "_timezone": "UTC", "_url": "", "_user": creds.address, "_pass": creds.password})
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    status, headers, _ = https_exchange(
        target, name, "/?_task=login", method="POST",
        headers=(("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", cookie)), body=form.encode())
    location = dict(headers).get("location", "")
    if status not in (301, 302, 303) or "_task=mail" not in location:
        raise ProbeFailed(f"https://{name}/: Roundcube refused the login of {creds.address} (HTTP {status})")
    return f"https://{name}/ logged in as {creds.address}"
