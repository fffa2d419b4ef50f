from __future__ import annotations

import datetime as dt

from provisioner.probe.tlsinfo import TlsInfo


def info(names: tuple[str, ...], protocol: str = "TLSv1.3", days: int = 30) -> TlsInfo:
    return TlsInfo(protocol, names, dt.datetime.now(dt.UTC) + dt.timedelta(days=days), True, "00" * 32)


def test_name_matching() -> None:
    assert info(("mail.example.org",)).matches("MAIL.example.org")
    assert info(("*.example.org",)).matches("mail.example.org")
    assert not info(("*.example.org",)).matches("a.b.example.org")
    assert not info(("other.example.org",)).matches("mail.example.org")


def test_problems() -> None:
    assert info(("mail.example.org",)).problems("mail.example.org") == []
    assert "protocol TLSv1.1" in info(("m",), "TLSv1.1").problems("m")[0]
    assert "expired" in info(("m",), days=-2).problems("m")[0]
    assert "do not cover" in info(("x",)).problems("m")[0]
