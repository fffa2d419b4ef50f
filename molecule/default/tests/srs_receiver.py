"""The outside receiver of the SRS test, run inside the mail container (standard library only):

  python3 srs_receiver.py serve PORT LOG   an SMTP server on 127.0.0.1:PORT that accepts every
                                           message and appends its envelope (JSON) to LOG
  python3 srs_receiver.py spf DOMAIN IP    the SPF result (pass, fail, none) of IP for DOMAIN,
                                           from the TXT records the local unbound serves

The mail server's transport map sends srs-receiver.test here, so forwarded mail and bounces
really leave Postfix through its SMTP client. The SPF check knows ip4 and all, enough for the
test records (mail.example.test and srs-receiver.test in the offline resolver)."""

from __future__ import annotations

import ipaddress
import json
import random
import socket
import socketserver
import struct
import sys


class _Session(socketserver.StreamRequestHandler):
    def _reply(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self) -> None:
        envelope: dict[str, object] = {"client": self.client_address[0], "rcpt_to": []}
        self._reply("220 srs-receiver.test ESMTP")
        while line := self.rfile.readline():
            command = line.decode("utf-8", "replace").strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self._reply("250 srs-receiver.test")
            elif verb == "MAIL":
                envelope["mail_from"] = command.split(":", 1)[1].split()[0].strip("<>")
                self._reply("250 ok")
            elif verb == "RCPT":
                envelope["rcpt_to"].append(command.split(":", 1)[1].split()[0].strip("<>"))  # type: ignore[union-attr]
                self._reply("250 ok")
            elif verb == "DATA":
                self._reply("354 go on")
                body = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    body.append(data.decode("utf-8", "replace"))
                envelope["data"] = "".join(body)
                with open(self.server.log, "a", encoding="utf-8") as log:  # type: ignore[attr-defined]
                    log.write(json.dumps(envelope) + "\n")
                envelope = {"client": self.client_address[0], "rcpt_to": []}
                self._reply("250 queued")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("250 ok")


def serve(port: int, log: str) -> None:
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    with socketserver.ThreadingTCPServer(("127.0.0.1", port), _Session) as server:
        server.log = log  # type: ignore[attr-defined]
        server.serve_forever()


def _txt(name: str) -> list[str]:
    """TXT strings of `name` from the resolver on 127.0.0.1:53 (each record's strings joined)."""
    ident = random.randrange(65536)
    question = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"
    query = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + question + struct.pack("!HH", 16, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(query, ("127.0.0.1", 53))
        answer = sock.recv(4096)
    count = struct.unpack("!H", answer[6:8])[0]
    offset, records = 12 + len(question) + 4, []
    for _ in range(count):
        offset += 2 if answer[offset] >= 0xC0 else len(question)  # the name (a pointer here)
        rtype, _, _, length = struct.unpack("!HHIH", answer[offset : offset + 10])
        offset += 10
        rdata, offset = answer[offset : offset + length], offset + length
        if rtype == 16:
            strings, i = [], 0
            while i < len(rdata):
                strings.append(rdata[i + 1 : i + 1 + rdata[i]].decode())
                i += 1 + rdata[i]
            records.append("".join(strings))
    return records


def spf(domain: str, ip: str) -> str:
    policy = next((r for r in _txt(domain) if r.startswith("v=spf1 ")), None)
    if policy is None:
        return "none"
    for term in policy.split()[1:]:
        qualifier = {"-": "fail", "~": "softfail", "?": "neutral"}.get(term[0], "pass")
        mechanism = term.lstrip("+-~?")
        if mechanism == "all" or (mechanism.startswith("ip4:")
                                  and ipaddress.ip_address(ip) in ipaddress.ip_network(mechanism[4:])):
            return qualifier
    return "neutral"


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]), sys.argv[3])
    else:
        print(spf(sys.argv[2], sys.argv[3]))
