"""Roundcube (roles/webmail) in a real browser: Debian's chromium, headless, driven by Selenium
through Debian's chromium-driver (nothing downloaded), on trixie's published 443 port.

The browser resolves the mail name to 127.0.0.1 (--host-resolver-rules) and accepts the test
certificate; every other request it might make is mapped nowhere. Both releases get the
HTTP-level checks (headers, no installer, the size limit); the browser session runs on trixie.
A screenshot of the inbox is kept in artifacts/ (git-ignored).
"""

from __future__ import annotations

import base64
import os
import shutil
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import dkim
import pytest
from conftest import (
    HOSTNAME,
    PASSWORDS,
    PORT_BASE,
    PROJECT,
    Server,
    container,
    dkim_dnsfunc,
    mailprov_dns,
    make_message,
    token,
)
from mail_clients import connect

USER = "carol@example.test"  # the catch-all target: a filter on a token subject disturbs no other test
PEER = "bob@example.test"
ARTIFACTS = PROJECT / "artifacts"
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")

webdriver: Any = None
try:
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:  # pragma: no cover - requirements-dev.txt pins it
    pass


def _get(server: Server, path: str) -> tuple[int, dict[str, str], str]:
    """GET https://mail.example.test{path} through the published port (no certificate check:
    the name and chain are test_services' business)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(f"https://127.0.0.1:{server.port(443)}{path}", headers={"Host": HOSTNAME})
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), ""


def test_login_page_is_served_with_security_headers(server: Server) -> None:
    status, headers, body = _get(server, "/")
    assert status == 200 and 'id="rcmloginuser"' in body, body[:500]
    csp = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'self'" in csp and "object-src 'none'" in csp, headers
    assert headers.get("X-Frame-Options") == "SAMEORIGIN", headers
    assert "Strict-Transport-Security" in headers


@pytest.mark.parametrize("path", ["/installer/", "/installer/index.php", "/config/config.inc.php",
                                  "/program/include/iniset.php", "/.htaccess", "/SQL/sqlite.initial.sql",
                                  "/logs/errors.log"])
def test_no_installer_configuration_or_logs_reachable(server: Server, path: str) -> None:
    status, _, body = _get(server, path)
    assert status == 404, (path, status, body[:300])


def test_uploads_are_limited_to_the_message_size_limit(server: Server) -> None:
    """molecule's group_vars: mail_message_size_limit 20M."""
    pool = server.host.run("grep -h upload_max_filesize /etc/php/*/fpm/pool.d/mailprov-webmail.conf")
    assert pool.stdout.split("=")[-1].strip() == str(20 * 1024 * 1024), pool.stdout
    config = server.host.file("/etc/roundcube/config.inc.php")
    assert config.mode == 0o640 and config.group == "www-data"
    assert f"max_message_size'] = '{20 * 1024 * 1024}'" in config.content_string


def test_des_key_is_made_on_the_server_and_private(server: Server) -> None:
    key = server.host.file("/etc/roundcube/mailprov-des-key")
    assert key.mode == 0o640 and key.user == "root" and key.group == "www-data"
    assert len(key.content_string.strip()) == 24
    # Not Debian's sample value, not in the configuration file itself.
    assert key.content_string.strip() not in server.host.file("/etc/roundcube/config.inc.php").content_string


def test_apache_stays_out(server: Server) -> None:
    for package in ("apache2", "apache2-bin", "libapache2-mod-php8.4", "libapache2-mod-php8.2"):
        assert not server.host.package(package).is_installed, package


# --- The browser (trixie) ------------------------------------------------------------------


@pytest.fixture(scope="module")
def trixie() -> Server:
    return connect(container("trixie"), "trixie", PORT_BASE["trixie"])


