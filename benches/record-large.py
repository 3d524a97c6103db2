#!/usr/bin/env python3
"""Records a large, reproducible loopback capture for benchmarks (run as root).

    sudo python3 benches/record-large.py OUT.pcap [CONNECTIONS] [EXCHANGES]

Each of CONNECTIONS client connections (default 10,000) makes EXCHANGES request/response round
trips (default 48) of fixed sizes and closes, four clients at a time, against a local server on
port 19000. With the handshake and the close that is about 100 packets per connection, so the
default gives over 1,000,000 TCP packets. tcpdump keeps the first 96 bytes of each packet
(all headers), and reports drops at the end: a run with drops should be repeated.
"""

import socket
import subprocess
import sys
import threading
import time

PORT = 19000
REQUEST = b"q" * 64
RESPONSE = b"r" * 200


def serve(srv):
    def handle(conn):
        with conn:
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                conn.sendall(RESPONSE)

    while True:
        try:
            conn, _ = srv.accept()
        except OSError:
            return
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def client(count, exchanges):
    for _ in range(count):
        with socket.create_connection(("127.0.0.1", PORT)) as c:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for _ in range(exchanges):
                c.sendall(REQUEST)
                got = 0
                while got < len(RESPONSE):
                    got += len(c.recv(4096))


def main():
    out = sys.argv[1]
    connections = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    exchanges = int(sys.argv[3]) if len(sys.argv) > 3 else 48
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", PORT))
    srv.listen(512)
    threading.Thread(target=serve, args=(srv,), daemon=True).start()
    dump = subprocess.Popen(
        ["tcpdump", "-i", "lo", "-n", "-s", "96", "-B", "262144", "-w", out, f"tcp port {PORT}"],
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)
    workers = 4
    threads = [threading.Thread(target=client, args=(connections // workers, exchanges)) for _ in range(workers)]
    started = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(1.0)
    dump.terminate()
    _, err = dump.communicate()
    srv.close()
    print(f"{connections} connections x {exchanges} exchanges in {time.time() - started:.1f} s")
    print(err.strip())


if __name__ == "__main__":
    main()
