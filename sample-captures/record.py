#!/usr/bin/env python3
"""Records the scenarios in sample-captures/ from the real kernel on loopback.

Run as root on Linux (tcpdump and tracefs need it):  sudo python3 sample-captures/record.py [NAME...]

For each scenario it captures `lo` with tcpdump while Python sockets perform it, and writes beside
the capture NAME.kernel.txt: the kernel's own record of each socket's state changes (tracepoint
sock/inet_sock_set_state) and `ss -tan` at the end of the capture. Integration tests compare what
tcpladder infers from the capture with that record. Ports are fixed per scenario, so runs are
repeatable; all traffic stays on loopback and each scenario ends within a few seconds.
"""

import os
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = HERE
TRACING = "/sys/kernel/tracing"
EVENT = TRACING + "/events/sock/inet_sock_set_state"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


class KernelTrace:
    """Collects inet_sock_set_state events for one port."""

    def __init__(self, port, also=()):
        if not os.path.exists(EVENT):
            subprocess.run(["mount", "-t", "tracefs", "nodev", TRACING], check=False)
        write(EVENT + "/enable", "0")
        write(EVENT + "/filter", " || ".join(f"sport == {p} || dport == {p}" for p in (port, *also)))
        write(TRACING + "/trace", "")
        write(EVENT + "/enable", "1")

    def stop(self):
        write(EVENT + "/enable", "0")
        write(EVENT + "/filter", "0")
        with open(TRACING + "/trace") as f:
            lines = [l.strip() for l in f if "inet_sock_set_state" in l]
        events = []
        for line in lines:
            fields = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
            events.append(f"{fields['sport']} {fields['dport']} {fields['oldstate']} {fields['newstate']}")
        return events


