#!/usr/bin/env python3
"""Records the loss scenarios in sample-captures/ from the real kernel, in a network namespace.

Run as root on Linux:  sudo python3 sample-captures/record_loss.py [NAME...]
Needs ip, nft, tcpdump and bpftrace.

netem is not available everywhere, nftables is: each scenario runs in a namespace of its own whose
`lo` drops packets at the input hook (randomly, or exactly the first SYN, SYN-ACK, FIN, ...).
tcpdump on that `lo` captures before the hook, so the capture holds the dropped packet too, exactly
the evidence a capture point upstream of a loss holds. `lo` is made to look like a network (MTU
1500, no GRO/GSO/TSO) so one kernel retransmission is one packet.

Beside NAME.pcap it writes NAME.kernel.txt: the kernel's own record, taken by bpftrace (each probe
delivers to bpftrace's own buffer, so parallel recordings never clear each other's):
  clock REALTIME_MINUS_MONOTONIC_NS
  event SPORT DPORT OLD NEW                 the state changes in order (as record.py writes them)
  state NS SPORT DPORT OLD NEW              the same with the kernel's time (monotonic ns)
  retransmit NS SPORT DPORT SEQ END_SEQ     tcp_retransmit_skb with the skb's own sequence range
  retransmit_synack NS SPORT DPORT          tcp_retransmit_synack
  ss STATE LOCAL PEER                       ss -tan at the end
The sequence numbers are the kernel's (TCP_SKB_CB(skb)->seq), so each retransmission is tied to
its packet exactly, not guessed from timing.
"""

import os
import re
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NS = "tcpladder-loss"
STATES = {1: "TCP_ESTABLISHED", 2: "TCP_SYN_SENT", 3: "TCP_SYN_RECV", 4: "TCP_FIN_WAIT1", 5: "TCP_FIN_WAIT2",
          6: "TCP_TIME_WAIT", 7: "TCP_CLOSE", 8: "TCP_CLOSE_WAIT", 9: "TCP_LAST_ACK", 10: "TCP_LISTEN",
          11: "TCP_CLOSING", 12: "TCP_NEW_SYN_RECV"}
# The offset of sk_buff.cb on x86-64 Linux 5.x-6.x; checked below against the captured sequence numbers.
CB_OFFSET = 40

PROBES = """
tracepoint:sock:inet_sock_set_state /args->protocol == 6 && (args->sport == PORT || args->dport == PORT)/ {
  printf("state %llu %u %u %d %d\\n", nsecs, args->sport, args->dport, args->oldstate, args->newstate);
}
tracepoint:tcp:tcp_retransmit_skb /args->err == 0 && (args->sport == PORT || args->dport == PORT)/ {
  $cb = (struct tcp_skb_cb *)((uint64)args->skbaddr + CB_OFFSET);
  printf("retransmit %llu %u %u %u %u\\n", nsecs, args->sport, args->dport, $cb->seq, $cb->end_seq);
}
tracepoint:tcp:tcp_retransmit_synack /args->sport == PORT || args->dport == PORT/ {
  printf("retransmit_synack %llu %u %u\\n", nsecs, args->sport, args->dport);
}
BEGIN { printf("ready\\n"); }
"""


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


def nft(rule):
    """Adds a rule to the namespace's input chain (run inside the namespace)."""
    sh("nft", f"add rule inet loss in {rule}")


# ---- scenarios: each runs inside the namespace, as `record_loss.py --inside NAME PORT` ----

