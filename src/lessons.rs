//! Lessons: TCP scenarios performed for real on loopback by ordinary socket calls, each recording
//! what its applications saw (ok, EOF, ECONNRESET, EPIPE, ECONNREFUSED …) with the time, so a
//! ladder of the same traffic can show the error next to the segment that caused it.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use socket2::{Domain, SockRef, Socket, TcpKeepalive, Type};

/// One socket call and what the application got back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppEvent {
    /// "client" or "server".
    pub side: &'static str,
    /// The call, e.g. "write()".
    pub call: &'static str,
    /// "ok", "read 5 bytes", "EOF", or the errno's name.
    pub outcome: String,
    /// Wall-clock time, nanoseconds since the epoch (the capture clock on the same machine).
    pub ts_nanos: i64,
}

/// Records socket calls from several threads.
#[derive(Debug, Clone, Default)]
struct Recorder(Arc<Mutex<Vec<AppEvent>>>);

impl Recorder {
    fn record<T>(
        &self,
        side: &'static str,
        call: &'static str,
        result: io::Result<T>,
        describe: impl Fn(&T) -> String,
    ) -> io::Result<T> {
        let outcome = match &result {
            Ok(value) => describe(value),
            Err(err) => errno_name(err).to_string(),
        };
        let ts_nanos =
            SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        if let Ok(mut events) = self.0.lock() {
            events.push(AppEvent { side, call, outcome, ts_nanos });
        }
        result
    }

    fn ok<T>(&self, side: &'static str, call: &'static str, result: io::Result<T>) -> io::Result<T> {
        self.record(side, call, result, |_| "ok".to_string())
    }

    fn read(&self, side: &'static str, stream: &mut TcpStream) -> io::Result<usize> {
        let mut buffer = [0u8; 65_536];
        self.record(side, "read()", stream.read(&mut buffer), |&n| {
            if n == 0 {
                "EOF".to_string()
            } else {
                format!("read {n} bytes")
            }
        })
    }

    fn write(&self, side: &'static str, stream: &mut TcpStream, data: &[u8]) -> io::Result<usize> {
        self.record(side, "write()", stream.write(data), |n| format!("wrote {n} bytes"))
    }

    fn events(&self) -> Vec<AppEvent> {
        let mut events = self.0.lock().map(|e| e.clone()).unwrap_or_default();
        events.sort_by_key(|e| e.ts_nanos);
        events
    }
}

/// The errno a failed call returns, by name.
pub fn errno_name(err: &io::Error) -> &'static str {
    use io::ErrorKind::*;
    match err.kind() {
        ConnectionReset => "ECONNRESET",
        BrokenPipe => "EPIPE",
        ConnectionRefused => "ECONNREFUSED",
        TimedOut => "ETIMEDOUT",
        WouldBlock => "EAGAIN",
        AddrInUse => "EADDRINUSE",
        AddrNotAvailable => "EADDRNOTAVAIL",
        ConnectionAborted => "ECONNABORTED",
        NotConnected => "ENOTCONN",
        _ => "error",
    }
}

/// What a lesson leaves behind: the calls, and sockets to close only after the capture stops
/// (a server that never closes must still be open when the capture ends).
pub struct Outcome {
    pub events: Vec<AppEvent>,
    pub held: Vec<TcpStream>,
    pub held_listeners: Vec<TcpListener>,
}

/// A scenario, its story and its code.
pub struct Lesson {
    pub id: &'static str,
    pub title: &'static str,
    /// The question it answers.
    pub question: &'static str,
    /// What to look for in the ladder, and the answer.
    pub explanation: &'static str,
    /// The socket calls, as a reader would write them.
    pub snippet: &'static str,
    /// The recording of the same scenario in `sample-captures/`, for when capturing is not allowed.
    pub sample: Option<&'static str>,
    /// (side, call, outcome) that must appear among the recorded events.
    pub expected: &'static [(&'static str, &'static str, &'static str)],
    run: fn(u16) -> io::Result<Outcome>,
}

impl Lesson {
    /// Performs the lesson against a server on 127.0.0.1:`port`.
    pub fn run(&self, port: u16) -> io::Result<Outcome> {
        (self.run)(port)
    }
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn listen(port: u16, backlog: i32) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr(port).into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}

