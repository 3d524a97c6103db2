#!/usr/bin/env python3
"""Records a proxy chain on loopback: curl → nginx (Debian's, as a reverse proxy) → a small
Python backend. Run as root:  sudo python3 sample-captures/record_chain.py

Two requests are answered on one keep-alive client connection (nginx reuses its upstream
connection for both); then a client with a 1 s timeout (`curl --max-time 1`) asks for /slow,
which the backend answers after 1.5 s. The client gives up first; nginx logs 499 and closes its
upstream connection; the backend writes its answer into the closed socket, draws a RST, and its
next write fails with EPIPE (`write: broken pipe`).

Beside proxy-chain.pcap it writes proxy-chain.kernel.txt (the kernel's state changes and `ss`,
as record.py does), proxy-chain.nginx-access.log (nginx's own record of each request: its
connection number, the client's address, the request, the status, the upstream it used) and
proxy-chain.app.txt (what the client and the backend reported).
"""

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from record import OUT, KernelTrace, ensure, ss_states, write  # noqa: E402

PROXY, BACKEND = 18030, 18031
NAME = "proxy-chain"

NGINX_CONF = """user root; daemon off; worker_processes 1; pid {tmp}/nginx.pid; error_log {tmp}/error.log info;
events {{ worker_connections 64; }}
http {{
  log_format chain '$connection $remote_addr:$remote_port "$request" $status $upstream_addr';
  access_log {tmp}/access.log chain;
  upstream backend {{ server 127.0.0.1:{backend}; keepalive 4; }}
  server {{
    listen 127.0.0.1:{proxy};
    location / {{
      proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $remote_addr; proxy_read_timeout 10s;
    }}
  }}
}}
"""

app_log = []


def serve(conn):
    """One backend connection: keep-alive HTTP/1.1, /slow answered after 1.5 s."""
    data = b""
    while True:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                conn.close()
                return
            data += chunk
        head, data = data.split(b"\r\n\r\n", 1)
        path = head.split(b" ")[1].decode()
        body = ("answer for %s\n" % path).encode() * 8
        if path == "/slow":
            time.sleep(1.5)
        try:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
            time.sleep(0.05)
            conn.sendall(body)
            if path == "/slow":
                time.sleep(0.05)
                conn.sendall(body)
        except OSError as err:
            app_log.append(f"backend {path}: write: {err.strerror.lower()} (errno {err.errno})")
            conn.close()
            return


def backend():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", BACKEND))
    srv.listen(8)
    srv.settimeout(6)
    try:
        while True:
            conn, _ = srv.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
    except socket.timeout:
        srv.close()


def main():
    ensure("nginx", "curl")
    pcap = os.path.join(OUT, NAME + ".pcap")
    with tempfile.TemporaryDirectory() as tmp:
        write(os.path.join(tmp, "nginx.conf"), NGINX_CONF.format(tmp=tmp, proxy=PROXY, backend=BACKEND))
        threading.Thread(target=backend, daemon=True).start()
        trace = KernelTrace(PROXY, also=(BACKEND,))
        dump = subprocess.Popen(["tcpdump", "-i", "lo", "--immediate-mode", "-U", "-n", "-w", pcap,
                                 f"tcp port {PROXY} or tcp port {BACKEND}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        nginx = subprocess.Popen(["nginx", "-c", os.path.join(tmp, "nginx.conf")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        base = f"http://127.0.0.1:{PROXY}"
        fast = subprocess.run(["curl", "-s", "-w", "%{http_code} %{url_effective}\\n", "-o", "/dev/null",
                               base + "/fast/1", "-o", "/dev/null", base + "/fast/2"], capture_output=True, timeout=10)
        app_log.extend("client " + line for line in fast.stdout.decode().split("\n") if line)
        time.sleep(0.2)
        slow = subprocess.run(["curl", "-sS", "--max-time", "1", "-o", "/dev/null", base + "/slow"],
                              capture_output=True, timeout=10)
        app_log.append(f"client /slow: exit {slow.returncode}: {slow.stderr.decode().strip()}")
        time.sleep(1.5)
        nginx.terminate()
        nginx.wait()
        time.sleep(0.5)
        ss = sorted(set(ss_states(PROXY) + ss_states(BACKEND)))
        dump.terminate()
        dump.wait()
        events = trace.stop()
        with open(os.path.join(tmp, "access.log")) as f:
            access = f.read()
        write(os.path.join(OUT, NAME + ".nginx-access.log"), access)
    lines = ["# kernel state changes (sport dport old new), then ss -tan at the end of the capture"]
    lines += [f"event {e}" for e in events] + [f"ss {row}" for row in ss]
    write(os.path.join(OUT, NAME + ".kernel.txt"), "\n".join(lines) + "\n")
    write(os.path.join(OUT, NAME + ".app.txt"), "\n".join(app_log) + "\n")
    print(f"{NAME}: {len(events)} kernel events")
    print(access)
    print("\n".join(app_log))


if __name__ == "__main__":
    main()
