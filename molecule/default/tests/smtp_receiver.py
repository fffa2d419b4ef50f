#!/usr/bin/env python3
"""A minimal receiving MTA for the outbound TLS tests (stdlib only, runs inside the mail
container's network namespace on ADDRESS:PORT, a loopback address). It offers STARTTLS when given a certificate,
and appends one JSON line per accepted message to LOG: the recipients and whether the session
was encrypted, so a test can prove that mail was (or was never) sent, and never in clear.

    python3 smtp_receiver.py ADDRESS PORT LOG [CERT KEY]
"""

from __future__ import annotations

import json
import socketserver
import ssl
import sys

ADDRESS, PORT, LOG = sys.argv[1], int(sys.argv[2]), sys.argv[3]
CONTEXT = None
if len(sys.argv) > 5:
    CONTEXT = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    CONTEXT.load_cert_chain(sys.argv[4], sys.argv[5])


class Session(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        tls, recipients = False, []
        self.reply("220 receiver.test ESMTP")
        while line := self.rfile.readline():
            verb = line.decode("utf-8", "replace").strip().split(" ")[0].upper()
            if verb == "EHLO":
                extra = ["250-STARTTLS"] if CONTEXT is not None and not tls else []
                for item in ["250-receiver.test", *extra, "250-8BITMIME", "250 SMTPUTF8"]:
                    self.reply(item)
            elif verb == "STARTTLS" and CONTEXT is not None and not tls:
                self.reply("220 go ahead")
                self.request = CONTEXT.wrap_socket(self.request, server_side=True)
                self.rfile = self.request.makefile("rb")
                self.wfile = self.request.makefile("wb")
                tls = True
            elif verb == "RCPT":
                recipients.append(line.decode().split(":", 1)[1].strip())
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go on")
                while self.rfile.readline() not in (b".\r\n", b".\n", b""):
                    pass
                with open(LOG, "a", encoding="utf-8") as log:
                    log.write(json.dumps({"port": PORT, "tls": tls, "rcpt": recipients}) + "\n")
                recipients = []
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:  # MAIL, RSET, NOOP, HELO
                self.reply("250 ok")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


Server((ADDRESS, PORT), Session).serve_forever()