fn pause(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// A connected pair: (client, server).
fn connected(port: u16, rec: &Recorder) -> io::Result<(TcpStream, TcpStream, TcpListener)> {
    let listener = listen(port, 8)?;
    let client = rec.ok("client", "connect()", TcpStream::connect(addr(port)))?;
    let (server, _) = rec.ok("server", "accept()", listener.accept())?;
    Ok((client, server, listener))
}

fn done(rec: &Recorder) -> io::Result<Outcome> {
    Ok(Outcome { events: rec.events(), held: Vec::new(), held_listeners: Vec::new() })
}

fn handshake(port: u16) -> io::Result<Outcome> {
    let rec = Recorder::default();
    let (client, server, _listener) = connected(port, &rec)?;
    pause(20);
    drop(client);
    pause(20);
    drop(server);
    done(&rec)
}

fn close_client_first(port: u16) -> io::Result<Outcome> {
    let rec = Recorder::default();
    let (mut client, mut server, _listener) = connected(port, &rec)?;
    let _ = rec.write("client", &mut client, b"GET / HTTP/1.0\r\n\r\n");
    let _ = rec.read("server", &mut server);
    let _ = rec.write("server", &mut server, b"HTTP/1.0 200 OK\r\n\r\nhello\n");
    let _ = rec.read("client", &mut client);
    let _ = rec.ok("client", "close()", Ok(()));
    drop(client);
    let _ = rec.read("server", &mut server);
    let _ = rec.ok("server", "close()", Ok(()));
    drop(server);
    done(&rec)
}

fn close_server_first(port: u16) -> io::Result<Outcome> {
    let rec = Recorder::default();
    let (mut client, mut server, _listener) = connected(port, &rec)?;
    let _ = rec.write("client", &mut client, b"request\n");
    let _ = rec.read("server", &mut server);
    let _ = rec.write("server", &mut server, b"response\n");
    let _ = rec.ok("server", "close()", Ok(()));
    drop(server);
    let _ = rec.read("client", &mut client);
    let _ = rec.read("client", &mut client);
    let _ = rec.ok("client", "close()", Ok(()));
    drop(client);
    done(&rec)
}

fn simultaneous_close(port: u16) -> io::Result<Outcome> {
    let rec = Recorder::default();
    let (client, server, _listener) = connected(port, &rec)?;
    let barrier = Arc::new(Barrier::new(2));
    let threads: Vec<_> = [("client", client), ("server", server)]
        .into_iter()
        .map(|(side, stream)| {
            let (barrier, rec) = (Arc::clone(&barrier), rec.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let _ = rec.ok(side, "shutdown(SHUT_WR)", stream.shutdown(Shutdown::Write));
                pause(50);
            })
        })
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
    done(&rec)
}

fn reset_by_peer(port: u16) -> io::Result<Outcome> {
    let rec = Recorder::default();
    let (mut client, server, _listener) = connected(port, &rec)?;
    let _ = rec.write("client", &mut client, b"data the server never reads\n");
    pause(30);
    let _ = rec.ok("server", "close() with unread data", Ok(()));
    drop(server);
    pause(30);
    let _ = rec.read("client", &mut client);
    done(&rec)
}

fn broken_pipe(port: u16) -> io::Result<Outcome> {
    let rec = Recorder::default();
    let (mut client, server, _listener) = connected(port, &rec)?;
    let _ = rec.ok("server", "close()", Ok(()));
    drop(server);
    pause(30);
    let _ = rec.write("client", &mut client, b"first write after the server closed\n");
    pause(30);
    let _ = rec.write("client", &mut client, b"second write\n");
    done(&rec)
}

fn refused(port: u16) -> io::Result<Outcome> {
    let rec = Recorder::default();
    let _ = rec.ok("client", "connect()", TcpStream::connect(addr(port)));
    done(&rec)
}

fn close_wait(port: u16) -> io::Result<Outcome> {
    let rec = Recorder::default();
    let (mut client, mut server, listener) = connected(port, &rec)?;
    let _ = rec.write("client", &mut client, b"bye\n");
    let _ = rec.read("server", &mut server);
    let _ = rec.ok("client", "close()", Ok(()));
    drop(client);
    pause(30);
    let _ = rec.read("server", &mut server);
    // The server got EOF and never calls close(): it stays in CLOSE_WAIT.
    Ok(Outcome { events: rec.events(), held: vec![server], held_listeners: vec![listener] })
}

fn half_close(port: u16) -> io::Result<Outcome> {
    let rec = Recorder::default();
    let (mut client, mut server, _listener) = connected(port, &rec)?;
    let _ = rec.write("client", &mut client, b"all of the request\n");
    let _ = rec.ok("client", "shutdown(SHUT_WR)", client.shutdown(Shutdown::Write));
    let _ = rec.read("server", &mut server);
    let _ = rec.read("server", &mut server);
    let _ = rec.write("server", &mut server, b"the response, after the client's FIN\n");
    let _ = rec.ok("server", "close()", Ok(()));
    drop(server);
    let _ = rec.read("client", &mut client);
    let _ = rec.read("client", &mut client);
    done(&rec)
}

