#!/usr/bin/env python3
"""Records a full-snaplen capture of many HTTP/1.1 exchanges for the conversation's cost bound
(run as root; needs nginx and tcpdump).

    sudo python3 benches/record-http.py OUT.pcap [CONNECTIONS] [REQUESTS]

CONNECTIONS keep-alive connections (default 100), one after the other, each making REQUESTS
GET requests (default 100) with Python's http.client to an nginx on 127.0.0.1:19100 serving a
4 KB file: 10,000 exchanges and about 20,800 packets by default, every packet of them starting
or ending a message, which is the worst case for the per-message work.
"""

import http.client
import os
import subprocess
import sys
import tempfile
import time

PORT = 19100
CONF = """user root; daemon off; worker_processes 1; pid {tmp}/nginx.pid; error_log {tmp}/error.log;
events {{ worker_connections 64; }}
http {{ access_log off; keepalive_requests 100000; keepalive_timeout 60s; client_body_temp_path {tmp};
  server {{ listen 127.0.0.1:{port}; root {tmp}/www; }} }}
"""


def main():
    out = sys.argv[1]
    connections = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    requests = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "www"))
        with open(os.path.join(tmp, "www", "page.html"), "w") as page:
            page.write("x" * 4096)
        with open(os.path.join(tmp, "nginx.conf"), "w") as conf:
            conf.write(CONF.format(tmp=tmp, port=PORT))
        server = subprocess.Popen(["nginx", "-c", os.path.join(tmp, "nginx.conf")])
        dump = subprocess.Popen(["tcpdump", "-i", "lo", "-s", "0", "-B", "65536", "--immediate-mode", "-w", out,
                                 f"tcp port {PORT}"], stderr=subprocess.PIPE)
        time.sleep(1.0)
        try:
            for _ in range(connections):
                client = http.client.HTTPConnection("127.0.0.1", PORT)
                for _ in range(requests):
                    client.request("GET", "/page.html", headers={"Host": "bench.local"})
                    response = client.getresponse()
                    assert response.status == 200 and len(response.read()) == 4096
                client.close()
        finally:
            time.sleep(1.0)
            dump.terminate()
            print(dump.communicate()[1].decode(errors="replace").strip())
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
