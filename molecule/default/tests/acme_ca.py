"""A real ACME CA for the acme tests: Debian's pebble (and pebble-challtestsrv as its DNS), in
a container of its own that shares a mail server's network namespace (`--network
container:...`), so every connection stays on that namespace's 127.0.0.1:

- certbot on the mail server talks to pebble at https://127.0.0.1:14000/dir (pebble's HTTPS
  certificate is signed by a test CA made here: the inventory's `mail_tls.ca_file`);
- pebble resolves names through challtestsrv (127.0.0.1:8053), which answers only the names
  given to `start` (all 127.0.0.1), and validates http-01 on port 80: the mail server's nginx.
A name not given to `start` does not resolve: pebble refuses it."""

from __future__ import annotations

import json
import subprocess
import time

DIRECTORY = "https://127.0.0.1:14000/dir"
_IMAGE = "localhost/mailprov-debian:trixie"

_SETUP = """set -eu
apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends pebble openssl \\
  postfix-mta-sts-resolver >/dev/null
mkdir -p /etc/pebble
cd /etc/pebble
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \\
  -subj '/CN=mailprov test ACME server CA' -addext 'basicConstraints=critical,CA:TRUE' \\
  -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout key.pem -out cert.csr -subj '/CN=localhost' 2>/dev/null
printf '%s\\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' 'basicConstraints=critical,CA:FALSE' \\
  'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=serverAuth' \\
  'authorityKeyIdentifier=keyid' 'subjectKeyIdentifier=hash' > leaf.ext
openssl x509 -req -in cert.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cert.pem -days 2 \\
  -extfile leaf.ext 2>/dev/null
cat > pebble.json <<'CONF'
{"pebble": {"listenAddress": "127.0.0.1:14000", "managementListenAddress": "127.0.0.1:15000",
  "certificate": "/etc/pebble/cert.pem", "privateKey": "/etc/pebble/key.pem",
  "httpPort": 80, "tlsPort": 443, "ocspResponderURL": "", "externalAccountBindingRequired": false}}
CONF
systemd-run --unit=mailprov-challtestsrv --quiet pebble-challtestsrv -defaultIPv4 '' -defaultIPv6 '' \\
  -dns01 127.0.0.1:8053 -http01 '' -https01 '' -tlsalpn01 '' -doh '' -management 127.0.0.1:8055
systemd-run --unit=mailprov-pebble --quiet --setenv=PEBBLE_VA_NOSLEEP=1 --setenv=PEBBLE_WFE_NONCEREJECT=0 \\
  pebble -config /etc/pebble/pebble.json -dnsserver 127.0.0.1:8053
"""

_PY_GET = """import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile="/etc/pebble/ca.pem")
print(urllib.request.urlopen(sys.argv[1], context=ctx, timeout=10).read().decode())
"""

_PY_POST = """import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), method="POST")
urllib.request.urlopen(req, timeout=10).read()
"""


class CA:
    """pebble beside one mail server's container."""

    def __init__(self, mail_server: str) -> None:
        self.mail_server = mail_server
        self.name = f"{mail_server}-pebble"

    def _podman(self, *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, check=False)

    def exec(self, *argv: str, timeout: int = 600) -> str:
        result = self._podman("exec", self.name, *argv, timeout=timeout)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        return result.stdout

    def start(self, names: list[str]) -> None:
        """pebble up, `names` resolving to 127.0.0.1 for its validations."""
        self.remove()
        started = self._podman(
            "run", "-d", "--name", self.name, "--runtime=runc", "--ulimit", "nofile=20000:20000",
            "--ulimit", "nproc=32768:32768", f"--network=container:{self.mail_server}", _IMAGE, "/sbin/init",
        )  # fmt: skip
        assert started.returncode == 0, started.stderr
        deadline = time.monotonic() + 120
        state = ("exec", self.name, "systemctl", "is-system-running", "--wait")
        while self._podman(*state, timeout=130).stdout.strip() not in ("running", "degraded"):
            assert time.monotonic() < deadline, "the pebble container did not boot"
            time.sleep(1)
        self.exec("sh", "-c", _SETUP)
        deadline = time.monotonic() + 60
        while True:
            ready = self._podman("exec", self.name, "python3", "-c", _PY_GET, DIRECTORY, timeout=30)
            if ready.returncode == 0:
                break
            assert time.monotonic() < deadline, ready.stderr[-2000:]
            time.sleep(0.5)
        for name in names:
            self.exec("python3", "-c", _PY_POST, "http://127.0.0.1:8055/add-a",
                      json.dumps({"host": f"{name}.", "addresses": ["127.0.0.1"]}))  # fmt: skip

    def https_ca(self) -> str:
        """The CA that signed pebble's own HTTPS certificate (what certbot must trust)."""
        return self.exec("cat", "/etc/pebble/ca.pem")

    def root(self) -> str:
        """pebble's issuing root (made at its start): what clients of the mail server trust."""
        return self.exec("python3", "-c", _PY_GET, "https://127.0.0.1:15000/roots/0")

    def remove(self) -> None:
        self._podman("rm", "-f", "-t", "0", self.name, timeout=120)
