"""The SRS check of `mailprov check` against a scripted SMTP server."""

from __future__ import annotations

import pytest
from fake_smtp import HOSTNAME, Script, serve
from test_probe import CREDS, target

from provisioner.probe.session import ProbeFailed, Skip
from provisioner.probe.srs import srs_address, srs_running


def test_srs_address_accepted_and_mail_from_outside_passes() -> None:
    script = Script(rcpt_to="250 2.1.5 Ok")
    with serve(script) as port:
        assert "mail from outside passed postsrsd" in srs_running(target(CREDS, port=port))
    assert f"RCPT TO:<{srs_address(HOSTNAME)}>" in script.commands
    assert f"RCPT TO:<{CREDS.address}>" in script.commands
    assert "DATA" in script.commands


def test_without_an_account_only_the_srs_address_is_tried() -> None:
    script = Script(rcpt_to="250 2.1.5 Ok")
    with serve(script) as port:
        assert "postsrsd not exercised" in srs_running(target(None, port=port))
    assert "DATA" not in script.commands


def test_srs_addresses_refused_means_srs_is_off() -> None:
    with serve(Script(rcpt_to="554 5.7.1 Relay access denied")) as port, pytest.raises(Skip, match="SRS is off"):
        srs_running(target(CREDS, port=port))


def test_mail_from_outside_deferred_means_postsrsd_is_down() -> None:
    script = Script(rcpt_to="250 2.1.5 Ok", data_end="451 4.3.0 Error: queue file write error")
    with serve(script) as port, pytest.raises(ProbeFailed, match="is postsrsd running"):
        srs_running(target(CREDS, port=port))