fn zero_window(port: u16) -> io::Result<Outcome> {
    let rec = Recorder::default();
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_recv_buffer_size(4096)?;
    socket.bind(&addr(port).into())?;
    socket.listen(1)?;
    let listener: TcpListener = socket.into();
    let mut client = rec.ok("client", "connect()", TcpStream::connect(addr(port)))?;
    SockRef::from(&client).set_send_buffer_size(4096)?;
    let (mut server, _) = rec.ok("server", "accept()", listener.accept())?;
    client.set_nonblocking(true)?;
    for _ in 0..200 {
        if rec.write("client", &mut client, &[b'z'; 1024]).is_err() {
            break;
        }
    }
    // The server does not read: the client's writes wait, and its kernel probes the zero window.
    pause(900);
    server.set_nonblocking(true)?;
    let mut drained = 0;
    let mut buffer = [0u8; 65_536];
    while let Ok(n) = server.read(&mut buffer) {
        if n == 0 {
            break;
        }
        drained += n;
    }
    let _ = rec.ok("server", "read() everything at last", Ok(drained));
    pause(50);
    drop(client);
    pause(30);
    drop(server);
    done(&rec)
}

fn accept_queue_full(port: u16) -> io::Result<Outcome> {
    let rec = Recorder::default();
    let listener = listen(port, 0)?;
    let first = rec.ok("client", "connect() (first client)", TcpStream::connect(addr(port)))?;
    let second = rec.ok(
        "client",
        "connect() (second client)",
        TcpStream::connect_timeout(&addr(port), Duration::from_millis(2_500)),
    );
    let mut held = vec![first];
    held.extend(second);
    Ok(Outcome { events: rec.events(), held, held_listeners: vec![listener] })
}

fn keep_alive(port: u16) -> io::Result<Outcome> {
    let rec = Recorder::default();
    let (mut client, mut server, _listener) = connected(port, &rec)?;
    let keepalive = TcpKeepalive::new().with_time(Duration::from_secs(1)).with_interval(Duration::from_secs(1));
    let _ = rec.ok("client", "setsockopt(SO_KEEPALIVE, 1 s)", SockRef::from(&client).set_tcp_keepalive(&keepalive));
    let _ = rec.write("client", &mut client, b"ping\n");
    let _ = rec.read("server", &mut server);
    pause(3_200);
    drop(client);
    pause(30);
    drop(server);
    done(&rec)
}

fn time_wait_reuse(port: u16) -> io::Result<Outcome> {
    let rec = Recorder::default();
    let listener = listen(port, 8)?;
    let client_port = port.wrapping_add(1);
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    // A run a minute ago may still hold this port in TIME_WAIT; that does not spoil the lesson.
    socket.set_reuse_address(true)?;
    socket.bind(&addr(client_port).into())?;
    if rec.ok("client", "connect() from a fixed port", socket.connect(&addr(port).into())).is_ok() {
        let (server, _) = rec.ok("server", "accept()", listener.accept())?;
        let _ = rec.ok("client", "close() first", Ok(()));
        drop(socket);
        pause(30);
        drop(server);
        pause(30);
    }
    // The client's side of the old connection is in TIME_WAIT: the port pair is still taken.
    let again = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    let _ = rec.ok("client", "bind() to the same port", again.bind(&addr(client_port).into()));
    // With SO_REUSEADDR the bind succeeds, and Linux lets a new connection take over the TIME_WAIT
    // pair on loopback (net.ipv4.tcp_tw_reuse): the same 4-tuple, a new SYN, a new ISN.
    let reuse = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    reuse.set_reuse_address(true)?;
    let _ = rec.ok("client", "bind() with SO_REUSEADDR", reuse.bind(&addr(client_port).into()));
    if rec.ok("client", "connect() again from that port", reuse.connect(&addr(port).into())).is_ok() {
        if let Ok((server, _)) = rec.ok("server", "accept()", listener.accept()) {
            drop(reuse);
            pause(30);
            drop(server);
        }
    }
    pause(30);
    done(&rec)
}

const LESSONS: [Lesson; 13] = [
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
                      \"broken pipe\". Reset by peer is reading after a RST; broken pipe is writing after one.",
        snippet: "server.close()          // FIN →\nclient.write(a)         // ok, but ← RST\nclient.write(b)         // EPIPE",
        sample: Some("broken-pipe.pcap"),
        expected: &[("client", "write()", "EPIPE")],
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
];

/// Every lesson, in teaching order.
pub fn all() -> &'static [Lesson] {
    &LESSONS
}

/// The lesson with this id.
pub fn find(id: &str) -> Option<&'static Lesson> {
    LESSONS.iter().find(|lesson| lesson.id == id)
}

/// The port a lesson uses: one per lesson, away from common services.
pub fn port_of(lesson: &Lesson) -> u16 {
    let index = LESSONS.iter().position(|l| l.id == lesson.id).unwrap_or(0);
    19_100 + 10 * u16::try_from(index).unwrap_or(0)
}

/// The expected events that did not happen.
pub fn missing_expectations(lesson: &Lesson, events: &[AppEvent]) -> Vec<String> {
    lesson
        .expected
        .iter()
        .filter(|(side, call, outcome)| {
            !events.iter().any(|e| e.side == *side && e.call == *call && e.outcome == *outcome)
        })
        .map(|(side, call, outcome)| format!("{side} {call} → {outcome}"))
        .collect()
}
