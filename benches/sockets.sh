#!/usr/bin/env bash
# Times `tcpladder sockets` against `ss -tanp` (and `ss -tan`) over 50,000 sockets held in a
# network namespace of its own; prints the medians of 9 runs and the ratios. Needs root.
#   bash benches/sockets.sh [SOCKETS] [path/to/tcpladder]
set -euo pipefail
count=${1:-50000}
binary=${2:-${CARGO_TARGET_DIR:-target}/release/tcpladder}
ns=tlbench$$
ip netns add "$ns"
trap 'exec 3>&-; pid=${holder_PID:-}; [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait || true; ip netns del "$ns"' EXIT
ip -n "$ns" link set lo up
coproc holder { ip netns exec "$ns" python3 "$(dirname "$0")/many-sockets.py" "$count"; }
exec 3>&"${holder[1]}"
read -r held <&"${holder[0]}"
echo "holding $held sockets"
python3 - "$ns" "$binary" <<'PY'
import statistics, subprocess, sys, time
ns, binary = sys.argv[1], sys.argv[2]
def median(args):
    times = []
    for _ in range(9):
        start = time.perf_counter()
        subprocess.run(["ip", "netns", "exec", ns, *args], stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000
ours = median([binary, "sockets"])
ours_json = median([binary, "sockets", "--json"])
ss_p = median(["ss", "-tanp"])
ss = median(["ss", "-tan"])
print(f"tcpladder sockets {ours:.1f} ms, --json {ours_json:.1f} ms; ss -tanp {ss_p:.1f} ms ({ours / ss_p:.2f}x); ss -tan {ss:.1f} ms")
PY