def listener(port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(8)
    return srv


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def read_all(sock):
    total = 0
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return total
        total += len(chunk)


def random_loss(port, percent):
    nft(f"tcp dport {port} numgen random mod 100 < {percent} drop")
    nft(f"tcp sport {port} numgen random mod 100 < {percent} drop")


def bulk(port, percent):
    random_loss(port, percent)
    srv = listener(port)
    c = connect(port)
    s, _ = srv.accept()
    got = []
    reader = threading.Thread(target=lambda: got.append(read_all(s)))
    reader.start()
    c.sendall(b"x" * 3_000_000)
    c.shutdown(socket.SHUT_WR)
    reader.join()
    s.close()
    read_all(c)
    c.close()
    srv.close()
    print(f"  server read {got} bytes")


def request_response(port):
    random_loss(port, 4)
    srv = listener(port)
    c = connect(port)
    s, _ = srv.accept()
    for _ in range(12):
        c.sendall(b"q" * 6000)
        need = 6000
        while need:
            need -= len(s.recv(need))
        s.sendall(b"r" * 24000)
        need = 24000
        while need:
            need -= len(c.recv(need))
    c.close()
    read_all(s)
    s.close()
    srv.close()


def exchange_and_close(port, before_client_close=None, before_server_close=None, pause=0.0):
    """A connection with one small exchange; the client closes first."""
    srv = listener(port)
    c = connect(port)
    s, _ = srv.accept()
    time.sleep(pause)
    c.sendall(b"request\n")
    s.recv(100)
    s.sendall(b"response\n")
    c.recv(100)
    time.sleep(0.05)
    if before_client_close:
        before_client_close()
    c.close()
    read_all(s)
    time.sleep(0.05)
    if before_server_close:
        before_server_close()
    s.close()
    time.sleep(0.6)
    srv.close()


def first_syn(port):
    # A SYN with MSS, SACK, timestamps and window scale is a 60-byte packet: `quota until 61 bytes`
    # matches the first one only (the second takes the quota past 61).
    nft(f"tcp dport {port} tcp flags & (syn|ack) == syn quota until 61 bytes drop")
    exchange_and_close(port)


def first_synack(port):
    nft(f"tcp sport {port} tcp flags & (syn|ack) == syn|ack quota until 61 bytes drop")
    exchange_and_close(port)


def handshake_ack(port):
    # The client's handshake ACK is the first 52-byte pure ACK to the server; the client then stays
    # silent, so the server's SYN-ACK retransmission draws the ACK that completes its handshake.
    nft(f"tcp dport {port} tcp flags == ack meta length 52 quota until 53 bytes drop")
    exchange_and_close(port, pause=1.5)


def first_fin(port):
    drop_fin = lambda: nft(f"tcp dport {port} tcp flags & fin == fin quota until 53 bytes drop")
    exchange_and_close(port, before_client_close=drop_fin)


def last_ack(port):
    # Armed once the server has read the client's FIN: the next pure ACK to the server is the last one.
    drop_ack = lambda: nft(f"tcp dport {port} tcp flags == ack quota until 53 bytes drop")
    exchange_and_close(port, before_server_close=drop_ack)


def fin_behind_hole(port):
    srv = listener(port)
    c = connect(port)
    s, _ = srv.accept()
    # The first data segment, and its first retransmission, are lost: they alone begin with "A" (the
    # payload's first byte, 32 bytes into a TCP header with timestamps). The rest and the FIN arrive
    # behind the hole, which the retransmission after the timeout fills.
    nft(f"tcp dport {port} @th,256,8 0x41 quota until 3001 bytes drop")
    c.sendall(b"A" + b"d" * 11999)
    c.close()
    got = read_all(s)
    s.close()
    time.sleep(0.6)
    srv.close()
    print(f"  server read {got} bytes")


# ---- the kernel's features, each with its sysctl (they are per network namespace) ----

def sysctl(name, value):
    with open("/proc/sys/net/ipv4/" + name, "w") as f:
        f.write(str(value))


def ecn(port):
    sysctl("tcp_ecn", 1)
    # Mark some data segments Congestion Experienced: the receiver echoes ECE, the sender answers CWR.
    nft(f"tcp dport {port} meta length > 1000 numgen random mod 100 < 20 ip ecn set ce")
    srv = listener(port)
    c = connect(port)
    s, _ = srv.accept()
    reader = threading.Thread(target=lambda: read_all(s))
    reader.start()
    for _ in range(20):
        c.sendall(b"e" * 3000)
        time.sleep(0.002)
    c.close()
    reader.join()
    s.close()
    time.sleep(0.6)
    srv.close()


MSG_FASTOPEN = 0x20000000


def fast_open(port):
    sysctl("tcp_fastopen", 3)
    srv = listener(port)
    srv.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 5)
    for attempt in range(2):
        # The first connection asks for a cookie; the second sends its request inside the SYN.
        c = socket.socket()
        c.sendto(b"GET / HTTP/1.1\r\nHost: fast-open\r\n\r\n", MSG_FASTOPEN, ("127.0.0.1", port))
        s, _ = srv.accept()
        s.recv(100)
        s.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
        c.recv(100)
        c.close()
        read_all(s)
        s.close()
        time.sleep(0.05)
    time.sleep(0.6)
    srv.close()


