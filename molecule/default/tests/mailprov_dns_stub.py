"""A tiny DNS server for the molecule containers: answers TXT queries from a JSON file of
records (what `mailprov dns --format json` printed) and NXDOMAIN for everything else, so
rspamd's lookups (DKIM keys, SPF, DMARC, DNSBLs) never leave the container.

Run inside the container: python3 mailprov_dns_stub.py RECORDS.json PORT (127.0.0.1, UDP).
Standard library only: the containers have nothing else."""

from __future__ import annotations

import json
import socket
import struct
import sys

TXT = 16


def _question(packet: bytes) -> tuple[str, int, int]:
    """The queried name, its type and where the question ends."""
    labels, offset = [], 12
    while packet[offset]:
        length = packet[offset]
        labels.append(packet[offset + 1 : offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    qtype = struct.unpack("!H", packet[offset + 1 : offset + 3])[0]
    return ".".join(labels).lower() + ".", qtype, offset + 5


def _txt_rdata(value: str) -> bytes:
    data = value.encode()
    return b"".join(bytes([len(data[i : i + 255])]) + data[i : i + 255] for i in range(0, len(data), 255))


def answer(packet: bytes, records: dict[str, list[str]]) -> bytes:
    name, qtype, end = _question(packet)
    values = records.get(name, []) if qtype == TXT else []
    known = name in records
    rcode = 0 if known else 3  # NXDOMAIN for names we do not serve
    flags = 0x8400 | (struct.unpack("!H", packet[2:4])[0] & 0x0100) | 0x0080 | rcode
    header = packet[:2] + struct.pack("!HHHHH", flags, 1, len(values), 0, 0)
    body = packet[12:end]
    for value in values:
        rdata = _txt_rdata(value)
        body += struct.pack("!HHHIH", 0xC00C, TXT, 1, 60, len(rdata)) + rdata
    return header + body


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        records: dict[str, list[str]] = {}
        for record in json.load(handle):
            records.setdefault(record["name"].lower(), [])
            if record["type"] == "TXT":
                records[record["name"].lower()].append(record["value"])
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", int(sys.argv[2])))
    while True:
        packet, client = server.recvfrom(4096)
        try:
            server.sendto(answer(packet, records), client)
        except (IndexError, struct.error):
            continue


if __name__ == "__main__":
    main()