def ss_states(port):
    out = subprocess.run(["ss", "-tanH"], capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 5 and (parts[3].endswith(f":{port}") or parts[4].endswith(f":{port}")):
            rows.append(f"{parts[0]} {parts[3]} {parts[4]}")
    return rows


def record(name, port, scenario, iface="lo", family=socket.AF_INET, keep_open=None):
    """Captures `scenario(port)` and writes NAME.pcap and NAME.kernel.txt."""
    pcap = os.path.join(OUT, name + ".pcap")
    trace = KernelTrace(port)
    dump = subprocess.Popen(
        ["tcpdump", "-i", iface, "--immediate-mode", "-U", "-n", "-w", pcap, f"tcp port {port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    held = scenario(port, family)
    time.sleep(0.5)
    ss = ss_states(port)
    dump.terminate()
    dump.wait()
    events = trace.stop()
    for sock in held or []:
        sock.close()
    # Keep only this run's sockets: earlier runs may still hold TIME_WAIT on the same port.
    ports = {p for e in events for p in e.split()[:2]} - {"0", str(port)}
    ss = [row for row in ss if not row.startswith("TIME-WAIT") or any(f":{p} " in row + " " for p in ports)]
    lines = [f"# kernel state changes (sport dport old new), then ss -tan at the end of the capture"]
    lines += [f"event {e}" for e in events]
    lines += [f"ss {s}" for s in ss]
    write(os.path.join(OUT, name + ".kernel.txt"), "\n".join(lines) + "\n")
    print(f"{name}: {len(events)} kernel events, ss: {ss}")
    return events


LOCAL = {socket.AF_INET: "127.0.0.1", socket.AF_INET6: "::1"}


def listener(port, family, backlog=8):
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((LOCAL[family], port))
    srv.listen(backlog)
    return srv


def connect(port, family, timeout=5.0):
    c = socket.socket(family, socket.SOCK_STREAM)
    c.settimeout(timeout)
    c.connect((LOCAL[family], port))
    return c


def read_all(sock):
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def client_closes_first(port, family):
    srv = listener(port, family)
    c = connect(port, family)
    s, _ = srv.accept()
    c.sendall(b"GET / HTTP/1.0\r\n\r\n")
    s.recv(100)
    s.sendall(b"HTTP/1.0 200 OK\r\n\r\nhello\n")
    c.recv(100)
    time.sleep(0.05)
    c.close()
    read_all(s)
    time.sleep(0.05)
    s.close()
    srv.close()


def server_closes_first(port, family):
    srv = listener(port, family)
    c = connect(port, family)
    s, _ = srv.accept()
    c.sendall(b"request\n")
    s.recv(100)
    s.sendall(b"response\n")
    time.sleep(0.05)
    s.close()
    read_all(c)
    time.sleep(0.05)
    c.close()
    srv.close()


def simultaneous_close(port, family):
    srv = listener(port, family)
    c = connect(port, family)
    s, _ = srv.accept()
    c.sendall(b"x")
    s.recv(10)
    barrier = threading.Barrier(2)

    def shut(sock):
        barrier.wait()
        sock.shutdown(socket.SHUT_WR)

    threads = [threading.Thread(target=shut, args=(x,)) for x in (c, s)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(0.1)
    c.close()
    s.close()
    srv.close()


def unread_data_reset(port, family):
    srv = listener(port, family)
    c = connect(port, family)
    s, _ = srv.accept()
    c.sendall(b"data the server never reads\n")
    time.sleep(0.05)
    s.close()  # Unread data in the receive queue: the kernel sends RST, not FIN.
    time.sleep(0.05)
    try:
        c.recv(100)
    except ConnectionResetError:
        print("  client saw ECONNRESET on read")
    c.close()
    srv.close()


def broken_pipe(port, family):
    srv = listener(port, family)
    c = connect(port, family)
    s, _ = srv.accept()
    s.close()  # The server closes at once (FIN).
    time.sleep(0.05)
    c.sendall(b"first write succeeds\n")  # Draws a RST from the closed socket.
    time.sleep(0.05)
    write_after_reset("client", c, b"second write\n")
    c.close()
    srv.close()


def write_after_reset(who, sock, data):
    """A write after the peer's RST came: says which errno the kernel gave."""
    try:
        sock.sendall(data)
    except BrokenPipeError:
        print(f"  {who} saw EPIPE on write")
    except ConnectionResetError:
        print(f"  {who} saw ECONNRESET on write")


def refused(port, family):
    c = socket.socket(family, socket.SOCK_STREAM)
    try:
        c.connect((LOCAL[family], port))
    except ConnectionRefusedError:
        print("  client saw ECONNREFUSED")
    c.close()


def linger_zero(port, family):
    srv = listener(port, family)
    c = connect(port, family)
    s, _ = srv.accept()
    c.sendall(b"hello\n")
    s.recv(100)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()  # Abortive close: RST at once.
    time.sleep(0.05)
    try:
        s.recv(100)
    except ConnectionResetError:
        print("  server saw ECONNRESET on read")
    s.close()
    srv.close()


def half_close(port, family):
    srv = listener(port, family)
    c = connect(port, family)
    s, _ = srv.accept()
    c.sendall(b"all of the request\n")
    c.shutdown(socket.SHUT_WR)
    read_all(s)
    time.sleep(0.05)
    s.sendall(b"the response, after the client's FIN\n")
    s.close()
    read_all(c)
    c.close()
    srv.close()


def close_wait(port, family):
    srv = listener(port, family)
    c = connect(port, family)
    s, _ = srv.accept()
    c.sendall(b"bye\n")
    s.recv(100)
    c.close()
    time.sleep(0.2)
    # The server never calls close(): its socket stays in CLOSE_WAIT past the end of the capture.
    return [s, srv]


def close_wait_pileup(port, family):
    """A server that leaks sockets: it answers each request and never calls close(), so every
    connection the client finishes stays in CLOSE_WAIT on the server, one more every 100 ms."""
    srv = listener(port, family, backlog=64)
    leaked = []
    for _ in range(20):
        c = connect(port, family)
        s, _ = srv.accept()
        c.sendall(b"GET /\n")
        s.recv(100)
        s.sendall(b"200 OK\n")
        c.recv(100)
        c.close()
        leaked.append(s)
        time.sleep(0.1)
    return leaked + [srv]


def zero_window(port, family):
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    srv.bind((LOCAL[family], port))
    srv.listen(1)
    c = connect(port, family)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    s, _ = srv.accept()
    c.setblocking(False)
    sent = 0
    deadline = time.time() + 1.5
    while time.time() < deadline:
        try:
            sent += c.send(b"z" * 1024)
        except BlockingIOError:
            time.sleep(0.01)
    print(f"  client queued {sent} bytes before the window closed")
    s.setblocking(False)
    try:
        while True:
            if not s.recv(65536):
                break
    except BlockingIOError:
        pass
    time.sleep(0.1)
    c.close()
    s.close()
    srv.close()


def accept_queue_full(port, family):
    srv = listener(port, family, backlog=0)
    first = connect(port, family)  # Fills the accept queue; nobody calls accept().
    second = socket.socket(family, socket.SOCK_STREAM)
    second.settimeout(2.5)
    try:
        second.connect((LOCAL[family], port))
        print("  second connect succeeded")
    except (socket.timeout, TimeoutError):
        print("  second connect timed out")
    time.sleep(0.2)
    return [first, second, srv]


def keep_alive(port, family):
    srv = listener(port, family)
    c = connect(port, family)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
    s, _ = srv.accept()
    c.sendall(b"ping\n")
    s.recv(10)
    time.sleep(3.3)
    c.close()
    read_all(s)
    s.close()
    srv.close()


def client_timeout(port, family):
    """A slow server and a client with a 1 s timeout: the client gives up and closes; the server,
    still working, writes its response into the closed socket (RST), and its next write fails
    with EPIPE: the server-side "broken pipe" of "the client disconnected"."""
    srv = listener(port, family)
    c = connect(port, family, timeout=1.0)
    s, _ = srv.accept()
    c.sendall(b"GET /slow HTTP/1.1\r\nHost: api.local\r\n\r\n")
    s.recv(1000)
    try:
        c.recv(1000)
    except socket.timeout:
        print("  client timed out after 1 s")
    c.close()
    time.sleep(0.5)  # The server took 1.5 s in all.
    body = b"slow answer\n"
    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    time.sleep(0.05)
    write_after_reset("server", s, b"more")
    s.close()
    srv.close()


def keepalive_race(port, family):
    """A server that closes an idle keep-alive connection after 1 s, as it announced; the client
    reuses the connection just after the server's FIN arrived, and the request draws a RST."""
    srv = listener(port, family)
    c = connect(port, family)
    s, _ = srv.accept()
    c.sendall(b"GET /first HTTP/1.1\r\nHost: api.local\r\n\r\n")
    s.recv(1000)
    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=1\r\n\r\nok")
    c.recv(1000)
    time.sleep(1.0)
    s.close()  # The keep-alive timeout: the server closes the idle connection.
    time.sleep(0.05)
    c.sendall(b"GET /second HTTP/1.1\r\nHost: api.local\r\n\r\n")
    time.sleep(0.05)
    try:
        print("  client read", c.recv(1000))
        print("  client read", c.recv(1000))
    except ConnectionResetError:
        print("  client saw ECONNRESET")
    c.close()
    srv.close()


def slow_response(port, family):
    """Six requests on one keep-alive connection: five answered at once, one (`/report`) after
    400 ms of the server's work. The connection is healthy; one response is slow."""
    srv = listener(port, family)
    c = connect(port, family)
    s, _ = srv.accept()
    for path in ["/items/1", "/items/2", "/report", "/items/3", "/items/4", "/items/5"]:
        c.sendall(b"GET %s HTTP/1.1\r\nHost: api.local\r\n\r\n" % path.encode())
        s.recv(1000)
        if path == "/report":
            time.sleep(0.4)
        body = b"answer for %s\n" % path.encode()
        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        c.recv(1000)
        time.sleep(0.02)
    c.close()
    time.sleep(0.05)
    s.close()
    srv.close()


def openssl_pair(port, server_args, client_args):
    """An `openssl s_server` with a throwaway certificate for api.local, and one `s_client`
    against it that sends nothing and closes."""
    import tempfile
    ensure("openssl")
    with tempfile.TemporaryDirectory() as tmp:
        key, cert = os.path.join(tmp, "k.pem"), os.path.join(tmp, "c.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=api.local"], check=True, capture_output=True)
        server = subprocess.Popen(["openssl", "s_server", "-accept", str(port), "-key", key, "-cert", cert, "-quiet",
                                   "-naccept", "1", *server_args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        client = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "api.local",
                                 *client_args], input=b"", capture_output=True, timeout=10)
        print("  s_client:", (client.stdout + client.stderr).decode(errors="replace").splitlines()[:1])
        time.sleep(0.3)
        server.kill()
        server.wait()


def tls_handshake(port, family):
    """TLS 1.3 with SNI api.local and ALPN h2 offered and chosen."""
    openssl_pair(port, ["-tls1_3", "-alpn", "h2"], ["-alpn", "h2,http/1.1"])


def tls_alert(port, family):
    """A client that speaks only TLS 1.2 to a server that wants 1.3: the server answers the
    ClientHello with a fatal protocol_version alert, in the clear."""
    openssl_pair(port, ["-tls1_3"], ["-tls1_2", "-alpn", "h2"])


REDIS_COMMANDS = b"SET session:42 hello\nGET session:42\nINCR visits\nLRANGE missing 0 -1\nGET nothing\nNOSUCHCOMMAND x\n"


def redis(port, family):
    """`redis-cli` sends six commands on one connection to a `redis-server` (no persistence); what
    redis-cli printed for each reply is written beside the capture, for the tests."""
    ensure("redis-server", "redis-cli")
    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                               "--bind", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    client = subprocess.run(["redis-cli", "-p", str(port)], input=REDIS_COMMANDS, capture_output=True, timeout=10)
    write(os.path.join(OUT, "redis.redis-cli.txt"), client.stdout.decode(errors="replace"))
    time.sleep(0.2)
    server.terminate()
    server.wait()


# The programs the scenarios run, by the Debian package that has them: installed when missing.
PROGRAMS = {"openssl": "openssl", "redis-server": "redis-server", "redis-cli": "redis-tools",
            "nginx": "nginx-light", "curl": "curl", "dnsmasq": "dnsmasq-base", "dig": "bind9-dnsutils",
            "nghttp": "nghttp2-client"}


def ensure(*programs):
    import shutil
    missing = [PROGRAMS[p] for p in programs if not shutil.which(p) and not os.path.exists("/usr/sbin/" + p)]
    if missing:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True, env=env)


NGINX_CONF = """user root; daemon off; worker_processes 1; pid {tmp}/nginx.pid; error_log {tmp}/error.log;
events {{ worker_connections 64; }}
http {{ access_log {tmp}/access.log; keepalive_timeout 5s; client_body_temp_path {tmp}; {extra}
  server {{ listen 127.0.0.1:{port} {http2}; root {tmp}/www; }} }}
"""


def nginx_curl(port, curl_args, http2="", client="curl", extra="", upload=0):
    """An nginx serving index.html (and nothing else) on `port`, with the `extra` directives in
    its http block, and one `curl` (or `nghttp`) that fetches the paths of `curl_args` on one
    connection (with `upload`, nghttp POSTs that many zero bytes to each); what it printed goes
    to stdout."""
    import tempfile
    ensure("nginx", client)
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "www"))
        write(os.path.join(tmp, "www", "index.html"), "<html><body>" + "tcpladder " * 200 + "</body></html>\n")
        write(os.path.join(tmp, "nginx.conf"), NGINX_CONF.format(tmp=tmp, port=port, http2=http2, extra=extra))
        server = subprocess.Popen(["nginx", "-c", os.path.join(tmp, "nginx.conf")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        base = f"http://127.0.0.1:{port}"
        if client == "nghttp":
            body = []
            if upload:
                write(os.path.join(tmp, "upload"), "\0" * upload)
                body = ["-d", os.path.join(tmp, "upload")]
            command = ["nghttp", "-n", "-s", *body, *[base + path for path in curl_args]]
        else:
            # Each URL's body goes to /dev/null (one -o per URL).
            args = [part for a in curl_args for part in (["-o", "/dev/null", base + a] if a.startswith("/") else [a])]
            command = ["curl", "-s", "-w", "%{http_code} %{url_effective}\\n", *args]
        done = subprocess.run(command, capture_output=True, timeout=10)
        print(f"  {client}:", done.stdout.decode(errors="replace").split("\n")[-6:])
        time.sleep(0.3)
        server.terminate()
        server.wait()


def nginx_keepalive(port, family):
    """curl fetches /index.html, /missing (404) and /index.html again from nginx on one
    keep-alive connection, then closes it."""
    nginx_curl(port, ["/index.html", "/missing", "/index.html"])


def http2_cleartext(port, family):
    """`nghttp` speaks HTTP/2 with prior knowledge to nginx (`listen … http2`) and asks for
    /index.html, /missing (404) and /index.html at once, on three streams of one connection.
    (curl 7.88 with --http2-prior-knowledge fails a second URL on a reused connection with
    "Error in the HTTP2 framing layer", so one client that multiplexes is used instead.)"""
    nginx_curl(port, ["/index.html", "/missing", "/index.html?again"], http2="http2", client="nghttp")


def http2_rst_stream(port, family):
    """`nghttp` POSTs 300 KB to nginx over HTTP/2 (prior knowledge), whose
    `client_max_body_size 1k` refuses it: nginx answers 413 before the body has all arrived, then
    resets the stream with RST_STREAM NO_ERROR so the client stops sending it (RFC 9113 §8.1)."""
    nginx_curl(port, ["/index.html"], http2="http2", client="nghttp", extra="client_max_body_size 1k;",
               upload=300_000)


def dns_tcp(port, family):
    """`dig +tcp +keepopen` asks dnsmasq three questions on one connection: an A record it
    knows, the AAAA of the same name (no answer), and a name in a domain it serves that does
    not exist (NXDOMAIN)."""
    ensure("dnsmasq", "dig")
    server = subprocess.Popen(["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--port", str(port),
                               "--listen-address=127.0.0.1", "--bind-interfaces", "--address=/api.local/10.1.2.3",
                               "--local=/local/", "--pid-file="], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    client = subprocess.run(["dig", "+tcp", "+keepopen", "+short", "-p", str(port), "@127.0.0.1",
                             "api.local", "A", "api.local", "AAAA", "missing.local", "A"],
                            capture_output=True, timeout=10)
    print("  dig:", client.stdout.decode(errors="replace").split("\n"))
    time.sleep(0.3)
    server.terminate()
    server.wait()


def to_bsd_null(src, dst):
    """Rewrites an Ethernet capture of loopback as macOS lo0 writes it (DLT_NULL, AF in host order)."""
    with open(src, "rb") as f:
        data = f.read()
    magic, major, minor, zone, sigfigs, snaplen, _link = struct.unpack("<IHHiIII", data[:24])
    out = [struct.pack("<IHHiIII", magic, major, minor, zone, sigfigs, snaplen, 0)]
    at = 24
    while at + 16 <= len(data):
        sec, frac, caplen, length = struct.unpack("<IIII", data[at : at + 16])
        frame = data[at + 16 : at + 16 + caplen]
        ether_type = struct.unpack(">H", frame[12:14])[0]
        family = 2 if ether_type == 0x0800 else 30
        body = struct.pack("<I", family) + frame[14:]
        out.append(struct.pack("<IIII", sec, frac, len(body), length - 14 + 4) + body)
        at += 16 + caplen
    with open(dst, "wb") as f:
        f.write(b"".join(out))


SCENARIOS = {
    "handshake-client-close": (18001, client_closes_first, {}),
    "server-close-first": (18002, server_closes_first, {}),
    "simultaneous-close": (18003, simultaneous_close, {}),
    "unread-data-reset": (18004, unread_data_reset, {}),
    "broken-pipe": (18005, broken_pipe, {}),
    "refused": (18006, refused, {}),
    "linger-zero-abort": (18007, linger_zero, {}),
    "half-close": (18008, half_close, {}),
    "close-wait": (18009, close_wait, {}),
    "zero-window": (18010, zero_window, {}),
    "accept-queue-full": (18011, accept_queue_full, {}),
    "keep-alive": (18012, keep_alive, {}),
    "ipv6-handshake": (18013, client_closes_first, {"family": socket.AF_INET6}),
    "handshake-sll2": (18014, client_closes_first, {"iface": "any"}),
    "close-wait-pileup": (18015, close_wait_pileup, {}),
    "client-timeout": (18016, client_timeout, {}),
    "keepalive-race": (18017, keepalive_race, {}),
    "tls-handshake": (18018, tls_handshake, {}),
    "tls-alert": (18019, tls_alert, {}),
    "redis": (18020, redis, {}),
    "slow-response": (18021, slow_response, {}),
    "nginx-keepalive": (18022, nginx_keepalive, {}),
    "http2-cleartext": (18023, http2_cleartext, {}),
    "dns-tcp": (18025, dns_tcp, {}),
    "http2-rst-stream": (18026, http2_rst_stream, {}),
}


def main(names):
    os.makedirs(OUT, exist_ok=True)
    for name in names or list(SCENARIOS):
        port, scenario, options = SCENARIOS[name]
        # Crossing FINs depend on timing: repeat until the kernel reports CLOSING.
        for attempt in range(60 if name == "simultaneous-close" else 1):
            events = record(name, port, scenario, **options)
            if name != "simultaneous-close" or any("TCP_CLOSING" in e for e in events):
                break
    if not names or "handshake-client-close" in names:
        to_bsd_null(os.path.join(OUT, "handshake-client-close.pcap"), os.path.join(OUT, "handshake-bsd-null.pcap"))
        src = os.path.join(OUT, "handshake-client-close.kernel.txt")
        with open(src) as f:
            write(os.path.join(OUT, "handshake-bsd-null.kernel.txt"), f.read())


if __name__ == "__main__":
    main(sys.argv[1:])
