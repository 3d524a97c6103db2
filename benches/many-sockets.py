#!/usr/bin/env python3
"""Holds N TCP sockets on loopback (N/2 connected pairs and a listener per holder) until stdin
closes: for timing `tcpladder sockets` against `ss -tanp` on a busy machine. Sockets are spread
over processes of 10,000 each, under a hard open-files limit of 20,000. Run it inside a network
namespace of your own, as benches/sockets.sh does.

    python3 benches/many-sockets.py 50000
"""
import os, resource, socket, sys

PER_PROCESS = 10_000
count = int(sys.argv[1]) if len(sys.argv) > 1 else 50000
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

def hold(n, ready):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4096)
    held = []
    for _ in range(n // 2):
        held.append(socket.create_connection(listener.getsockname()))
        held.append(listener.accept()[0])
    os.write(ready, b"x")
    sys.stdin.read()
    os._exit(0)

ready_r, ready_w = os.pipe()
holders = []
left = count
while left > 0:
    n = min(PER_PROCESS, left)
    pid = os.fork()
    if pid == 0:
        hold(n, ready_w)
    holders.append(pid)
    left -= n
for _ in holders:
    os.read(ready_r, 1)
print(count, flush=True)
sys.stdin.read()
for pid in holders:
    os.waitpid(pid, 0)