@pytest.fixture(scope="module")
def browser(trixie: Server) -> Iterator[Any]:
    if webdriver is None or not CHROMIUM or not CHROMEDRIVER:
        pytest.fail("the browser test needs selenium (requirements-dev.txt) and Debian's chromium and "
                    "chromium-driver (scripts/install-host-deps.sh)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                     "--ignore-certificate-errors", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-features=OptimizationHints",
                     # Only the mail name exists for this browser; it is the container's published port.
                     f"--host-resolver-rules=MAP {HOSTNAME} 127.0.0.1, MAP * ~NOTFOUND"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _url(server: Server, query: str = "") -> str:
    return f"https://{HOSTNAME}:{server.port(443)}/{query}"


def _wait(driver: Any, condition: Callable[[Any], Any], timeout: float = 30) -> Any:
    return WebDriverWait(driver, timeout).until(condition)


def _login(driver: Any, server: Server, user: str, password: str) -> None:
    driver.delete_all_cookies()
    driver.get(_url(server))
    _wait(driver, lambda d: d.find_elements(By.ID, "rcmloginuser"))
    driver.find_element(By.ID, "rcmloginuser").send_keys(user)
    driver.find_element(By.ID, "rcmloginpwd").send_keys(password)
    driver.find_element(By.ID, "rcmloginsubmit").click()


def test_wrong_password_is_refused_and_logged_with_the_client_address(browser: Any, trixie: Server) -> None:
    _login(browser, trixie, USER, "not-" + PASSWORDS[USER])
    _wait(browser, lambda d: "Login failed" in d.find_element(By.TAG_NAME, "body").text)
    assert browser.find_elements(By.ID, "rcmloginuser")
    # What fail2ban's roundcube-auth filter reads (roles/bans): the user and the client's address.
    log = trixie.host.file("/var/log/roundcube/errors.log").content_string
    failed = [line for line in log.splitlines() if f"Login failed for {USER}" in line]
    assert failed and " from " in failed[-1], log[-1000:]


def test_login_shows_a_message_sent_over_smtp_and_opens_it(browser: Any, trixie: Server) -> None:
    subject = token("webmail-inbox")
    with trixie.submission(587, PEER) as smtp:
        smtp.send_message(make_message(PEER, [USER], subject, f"Hello from SMTP {subject}"))
    assert trixie.imap_fetch(USER, subject) is not None
    _login(browser, trixie, USER, PASSWORDS[USER])
    _wait(browser, lambda d: d.find_elements(By.ID, "messagelist"))
    _wait(browser, lambda d: subject in d.find_element(By.ID, "messagelist").text, timeout=60)
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "webmail-inbox-trixie.png"))
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "#messagelist tbody tr") if subject in r.text)
    # Roundcube's row id is "rcmrow" + the UID in unpadded base64.
    encoded = row.get_attribute("id").removeprefix("rcmrow")
    uid = base64.b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    browser.get(_url(trixie, f"?_task=mail&_mbox=INBOX&_uid={uid}&_action=show"))
    _wait(browser, lambda d: d.find_elements(By.ID, "messagebody"))
    text = browser.find_element(By.TAG_NAME, "body").text
    assert subject in text and f"Hello from SMTP {subject}" in text, text


def test_message_composed_in_the_browser_arrives_dkim_signed(browser: Any, trixie: Server) -> None:
    subject = token("webmail-compose")
    _login(browser, trixie, USER, PASSWORDS[USER])
    _wait(browser, lambda d: d.find_elements(By.ID, "messagelist"))
    browser.get(_url(trixie, f"?_task=mail&_action=compose&_to={quote(PEER)}"))
    _wait(browser, lambda d: d.find_elements(By.ID, "compose-subject"))
    browser.find_element(By.ID, "compose-subject").send_keys(subject)
    browser.find_element(By.ID, "composebody").send_keys(f"Written in Roundcube {subject}")
    browser.execute_script("rcmail.command('send', {})")
    _wait(browser, lambda d: "_action=compose" not in d.current_url, timeout=60)
    delivered = trixie.imap_fetch(PEER, subject)
    assert delivered is not None and f"Written in Roundcube {subject}".encode() in delivered
    assert dkim.verify(delivered, dnsfunc=dkim_dnsfunc(mailprov_dns(trixie.container))), delivered[:2000]


def test_filter_made_in_the_settings_files_a_later_message(browser: Any, trixie: Server) -> None:
    folder = "Webmail-Filtered"
    imap = trixie.imaps(USER)
    try:
        imap.create(folder)
        imap.subscribe(folder)  # Roundcube lists the subscribed folders
    finally:
        imap.logout()
    marker = token("webmail-filter")
    _login(browser, trixie, USER, PASSWORDS[USER])
    _wait(browser, lambda d: d.find_elements(By.ID, "messagelist"))
    browser.get(_url(trixie, "?_task=settings&_action=plugin.managesieve-action&_framed=1"))
    _wait(browser, lambda d: d.find_elements(By.ID, "_name"))
    browser.find_element(By.ID, "_name").send_keys("mailprov test " + marker)
    Select(browser.find_element(By.ID, "header0")).select_by_value("subject")
    Select(browser.find_element(By.ID, "rule_op0")).select_by_value("contains")
    browser.find_element(By.CSS_SELECTOR, "input[name^='_rule_target[0]']").send_keys(marker)
    Select(browser.find_element(By.ID, "action_type0")).select_by_value("fileinto")
    Select(browser.find_element(By.ID, "action_mailbox0")).select_by_value(folder)
    browser.execute_script("rcmail.command('plugin.managesieve-save')")
    # Stored by Dovecot's ManageSieve service as the user's active script.
    deadline = time.monotonic() + 30
    while marker not in trixie.host.run(f"doveadm sieve get -u {USER} managesieve").stdout:
        assert time.monotonic() < deadline, trixie.host.run(f"doveadm sieve list -u {USER}").stdout
        time.sleep(1)
    subject = f"{marker} after the filter"
    with trixie.submission(587, PEER) as smtp:
        smtp.send_message(make_message(PEER, [USER], subject))
    assert trixie.imap_fetch(USER, subject, mailbox=folder) is not None
    assert trixie.imap_fetch(USER, subject, mailbox="INBOX", wait=2) is None


def test_screenshot_was_kept() -> None:
    shot = ARTIFACTS / "webmail-inbox-trixie.png"
    assert shot.is_file() and shot.stat().st_size > 10_000, shot
    os.utime(shot)
