#!/usr/bin/env bash
# A long live run: the window (under Xvfb) captures `lo` while hping3 floods it as fast as it can
# (SYNs to a closed port: a SYN and a RST per new connection, so connections churn) and one
# long request/response connection runs beside it. Every 10 s: the window's resident memory; the window itself logs its
# frame rate and slowest frame (TCPLADDER_FRAME_LOG). At the end, a screenshot and the save file's
# packet count. Needs root (capture, hping3).
#   bash benches/live-soak.sh [SECONDS=600] [MEMORY_LIMIT_MB=256] [OUT_DIR=/tmp/tcpladder-soak]
set -uo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"; limit="${2:-256}"; out="${3:-/tmp/tcpladder-soak}"
binary="${CARGO_TARGET_DIR:-target}/release/tcpladder"
mkdir -p "$out"; rm -f "$out"/*
for package in xvfb xauth imagemagick xdotool hping3 tshark; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="${missing:-} $package"
done
[ -n "${missing:-}" ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
export out seconds limit binary
xvfb-run -a -s "-screen 0 1600x1000x24" bash -c '
  TCPLADDER_FRAME_LOG=1 "$binary" watch --memory-limit "$limit" -i lo -f tcp --snaplen 128 -w "$out/saved.pcap" 2>"$out/frames.log" &
  app=$!
  sleep 4
  python3 - "$seconds" <<"PY" &
import socket, sys, threading, time
end = time.time() + float(sys.argv[1])
server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 18099)); server.listen(1)
def echo():
    conn, _ = server.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while (data := conn.recv(65536)):
        conn.sendall(data)
threading.Thread(target=echo, daemon=True).start()
client = socket.create_connection(("127.0.0.1", 18099))
client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
while time.time() < end:
    client.sendall(b"x" * 100)
    client.recv(65536)
client.close()
PY
  bulk=$!
  timeout "$seconds" hping3 --flood -q -S -p 18098 127.0.0.1 >/dev/null 2>&1 &
  flood=$!
  echo "t_s rss_kb" > "$out/rss.tsv"
  start=$(date +%s)
  while kill -0 "$flood" 2>/dev/null; do
    now=$(( $(date +%s) - start ))
    echo "$now $(ps -o rss= -p "$app")" >> "$out/rss.tsv"
    sleep 10
  done
  wait "$bulk"
  sleep 2
  import -window root "$out/end.png"
  kill "$app"; wait "$app"
'
echo "peak RSS (kB): $(awk 'NR > 1 && $2 > max { max = $2 } END { print max }' "$out/rss.tsv")"
tail -3 "$out/frames.log"
# Reading the save file back holds every connection (no limit on files): count its packets only.
capinfos -cM "$out/saved.pcap" | tail -1