def syn_cookies(port):
    sysctl("tcp_syncookies", 2)  # cookies for every SYN, not only under a flood
    exchange_and_close(port)


def abort_on_overflow(port):
    sysctl("tcp_abort_on_overflow", 1)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(1)  # the accept queue holds 2 (the kernel's test is "more than the backlog")
    first = connect(port)
    # The second client's handshake ACK is lost; a third connection fills the queue meanwhile, so
    # the second's request (which carries the ACK again) finds it full: the server answers RST.
    nft(f"tcp dport {port} tcp flags == ack meta length 52 quota until 53 bytes drop")
    second = connect(port)
    third = connect(port)
    time.sleep(0.05)
    second.sendall(b"request\n")
    try:
        second.recv(100)
    except ConnectionResetError:
        print("  second client: ECONNRESET")
    for sock in (first, second, third):
        sock.close()
    time.sleep(0.2)
    srv.close()


def emfile(port):
    srv = listener(port)
    pid = os.fork()
    if pid == 0:
        import resource
        # One descriptor left: the first accept() succeeds, every later one fails with EMFILE and
        # the connections wait, complete, in the accept queue.
        limit = len(os.listdir("/proc/self/fd"))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
        conn, _ = srv.accept()
        conn.recv(100)
        conn.sendall(b"served\n")
        end = time.time() + 1.5
        while time.time() < end:
            try:
                srv.accept()
            except OSError as err:
                if err.errno != 24:
                    raise
                time.sleep(0.1)
        os._exit(0)
    srv.close()
    clients = [connect(port) for _ in range(4)]
    for c in clients:
        c.settimeout(0.5)  # the client's own timeout
        c.sendall(b"request\n")
    for c in clients:
        try:
            c.recv(100)
        except socket.timeout:
            pass
        c.close()
    os.waitpid(pid, 0)


SCENARIOS = {
    "loss-bulk-2pct": (18301, lambda p: bulk(p, 2)),
    "loss-bulk-5pct": (18302, lambda p: bulk(p, 5)),
    "loss-request-response": (18303, request_response),
    "loss-first-syn": (18304, first_syn),
    "loss-first-synack": (18305, first_synack),
    "loss-handshake-ack": (18306, handshake_ack),
    "loss-first-fin": (18307, first_fin),
    "loss-last-ack": (18308, last_ack),
    "loss-fin-behind-hole": (18309, fin_behind_hole),
    "ecn": (18310, ecn),
    "fast-open": (18311, fast_open),
    "syn-cookies": (18312, syn_cookies),
    "abort-on-overflow": (18313, abort_on_overflow),
    "emfile-accept-queue": (18314, emfile),
}


# ---- the recording, outside the namespace ----

def make_namespace():
    sh("ip", "netns", "del", NS, check=False)
    sh("ip", "netns", "add", NS)
    inside = ["ip", "netns", "exec", NS]
    sh(*inside, "ip", "link", "set", "lo", "up")
    sh(*inside, "ip", "link", "set", "lo", "mtu", "1500")
    sh(*inside, "ethtool", "-K", "lo", "gro", "off", "gso", "off", "tso", "off", check=False)
    sh(*inside, "nft", "add", "table", "inet", "loss")
    sh(*inside, "nft", "add chain inet loss in { type filter hook input priority 0; }")


