#!/usr/bin/env python3
"""Records one connection from two vantage points, with real loss between them. Run as root:
    sudo python3 sample-captures/record_vantage.py

Three network namespaces made for the purpose: a client, a router and a server, joined by two
veth pairs (addresses of our own, 10.252.1.0/24 and 10.252.2.0/24, only inside them). The
router drops 8% of the segments it forwards (nftables, `numgen random`), so some leave the
client and never reach the server, and the other way round. tcpdump runs on the client's
interface and on the server's. The server's capture is then written with its clock moved by
+1.234567 s, as an unsynchronised second machine would stamp it.

Writes two-vantage-client.pcap and two-vantage-server.pcap (the clock-shifted one), and deletes
the namespaces.
"""

import os
import struct
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NS = ["tlvclient", "tlvrouter", "tlvserver"]
SHIFT_MICROS = 1_234_567
PORT = 18050


def sh(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True)


def setup():
    for ns in NS:
        sh("ip", "netns", "del", ns, check=False)
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "link", "add", "tlvc0", "netns", NS[0], "type", "veth", "peer", "name", "tlvr0", "netns", NS[1])
    sh("ip", "link", "add", "tlvr1", "netns", NS[1], "type", "veth", "peer", "name", "tlvs0", "netns", NS[2])
    for ns, dev, addr in [(NS[0], "tlvc0", "10.252.1.1/24"), (NS[1], "tlvr0", "10.252.1.2/24"),
                          (NS[1], "tlvr1", "10.252.2.2/24"), (NS[2], "tlvs0", "10.252.2.1/24")]:
        sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
        sh("ip", "-n", ns, "link", "set", dev, "up")
    sh("ip", "-n", NS[0], "route", "add", "default", "via", "10.252.1.2")
    sh("ip", "-n", NS[2], "route", "add", "default", "via", "10.252.2.2")
    sh("ip", "netns", "exec", NS[1], "sysctl", "-qw", "net.ipv4.ip_forward=1")
    rules = (f"table inet loss {{\n chain forward {{\n  type filter hook forward priority 0;\n"
             f"  tcp dport {PORT} numgen random mod 100 < 8 drop\n"
             f"  tcp sport {PORT} numgen random mod 100 < 8 drop\n }}\n}}\n")
    subprocess.run(["ip", "netns", "exec", NS[1], "nft", "-f", "-"], input=rules, text=True, check=True)


def shift(path, micros):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    at = 24
    while at + 16 <= len(data):
        sec, usec, caplen, _ = struct.unpack_from("<IIII", data, at)
        total = sec * 1_000_000 + usec + micros
        struct.pack_into("<II", data, at, total // 1_000_000, total % 1_000_000)
        at += 16 + caplen
    with open(path, "wb") as f:
        f.write(data)


def main():
    try:
        setup()
        client_pcap = os.path.join(HERE, "two-vantage-client.pcap")
        server_pcap = os.path.join(HERE, "two-vantage-server.pcap")
        dumps = [subprocess.Popen(["ip", "netns", "exec", ns, "tcpdump", "-i", dev, "--immediate-mode", "-U", "-n",
                                   "-s", "128", "-w", out, f"tcp port {PORT}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for ns, dev, out in [(NS[0], "tlvc0", client_pcap), (NS[2], "tlvs0", server_pcap)]]
        time.sleep(1.5)
        server = subprocess.Popen(["ip", "netns", "exec", NS[2], "python3", "-c",
                                   "import socket; s=socket.socket(); s.bind(('10.252.2.1', %d)); s.listen(); "
                                   "c,_=s.accept(); n=0\n"
                                   "while n < 60000:\n d=c.recv(65536)\n n+=len(d)\n if not d: break\n"
                                   "c.sendall(b'r' * 20000); c.close()" % PORT])
        time.sleep(0.5)
        subprocess.run(["ip", "netns", "exec", NS[0], "python3", "-c",
                        "import socket; c=socket.create_connection(('10.252.2.1', %d)); "
                        "[c.sendall(b'q' * 2000) or __import__('time').sleep(0.002) for _ in range(30)]; d=b''\n"
                        "while True:\n x=c.recv(65536)\n if not x: break\n d+=x\n"
                        "c.close(); print('client read', len(d))" % PORT], check=True, timeout=60)
        server.wait(timeout=60)
        time.sleep(1.0)
        for dump in dumps:
            dump.terminate()
            dump.wait()
        shift(server_pcap, SHIFT_MICROS)
        for path in (client_pcap, server_pcap):
            count = sh("tcpdump", "-nr", path).stdout.count("\n")
            print(f"{os.path.basename(path)}: {count} packets")
    finally:
        for ns in NS:
            sh("ip", "netns", "del", ns, check=False)


if __name__ == "__main__":
    main()
