"""The message-path benchmark's reference: a hand-built mail server in one container.

From the same image the sandbox uses (localhost/mailprov-debian:RELEASE), Debian's packages
only, configured by hand with the least that works:
- stock Postfix local(8) delivery into ~/Maildir/ of a system user (LOCAL_USER);
- Postfix -> LMTP -> Dovecot 2.4 for a virtual mailbox (VIRTUAL_USER), no filter, the
  Maildir layout mailprov uses (/var/vmail/DOMAIN/USER/Maildir), LMTP concurrency in step
  with Dovecot's per-user limit as mailprov sets it, and IMAPS with a passwd-file whose hash
  comes from mailprov's own hash_password (argon2id, the same cost) and the same auth cache.
Dovecot 2.4's configuration syntax: trixie only (bookworm ships 2.3).
"""

from __future__ import annotations

from provisioner.inventory.passwords import hash_password
from provisioner.sandbox import container

NAME = "mailprov-bench7-ref"
PORT_BASE = 34000  # 127.0.0.1:34025 -> 25, 34993 -> 993 ... (4190 -> 34190)
HOSTNAME = "ref.bench.test"
LOCAL_USER = f"bench@{HOSTNAME}"
LOCAL_MAILDIR = "/home/bench/Maildir"
VIRTUAL_DOMAIN = "ref.test"
VIRTUAL_USER = f"bench@{VIRTUAL_DOMAIN}"
VIRTUAL_MAILDIR = f"/var/vmail/{VIRTUAL_DOMAIN}/bench/Maildir"
PASSWORDS = "/etc/dovecot/users"

INSTALL = f"""set -e
export DEBIAN_FRONTEND=noninteractive
echo 'postfix postfix/main_mailer_type select Internet Site' | debconf-set-selections
echo 'postfix postfix/mailname string {HOSTNAME}' | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends postfix dovecot-core dovecot-lmtpd dovecot-imapd ssl-cert
useradd -m bench
groupadd -g 5000 vmail
useradd -u 5000 -g vmail -d /var/vmail -M -s /usr/sbin/nologin vmail
install -d -o vmail -g vmail /var/vmail
postconf -e 'myhostname = {HOSTNAME}' 'mydestination = {HOSTNAME}, localhost' 'home_mailbox = Maildir/' \\
  'virtual_mailbox_domains = {VIRTUAL_DOMAIN}' 'virtual_transport = lmtp:unix:private/dovecot-lmtp' \\
  'lmtp_destination_recipient_limit = 1' 'lmtp_destination_concurrency_limit = 10'
"""

# Self-contained (Debian's conf.d is for system users); mailprov's settings where they shape
# the measured path (auth cache, Maildir layout), Dovecot's defaults everywhere else.
DOVECOT_CONF = """dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
protocols = imap lmtp
listen = *
log_path = syslog
ssl = required
ssl_server_cert_file = /etc/ssl/certs/ssl-cert-snakeoil.pem
ssl_server_key_file = /etc/ssl/private/ssl-cert-snakeoil.key
auth_allow_cleartext = no
auth_mechanisms = plain login
auth_cache_size = 10M
auth_cache_ttl = 1 hours
passdb passwd-file {
  passwd_file_path = /etc/dovecot/users
}
userdb passwd-file {
  passwd_file_path = /etc/dovecot/users
  fields {
    uid = vmail
    gid = vmail
    home = /var/vmail/%{user | domain}/%{user | username}
  }
}
first_valid_uid = 5000
mail_uid = vmail
mail_gid = vmail
mail_home = /var/vmail/%{user | domain}/%{user | username}
mail_driver = maildir
mail_path = ~/Maildir
namespace inbox {
  inbox = yes
  separator = /
}
service lmtp {
  unix_listener /var/spool/postfix/private/dovecot-lmtp {
    mode = 0600
    user = postfix
    group = postfix
  }
}
"""


def machine(release: str) -> container.Machine:
    ports = {
        service: PORT_BASE + (port if port < 1000 else port - 4000)
        for service, port in container.CONTAINER_PORTS.items()
    }
    return container.Machine(NAME, release, HOSTNAME, "mailprov.bench=reference", ports)


def build(release: str, password: str) -> container.Machine:
    """Start the reference container and configure it; `password` logs VIRTUAL_USER in."""
    ref = machine(release)
    container.start(ref)
    container.wait_ready(ref.name)
    container.exec_in(ref.name, "bash", "-c", INSTALL)
    container.exec_in(ref.name, "tee", "/etc/dovecot/dovecot.conf", stdin=DOVECOT_CONF.encode())
    line = f"{VIRTUAL_USER}:{hash_password(password)}::::::\n"
    container.exec_in(ref.name, "install", "-m", "640", "-g", "dovecot", "/dev/stdin", PASSWORDS, stdin=line.encode())
    container.exec_in(ref.name, "doveconf", "-n")  # fails on a configuration error
    container.exec_in(ref.name, "systemctl", "restart", "dovecot", "postfix")
    return ref


def remove() -> None:
    container.remove(NAME)
