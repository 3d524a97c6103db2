//! Every lesson: its question, what to look for, its code as shown, and what must happen.

use super::record::Lesson;
use super::scenarios::*;

pub(super) const LESSONS: [Lesson; 15] = [
    Lesson {
        id: "handshake",
        title: "The three-way handshake",
        question: "What happens when a client calls connect()?",
        explanation: "SYN, SYN-ACK, ACK: the client goes SYN_SENT → ESTABLISHED when the SYN-ACK arrives and \
                      connect() returns; the server's new socket goes SYN_RECEIVED → ESTABLISHED with the final ACK \
                      and waits in the accept queue until accept().",
        snippet: "server = socket(); bind(8080); listen(backlog)\nclient = socket(); connect(server)   // SYN →\nconn = server.accept()                 // ← SYN-ACK, ACK →",
        sample: Some("handshake-client-close.pcap"),
        expected: &[("client", "connect()", "ok"), ("server", "accept()", "ok")],
        run: handshake,
    },
    Lesson {
        id: "close-client-first",
        title: "Graceful close, client first",
        question: "Who ends up in TIME_WAIT?",
        explanation: "The side that closes first (active close) goes FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT and \
                      holds the port pair for 2×MSL; the other goes CLOSE_WAIT → LAST_ACK → CLOSED.",
        snippet: "client.write(request); server.read()\nserver.write(response); client.read()\nclient.close()        // FIN →\nserver.read() == 0    // EOF\nserver.close()        // ← FIN",
        sample: Some("handshake-client-close.pcap"),
        expected: &[("server", "read()", "EOF")],
        run: close_client_first,
    },
    Lesson {
        id: "close-server-first",
        title: "Graceful close, server first",
        question: "What if the server closes first?",
        explanation: "Now the server holds TIME_WAIT; a busy server that closes first collects thousands of them.",
        snippet: "server.write(response)\nserver.close()        // FIN →\nclient.read() == 0    // EOF\nclient.close()",
        sample: Some("server-close-first.pcap"),
        expected: &[("client", "read()", "EOF")],
        run: close_server_first,
    },
    Lesson {
        id: "simultaneous-close",
        title: "Simultaneous close",
        question: "What if both sides close at the same moment?",
        explanation: "When the FINs cross, each side receives a FIN in FIN_WAIT_1 and goes CLOSING, then TIME_WAIT: \
                      both hold TIME_WAIT. (Timing decides whether they cross; run it again if they did not.)",
        snippet: "// two threads, released together\nclient.shutdown(SHUT_WR)    server.shutdown(SHUT_WR)",
        sample: Some("simultaneous-close.pcap"),
        expected: &[("client", "shutdown(SHUT_WR)", "ok"), ("server", "shutdown(SHUT_WR)", "ok")],
        run: simultaneous_close,
    },
    Lesson {
        id: "reset-by-peer",
        title: "Closing with unread data: connection reset by peer",
        question: "What does it mean when the peer sends RST?",
        explanation: "A socket closed while data it never read sits in its receive buffer sends RST, not FIN \
                      (RFC 2525). The peer's next read() fails with ECONNRESET, \"connection reset by peer\".",
        snippet: "client.write(data)\nserver.close()          // unread data → RST\nclient.read()           // ECONNRESET",
        sample: Some("unread-data-reset.pcap"),
        expected: &[("client", "read()", "ECONNRESET")],
        run: reset_by_peer,
    },
    Lesson {
        id: "broken-pipe",
        title: "Writing after the peer closed: broken pipe",
        question: "How does broken pipe differ from reset by peer?",
        explanation: "The server closed (FIN). The client's first write still succeeds — it only reaches the \
                      client's kernel — but the closed server answers RST. The next write fails with EPIPE, \
                      \"broken pipe\"; a read still returns EOF, since the FIN came before the RST. Reset by \
                      peer is a RST that arrives before any FIN (reads fail with ECONNRESET); broken pipe is \
                      writing after the peer closed.",
        snippet: "server.close()          // FIN →\nclient.write(a)         // ok, but ← RST\nclient.write(b)         // EPIPE\nclient.read()           // EOF: the FIN came first",
        sample: Some("broken-pipe.pcap"),
        expected: &[("client", "write()", "EPIPE"), ("client", "read()", "EOF")],
        run: broken_pipe,
    },
    Lesson {
        id: "refused",
        title: "Connecting to a closed port",
        question: "What does \"connection refused\" look like on the wire?",
        explanation: "Nothing listens, so the kernel answers the SYN with RST-ACK and connect() fails at once \
                      with ECONNREFUSED.",
        snippet: "client.connect(port with no listener)   // ECONNREFUSED",
        sample: Some("refused.pcap"),
        expected: &[("client", "connect()", "ECONNREFUSED")],
        run: refused,
    },
    Lesson {
        id: "close-wait",
        title: "CLOSE_WAIT: the server never closes",
        question: "What is CLOSE_WAIT and why does it pile up?",
        explanation: "The server read EOF (the client's FIN) and never called close(): its socket stays in \
                      CLOSE_WAIT as long as the process keeps it. Count them with `ss -tan state close-wait`; \
                      they pile up when an error path forgets to close.",
        snippet: "client.close()          // FIN →\nserver.read() == 0      // EOF … and no server.close()",
        sample: Some("close-wait.pcap"),
        expected: &[("server", "read()", "EOF")],
        run: close_wait,
    },
    Lesson {
        id: "half-close",
        title: "Half-close",
        question: "Can one side stop sending and still receive?",
        explanation: "shutdown(SHUT_WR) sends FIN: \"I will send no more\". The server reads EOF yet can still \
                      answer; the connection ends when both FINs are acknowledged.",
        snippet: "client.write(request)\nclient.shutdown(SHUT_WR)   // FIN →\nserver.read() == 0         // EOF\nserver.write(response); server.close()",
        sample: Some("half-close.pcap"),
        expected: &[("server", "read()", "EOF"), ("client", "read()", "EOF")],
        run: half_close,
    },
    Lesson {
        id: "zero-window",
        title: "Zero window: the receiver stops reading",
        question: "What happens when an application stops reading?",
        explanation: "The receive buffer fills and the receiver advertises window 0; the sender's writes block \
                      (EAGAIN on a non-blocking socket) and its kernel sends zero-window probes until the \
                      reader drains the buffer.",
        snippet: "server: setsockopt(SO_RCVBUF, 4096); accept(); // never read\nclient: loop { write(1 KB) }   // … EAGAIN",
        sample: Some("zero-window.pcap"),
        expected: &[("client", "write()", "EAGAIN")],
        run: zero_window,
    },
    Lesson {
        id: "accept-queue-full",
        title: "A full accept queue",
        question: "What is the accept backlog?",
        explanation: "listen(backlog) bounds the connections that finished the handshake but were not yet \
                      accept()ed. When the queue is full Linux drops new SYNs: the client retransmits its SYN \
                      (1 s, 3 s, …) and connect() times out. More connections do not raise throughput then.",
        snippet: "server.listen(0)   // and never accept()\nclient1.connect()  // fills the queue\nclient2.connect()  // SYN, SYN again … ETIMEDOUT",
        sample: Some("accept-queue-full.pcap"),
        expected: &[("client", "connect() (second client)", "ETIMEDOUT")],
        run: accept_queue_full,
    },
    Lesson {
        id: "keep-alive",
        title: "TCP keep-alive",
        question: "How does an idle connection notice that the peer is gone?",
        explanation: "With SO_KEEPALIVE the kernel sends an empty segment one byte behind after the idle time; \
                      a live peer answers with an ACK.",
        snippet: "client.setsockopt(SO_KEEPALIVE, idle 1 s, interval 1 s)\n// … idle: probes ⇄ ACKs",
        sample: Some("keep-alive.pcap"),
        expected: &[("client", "setsockopt(SO_KEEPALIVE, 1 s)", "ok")],
        run: keep_alive,
    },
    Lesson {
        id: "time-wait",
        title: "TIME_WAIT holds the port, and port reuse",
        question: "Why can't I reuse the port right after closing?",
        explanation: "The client closed first from a fixed port, so its end of the connection sits in TIME_WAIT \
                      for 2×MSL; binding that port again fails with EADDRINUSE. With SO_REUSEADDR the bind \
                      succeeds, and on loopback Linux lets a new connection reuse the same 4-tuple (a new SYN \
                      with a new ISN: the ladder shows a second connection flagged port_reuse).",
        snippet: "client.bind(40001); client.connect(server); client.close()   // TIME_WAIT\nagain.bind(40001)                        // EADDRINUSE\nreuse.setsockopt(SO_REUSEADDR); reuse.bind(40001); reuse.connect(server)",
        sample: None,
        expected: &[("client", "bind() to the same port", "EADDRINUSE"), ("client", "connect() again from that port", "ok")],
        run: time_wait_reuse,
    },
    Lesson {
        id: "client-timeout",
        title: "The client's timeout fires first",
        question: "Who logs \"broken pipe\" when a client gives up on a slow server?",
        explanation: "The client's read times out (EAGAIN) and it closes: FIN. The server, still working, writes \
                      its answer into a socket whose peer is gone; the client's kernel answers with RST, and the \
                      server's next write fails with EPIPE: the \"client disconnected\" broken pipe of server \
                      logs. The ladder names the request the client abandoned and how long it waited.",
        snippet: "client.setsockopt(SO_RCVTIMEO, 500 ms)\nclient.write(\"GET /slow\"); server.read()\nclient.read()      // EAGAIN after 500 ms\nclient.close()     // FIN →\nserver.write(answer)   // ← accepted; the client's kernel answers RST\nserver.write(more)     // EPIPE",
        sample: Some("client-timeout.pcap"),
        expected: &[("client", "read()", "EAGAIN"), ("server", "write()", "EPIPE")],
        run: client_timeout_first,
    },
    Lesson {
        id: "keepalive-race",
        title: "The keep-alive race",
        question: "Why do load tests show broken pipes on keep-alive connections?",
        explanation: "The server closes an idle keep-alive connection after its timeout (FIN). A client that sends \
                      its next request on the pooled connection just then succeeds in write(): the kernel takes \
                      the bytes. The server's kernel answers them with RST. The client's read returns EOF (the FIN \
                      came first) where it expected a response, and its next write fails with EPIPE; a client \
                      that had not seen the FIN yet gets ECONNRESET instead. Retry idempotent requests; keep the client's idle \
                      timeout below the server's.",
        snippet: "client.write(\"GET /first\"); server.write(answer, Keep-Alive: timeout=1)\n// idle 1 s\nserver.close()         // FIN →\nclient.write(\"GET /second\")   // ok: the kernel took it\nclient.read()          // EOF (the FIN), where the response should be\nclient.write(retry)    // ← RST came: EPIPE",
        sample: Some("keepalive-race.pcap"),
        expected: &[("client", "write()", "wrote 44 bytes"), ("client", "read()", "EOF"), ("client", "write()", "EPIPE")],
        run: keepalive_race,
    },
];