def captured_sequences(pcap):
    """(sport, dport, seq) of every captured segment, from tcpdump's own reading."""
    out = sh("tcpdump", "-r", pcap, "-n", "-S", "-tt").stdout
    seqs = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 5 or "seq" not in parts:
            continue
        sport, dport = parts[2].rsplit(".", 1)[1], parts[4].rstrip(":").rsplit(".", 1)[1]
        seq = parts[parts.index("seq") + 1].rstrip(",").split(":")[0]
        seqs.add((sport, dport, seq))
    return seqs


def record(name):
    port, _ = SCENARIOS[name]
    # Headers are all the bulk transfers' analysis needs; a cut keeps the samples small.
    snaplen = "128" if name.startswith("loss-bulk") else "0"
    pcap = os.path.join(HERE, name + ".pcap")
    make_namespace()
    probes = PROBES.replace("PORT", str(port)).replace("CB_OFFSET", str(CB_OFFSET))
    tracer = subprocess.Popen(["bpftrace", "-e", probes], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if tracer.stdout.readline().strip() not in ("Attaching 4 probes...", "ready"):
        sys.exit("bpftrace did not start")
    tracer.stdout.readline()
    dump = subprocess.Popen(
        ["ip", "netns", "exec", NS, "tcpdump", "-i", "lo", "-s", snaplen, "-B", "65536", "--immediate-mode", "-U", "-n", "-w",
         pcap, f"tcp port {port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    clock = time.clock_gettime_ns(time.CLOCK_REALTIME) - time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    subprocess.run(["ip", "netns", "exec", NS, sys.executable, __file__, "--inside", name], check=True, timeout=60)
    time.sleep(0.3)
    ss = sh("ip", "netns", "exec", NS, "ss", "-tanH").stdout.splitlines()
    time.sleep(0.7)
    dump.terminate()
    stats = dump.communicate()[1]
    tracer.terminate()
    lines = [l for l in tracer.communicate()[0].splitlines() if l.split()[:1] and l.split()[0] in
             ("state", "retransmit", "retransmit_synack")]
    sh("ip", "netns", "del", NS, check=False)
    if not re.search(r"^0 packets dropped by kernel", stats, re.M):
        sys.exit(f"{name}: tcpdump lost packets, record again: {stats}")

    record = ["# the kernel's record (see record_loss.py): clock, state changes, retransmissions, ss -tan",
              f"clock {clock}"]
    events = []
    for line in lines:
        f = line.split()
        if f[0] == "state":
            old, new = STATES.get(int(f[4]), f[4]), STATES.get(int(f[5]), f[5])
            events.append(f"event {f[2]} {f[3]} {old} {new}")
            record.append(f"state {f[1]} {f[2]} {f[3]} {old} {new}")
        else:
            record.append(line)
    record[2:2] = events
    for row in ss:
        parts = row.split()
        if len(parts) >= 5 and (parts[3].endswith(f":{port}") or parts[4].endswith(f":{port}")):
            record.append(f"ss {parts[0]} {parts[3]} {parts[4]}")
    # The probe read the skb's sequence numbers at a fixed offset: every one must be a captured segment.
    seen = captured_sequences(pcap)
    retransmits = [l.split() for l in lines if l.startswith("retransmit ")]
    unknown = [r for r in retransmits if (r[2], r[3], r[4]) not in seen]
    if unknown:
        sys.exit(f"{name}: {len(unknown)} retransmissions match no captured segment (sk_buff.cb offset?)")
    with open(os.path.join(HERE, name + ".kernel.txt"), "w") as out:
        out.write("\n".join(record) + "\n")
    synacks = sum(l.startswith("retransmit_synack") for l in lines)
    print(f"{name}: {len(events)} state changes, {len(retransmits)} retransmissions, {synacks} SYN-ACK "
          f"retransmissions; {stats.strip().splitlines()[-1]}")


def main():
    if sys.argv[1:2] == ["--inside"]:
        name = sys.argv[2]
        port, scenario = SCENARIOS[name]
        scenario(port)
        return
    for name in sys.argv[1:] or SCENARIOS:
        record(name)


if __name__ == "__main__":
    main()
