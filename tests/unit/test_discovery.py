"""Discovery for any domain, against a real nsd and an HTTPS server, both on 127.0.0.1 only.

Every HTTPS host name is either mapped to the local server or resolved through the local nsd
(where it has no address): nothing here asks a public resolver or website.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from fake_https import Ca, Site, serve_https, silent_port

from provisioner.inventory.store import load_inventory
from provisioner.probe.client_settings import NotFound, client_settings
from provisioner.probe.discover import Network, discover
from provisioner.probe.discover_dns import resolver
from provisioner.probe.discover_http import Https

Nsd = Callable[[dict[str, str]], int]

SRV = ("_submission._tcp 3600 IN SRV 0 1 587 mail.srv.test.\n"
       "_imaps._tcp 3600 IN SRV 0 1 993 mail.srv.test.\n"
       "_pop3s._tcp 3600 IN SRV 0 1 0 .\n"  # "." with port 0: not offered
       "@ 3600 IN MX 10 aspmx.l.google.com.\n")
AUTOCONFIG = b"""<?xml version="1.0"?>
<clientConfig version="1.1"><emailProvider id="ac.test"><domain>ac.test</domain>
<incomingServer type="imap"><hostname>imap.ac.test</hostname><port>993</port><socketType>SSL</socketType>
<username>%EMAILLOCALPART%</username><authentication>password-cleartext</authentication></incomingServer>
<incomingServer type="pop3"><hostname>pop.ac.test</hostname><port>110</port><socketType>plain</socketType>
<username>%EMAILADDRESS%</username></incomingServer>
<outgoingServer type="smtp"><hostname>smtp.ac.test</hostname><port>587</port><socketType>STARTTLS</socketType>
<username>%EMAILLOCALPART%</username></outgoingServer></emailProvider></clientConfig>"""
AUTODISCOVER = b"""<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
<Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"><Account>
<Protocol><Type>IMAP</Type><Server>imap.ad.test</Server><Port>993</Port><SSL>on</SSL></Protocol>
<Protocol><Type>SMTP</Type><Server>smtp.ad.test</Server><Port>587</Port><Encryption>TLS</Encryption></Protocol>
</Account></Response></Autodiscover>"""
ZONES = {
    "srv.test": SRV,
    "ac.test": "@ 3600 IN MX 10 aspmx.l.google.com.\n",
    "wk.test": "",
    "mx.test": "@ 3600 IN MX 5 mx00.gmx.net.\n@ 3600 IN MX 10 aspmx.l.google.com.\n",
    "ad.test": "",
    "none.test": "@ 3600 IN MX 10 mail.none.test.\n",
}


@pytest.fixture
def world(nsd: Nsd, tmp_path: Path) -> Iterator[tuple[Network, Site]]:
    """nsd with every test zone; one HTTPS server for every web host; a Network using both."""
    dns_port = nsd(ZONES)
    ca = Ca(tmp_path / "ca")
    site = Site({
        ("autoconfig.ac.test", "/mail/config-v1.1.xml"): (200, AUTOCONFIG),
        ("srv.test", "/.well-known/autoconfig/mail/config-v1.1.xml"): (200, AUTOCONFIG),
        ("wk.test", "/.well-known/autoconfig/mail/config-v1.1.xml"): (200, AUTOCONFIG.replace(b"ac.test", b"wk.test")),
        ("autodiscover.ad.test", "/autodiscover/autodiscover.xml"): (200, AUTODISCOVER),
    })
    names = ["autoconfig.ac.test", "srv.test", "wk.test", "autodiscover.ad.test", "autoconfig.mx.test", "mx.test",
             "autodiscover.mx.test", "autodiscover.none.test", "autoconfig.none.test", "none.test"]
    with serve_https(site, ca.server(*names)) as port:
        res = resolver("127.0.0.1", dns_port, 2.0)
        https = Https(context=ca.client(), resolver=res, connect_to={n: ("127.0.0.1", port) for n in names})
        yield Network(res, https, timeout=2.0, budget=10.0), site


def methods(found: object) -> list[tuple[str, str]]:
    return [(a.method, a.outcome.split(":")[0]) for a in found.attempts]  # type: ignore[attr-defined]


def test_srv_records_come_first_and_stop_the_search(world: tuple[Network, Site]) -> None:
    net, site = world
    found = discover("bob@srv.test", "srv.test", net)
    assert found.label == "DNS SRV records (RFC 6186) of srv.test" and found.complete
    assert {(s.protocol, s.host, s.port, s.security) for s in found.servers} == {
        ("smtp", "mail.srv.test", 587, "starttls"), ("imap", "mail.srv.test", 993, "ssl")}
    assert methods(found) == [("srv", "found")]
    assert site.requests == []  # the autoconfig it also has was never asked


def test_autoconfig_subdomain_then_its_username_form(world: tuple[Network, Site]) -> None:
    net, site = world
    found = discover("bob@ac.test", "ac.test", net)
    assert found.label == "autoconfig document https://autoconfig.ac.test/mail/config-v1.1.xml"
    assert methods(found) == [("srv", "nothing"), ("autoconfig", "found")]
    # the plain-text POP3 server is not offered; %EMAILLOCALPART% is kept
    assert [(s.protocol, s.port, s.username) for s in found.servers] == [("imap", 993, "localpart"),
                                                                         ("smtp", 587, "localpart")]
    method, host, path, _ = site.requests[0]
    assert (method, host) == ("GET", "autoconfig.ac.test") and "emailaddress=bob%40ac.test" in path


def test_well_known_autoconfig_when_the_subdomain_has_no_address(world: tuple[Network, Site]) -> None:
    net, _ = world
    found = discover("bob@wk.test", "wk.test", net)
    assert found.label == "autoconfig document https://wk.test/.well-known/autoconfig/mail/config-v1.1.xml"
    assert methods(found) == [("srv", "nothing"), ("autoconfig", "failed"), ("well-known", "found")]
    assert "autoconfig.wk.test: no address" in found.attempts[1].outcome


def test_mx_matched_to_a_provider_of_the_table(world: tuple[Network, Site]) -> None:
    net, _ = world
    found = discover("bob@mx.test", "mx.test", net)
    assert found.label == "MX mx00.gmx.net is GMX's (provider table)"
    assert found.provider is not None and found.provider.id == "gmx"
    assert methods(found) == [("srv", "nothing"), ("autoconfig", "failed"), ("well-known", "failed"),
                              ("mx", "found")]


def test_autodiscover_last(world: tuple[Network, Site]) -> None:
    net, site = world
    found = discover("bob@ad.test", "ad.test", net)
    assert found.label == "Outlook autodiscover https://autodiscover.ad.test/autodiscover/autodiscover.xml"
    assert [(s.protocol, s.host, s.port, s.security) for s in found.servers] == [
        ("imap", "imap.ad.test", 993, "ssl"), ("smtp", "smtp.ad.test", 587, "starttls")]
    assert [m for m, _ in methods(found)] == ["srv", "autoconfig", "well-known", "mx", "autodiscover"]
    method, _, _, body = site.requests[-1]
    assert method == "POST" and b"<EMailAddress>bob@ad.test</EMailAddress>" in body


def test_settings_label_the_answer_and_list_what_was_asked(inventory: Path, world: tuple[Network, Site]) -> None:
    net, _ = world
    found = client_settings(load_inventory(inventory), "Bob@mx.test", net)
    assert found.found_by.startswith("MX mx00.gmx.net is GMX")
    assert found.incoming[0].hostname == "imap.gmx.net"
    assert any(line.startswith("mx ") and line.endswith("found") for line in found.looked_up)
    srv = client_settings(load_inventory(inventory), "bob@srv.test", net)
    assert any("username: a guess" in note for note in srv.notes)
    ac = client_settings(load_inventory(inventory), "bob@ac.test", net)
    assert ac.username == "bob" and not any("guess" in note for note in ac.notes)
    with pytest.raises(NotFound) as caught:
        client_settings(load_inventory(inventory), "bob@none.test", net)
    assert len(caught.value.looked_up) == 5


def test_a_dtd_is_refused(world: tuple[Network, Site]) -> None:
    net, site = world
    site.pages[("autoconfig.ac.test", "/mail/config-v1.1.xml")] = (
        200, b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><clientConfig>&a;</clientConfig>')
    found = discover("bob@ac.test", "ac.test", net)
    assert "XML with a DTD or entities is refused" in found.attempts[1].outcome
    assert found.provider is not None and found.provider.id == "gmail"  # the MX still answers


def test_a_dns_server_that_does_not_answer_times_out_once(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as quiet:  # bound, never read: no answer
        quiet.bind(("127.0.0.1", 0))
        res = resolver("127.0.0.1", quiet.getsockname()[1], 0.5)
        started = time.monotonic()
        found = discover("bob@example.test", "example.test", Network(res, None, timeout=0.5, budget=5.0))
        elapsed = time.monotonic() - started
    assert found.label is None
    assert methods(found) == [("srv", "failed"), ("mx", "failed")]
    assert "DNS did not answer before" in found.attempts[1].outcome
    assert elapsed < 2.0


def test_a_web_server_that_never_answers_times_out_quickly(nsd: Nsd) -> None:
    res = resolver("127.0.0.1", nsd({"quiet.test": ""}), 1.0)
    with silent_port() as port:
        https = Https(resolver=res, connect_to={"autoconfig.quiet.test": ("127.0.0.1", port),
                                                "quiet.test": ("127.0.0.1", port),
                                                "autodiscover.quiet.test": ("127.0.0.1", port)})
        started = time.monotonic()
        found = discover("bob@quiet.test", "quiet.test", Network(res, https, timeout=0.5, budget=0.8))
        elapsed = time.monotonic() - started
    outcomes = [a.outcome for a in found.attempts]
    assert outcomes[1] == "failed: https://autoconfig.quiet.test/mail/config-v1.1.xml?emailaddress=bob%40quiet.test: " \
                          "no answer in time"
    assert outcomes[-1] == "skipped: time budget used"  # the budget bounds the whole search
    assert elapsed < 2.0


def test_cli_discovers_through_the_given_nameserver(cli: Callable[..., Result], nsd: Nsd) -> None:
    port = str(nsd(ZONES))
    result = cli("settings", "bob@srv.test", "--nameserver", "127.0.0.1", "--port", port, "--timeout", "1")
    assert result.exit_code == 0, result.output
    assert "Found by:        DNS SRV records (RFC 6186) of srv.test" in result.output
    assert "mail.srv.test" in result.output and "srv          _*._tcp.srv.test SRV: found" in result.output
    data = json.loads(cli("settings", "bob@mx.test", "--nameserver", "127.0.0.1", "--port", port,
                          "--timeout", "1", "--format", "json").output)
    assert data["found_by"].startswith("MX mx00.gmx.net")
    missing = cli("settings", "bob@none.test", "--nameserver", "127.0.0.1", "--port", port, "--timeout", "1")
    assert missing.exit_code == 1 and "no mail settings found for none.test" in missing.output
    bad = cli("settings", "bob@none.test", "--nameserver", "dns.example")
    assert bad.exit_code == 2 and "--nameserver: 'dns.example' is not an IP address" in bad.output
