"""Configuration snapshots of a container and what an upgrade changed in them (no container: tar in memory)."""

from __future__ import annotations

import io
import tarfile

from provisioner.rehearse.config_snapshot import MAX_TEXT, compare, is_secret, parse, summary_line

MAIN_CF = "smtpd_banner = $myhostname ESMTP\nmyhostname = mail.example.org\nsmtp_sasl_password_maps = hash:/etc/postfix/sasl_passwd\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----\n"


def archive(files: dict[str, str | bytes], links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in {n.rsplit("/", 1)[0] for n in files}:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buf.getvalue()


BEFORE = {
    "etc/postfix/main.cf": MAIN_CF,
    "etc/postfix/sasl_passwd": "[smtp.example.net]:587 user:old-secret\n",
    "etc/postfix/mailprov/virtual_mailboxes": "a@example.org OK\n",
    "etc/postfix/mailprov/virtual_mailboxes.db": b"\0binary map",
    "etc/dovecot/mailprov/users": "a@example.org:{ARGON2ID}$argon2id$v=19$...\n",
    "etc/mailprov/tls/mail.example.org.key": KEY,
    "etc/dovecot/dovecot.conf": "protocols = imap\n",
}


def test_parse_keeps_text_hashes_secrets_and_leaves_compiled_maps_out() -> None:
    snap = parse(archive(BEFORE, {"etc/dovecot/private/dovecot.pem": "/etc/ssl/certs/ssl-cert-snakeoil.pem"}))
    assert "/etc/postfix/mailprov/virtual_mailboxes.db" not in snap
    assert snap["/etc/postfix/main.cf"].text == MAIN_CF and not snap["/etc/postfix/main.cf"].secret
    for secret in ("/etc/postfix/sasl_passwd", "/etc/dovecot/mailprov/users", "/etc/mailprov/tls/mail.example.org.key"):
        assert snap[secret].secret and snap[secret].text is None, secret
        assert len(snap[secret].sha256) == 64
    assert snap["/etc/dovecot/private/dovecot.pem"].link == "/etc/ssl/certs/ssl-cert-snakeoil.pem"
    assert parse(b"") == {}


def test_secrets_are_found_by_content_too() -> None:
    assert is_secret("/etc/rspamd/local.d/redis.conf", b'servers = "127.0.0.1";\npassword = "x";\n')
    assert is_secret("/etc/redis/redis.conf", b"port 6379\nrequirepass abc\n")
    assert is_secret("/etc/whatever.pem", KEY.encode())
    assert is_secret("/etc/rspamd/local.d/worker-controller.inc", b'password = "$2$abc";\n')
    assert not is_secret("/etc/postfix/main.cf", MAIN_CF.encode())  # smtp_sasl_password_maps is a setting


def test_big_and_binary_files_are_compared_by_hash_only() -> None:
    snap = parse(archive({"etc/postfix/big": "x" * (MAX_TEXT + 1), "etc/postfix/bin": b"\xff\xfe\0"}))
    assert snap["/etc/postfix/big"].text is None and snap["/etc/postfix/bin"].text is None
    after = parse(archive({"etc/postfix/big": "y" * (MAX_TEXT + 1), "etc/postfix/bin": b"\xff\xfe\1"}))
    assert [c.describe() for c in compare(snap, after)] == ["changed (not text)", "changed (not text)"]


def test_compare_lists_added_removed_changed_with_line_counts_and_never_secret_content() -> None:
    after = dict(BEFORE)
    after["etc/postfix/main.cf"] = MAIN_CF.replace("ESMTP", "ESMTP ready") + "smtpd_milters = inet:localhost:11332\n"
    after["etc/postfix/sasl_passwd"] = "[smtp.example.net]:587 user:new-secret\n"
    del after["etc/dovecot/dovecot.conf"]
    after["etc/rspamd/local.d/milter_headers.conf"] = "use = [\"x-spam-status\"];\n"
    after["etc/postfix/mailprov/virtual_mailboxes.db"] = b"\0other bytes"  # left out: not reported
    changes = {c.path: c for c in compare(parse(archive(BEFORE)), parse(archive(after)))}
    assert sorted(changes) == [
        "/etc/dovecot/dovecot.conf", "/etc/postfix/main.cf", "/etc/postfix/sasl_passwd",
        "/etc/rspamd/local.d/milter_headers.conf",
    ]
    main = changes["/etc/postfix/main.cf"]
    assert (main.status, main.added_lines, main.removed_lines) == ("changed", 2, 1)
    assert main.describe() == "changed +2 -1"
    assert main.diff is not None and "+smtpd_milters = inet:localhost:11332" in main.diff
    assert main.diff.startswith("--- a/etc/postfix/main.cf\n+++ b/etc/postfix/main.cf\n")
    sasl = changes["/etc/postfix/sasl_passwd"]
    assert sasl.secret and sasl.diff is None and sasl.added_lines is None
    assert sasl.describe() == "changed (secret: content not shown)"
    assert changes["/etc/dovecot/dovecot.conf"].describe() == "removed +0 -1"
    assert changes["/etc/rspamd/local.d/milter_headers.conf"].describe() == "added +1 -0"
    assert all("secret" not in (c.diff or "") for c in changes.values())
    assert summary_line(list(changes.values())) == "2 changed, 1 added, 1 removed"
    assert summary_line([]) == "none"
