#!/usr/bin/env python3
"""Writes a pcap of many short TCP connections, for measuring memory per connection:

    python3 benches/make-short-connections.py OUT.pcap [CONNECTIONS] [--syn-only] [--gap-us N] [--long]

Each connection comes from its own (address, port) to 10.0.0.1:80 and is a handshake then, for
three in four, an RST from the client, and for the rest a full close (FIN, FIN, ACK): 4.5 packets
each on average. With --syn-only every connection is a lone SYN (a SYN flood). Ethernet, no payload,
packets 1 µs apart; with --gap-us N each connection begins N µs after the one before (a server
taking 1,000,000 / N connections a second), so a capture spans minutes as real ones do. With --long
one more connection, first of all, stays open to the end, a byte each way every 30 s (a database
pool's or a monitor's): every later row waits behind it in id order.
"""
import struct
import sys


def checksum(data):
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return b"\x00\x00\x00\x00\x00\x02" + b"\x00\x00\x00\x00\x00\x01" + b"\x08\x00" + ip + tcp


def main():
    out, count = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 1_000_000
    syn_only = "--syn-only" in sys.argv
    gap = int(sys.argv[sys.argv.index("--gap-us") + 1]) if "--gap-us" in sys.argv else 0
    long = "--long" in sys.argv
    server = bytes([10, 0, 0, 1])
    SYN, ACK, FIN, RST, PSH = 0x02, 0x10, 0x01, 0x04, 0x08
    ts = 1_700_000_000 * 1_000_000
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        pool, db = bytes([10, 255, 0, 1]), bytes([10, 0, 0, 2])
        talk = [(pool, db, 9999, 5432, 1, 0, SYN), (db, pool, 5432, 9999, 7, 2, SYN | ACK),
                (pool, db, 9999, 5432, 2, 8, ACK)] if long else []
        sent = [2, 8]
        next_talk = ts
        for n in range(count):
            if long and ts >= next_talk:
                if not talk:
                    talk = [(pool, db, 9999, 5432, sent[0], sent[1], PSH | ACK, b"x"),
                            (db, pool, 5432, 9999, sent[1], sent[0] + 1, PSH | ACK, b"y")]
                    sent = [sent[0] + 1, sent[1] + 1]
                for p in talk:
                    data = frame(*p)
                    ts += 1
                    f.write(struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(data), len(data)) + data)
                talk = []
                next_talk = ts + 30_000_000
            client = bytes([11, (n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF])
            port = 1024 + n % 60000
            c, s = 1000, 5000
            packets = [(client, server, port, 80, c, 0, SYN)]
            if not syn_only:
                packets += [(server, client, 80, port, s, c + 1, SYN | ACK),
                            (client, server, port, 80, c + 1, s + 1, ACK)]
                if n % 4:
                    packets.append((client, server, port, 80, c + 1, s + 1, RST | ACK))
                else:
                    packets += [(client, server, port, 80, c + 1, s + 1, FIN | ACK),
                                (server, client, 80, port, s + 1, c + 2, FIN | ACK),
                                (client, server, port, 80, c + 2, s + 2, ACK)]
            ts += gap
            for p in packets:
                data = frame(*p)
                ts += 1
                f.write(struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(data), len(data)) + data)


main()
