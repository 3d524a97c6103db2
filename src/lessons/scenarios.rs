//! The scenarios themselves: ordinary socket calls on loopback, each recorded as the application
//! saw it. The recorder keeps every call's outcome, errors included (an ECONNRESET is the lesson),
//! so where a scenario goes on after a call it drops the returned `Result` with `let _ =`: the
//! error is already in the record, and the scenario must play on as its application would.

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use socket2::{Domain, SockRef, Socket, TcpKeepalive, Type};

use super::record::{Outcome, Recorder};

pub(super) fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

pub(super) fn listen(port: u16, backlog: i32) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr(port).into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}

pub(super) fn pause(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// A connected pair: (client, server).
pub(super) fn connected(port: u16, rec: &Recorder) -> io::Result<(TcpStream, TcpStream, TcpListener)> {
    let listener = listen(port, 8)?;
    let client = rec.ok("client", "connect()", TcpStream::connect(addr(port)))?;
    let (server, _) = rec.ok("server", "accept()", listener.accept())?;
    Ok((client, server, listener))
}

pub(super) fn done(rec: &Recorder) -> io::Result<Outcome> {
    Ok(Outcome { events: rec.events(), held: Vec::new(), held_listeners: Vec::new() })
}

pub(super) fn handshake(port: u16) -> io::Result<Outcome> {
    let rec = Recorder::default();
    let (client, server, _listener) = connected(port, &rec)?;
    pause(20);
    drop(client);
    pause(20);
    drop(server);
    done(&rec)
}

pub(super) fn close_client_first(port: u16) -> io::Result<Outcome> {
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

pub(super) fn close_server_first(port: u16) -> io::Result<Outcome> {
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

pub(super) fn simultaneous_close(port: u16) -> io::Result<Outcome> {
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
        // A side's thread only records its call; had it panicked, its call would be missing from
        // the record, which the lesson's expectations report.
        let _ = thread.join();
    }
    done(&rec)
}

pub(super) fn reset_by_peer(port: u16) -> io::Result<Outcome> {
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

pub(super) fn broken_pipe(port: u16) -> io::Result<Outcome> {
    let rec = Recorder::default();
    let (mut client, server, _listener) = connected(port, &rec)?;
    let _ = rec.ok("server", "close()", Ok(()));
    drop(server);
    pause(30);
    let _ = rec.write("client", &mut client, b"first write after the server closed\n");
    pause(30);
    let _ = rec.write("client", &mut client, b"second write\n");
    // The RST does not turn reads into errors: the FIN came first, so they keep saying EOF.
    let _ = rec.read("client", &mut client);
    done(&rec)
}

pub(super) fn refused(port: u16) -> io::Result<Outcome> {
    let rec = Recorder::default();
    let _ = rec.ok("client", "connect()", TcpStream::connect(addr(port)));
    done(&rec)
}

pub(super) fn close_wait(port: u16) -> io::Result<Outcome> {
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

pub(super) fn half_close(port: u16) -> io::Result<Outcome> {
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

pub(super) fn zero_window(port: u16) -> io::Result<Outcome> {
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

pub(super) fn accept_queue_full(port: u16) -> io::Result<Outcome> {
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

pub(super) fn keep_alive(port: u16) -> io::Result<Outcome> {
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

pub(super) fn time_wait_reuse(port: u16) -> io::Result<Outcome> {
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

/// A slow server and a client with a 500 ms timeout: the client gives up and closes while the
/// server still works; the server's answer meets a closed socket (RST), its next write EPIPE.
pub(super) fn client_timeout_first(port: u16) -> io::Result<Outcome> {
    let rec = Recorder::default();
    let (mut client, mut server, _listener) = connected(port, &rec)?;
    let timeout = client.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = rec.ok("client", "setsockopt(SO_RCVTIMEO, 500 ms)", timeout);
    let _ = rec.write("client", &mut client, b"GET /slow HTTP/1.1\r\nHost: lesson.local\r\n\r\n");
    let _ = rec.read("server", &mut server);
    let _ = rec.read("client", &mut client);
    let _ = rec.ok("client", "close()", Ok(()));
    drop(client);
    pause(300); // The server took 800 ms in all.
    let _ = rec.write("server", &mut server, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nlate\n");
    pause(30);
    let _ = rec.write("server", &mut server, b"more");
    done(&rec)
}

/// A server that closes an idle keep-alive connection after its timeout; the client reuses the
/// connection just after the FIN arrived, and its request draws a RST.
pub(super) fn keepalive_race(port: u16) -> io::Result<Outcome> {
    let rec = Recorder::default();
    let (mut client, mut server, _listener) = connected(port, &rec)?;
    let _ = rec.write("client", &mut client, b"GET /first HTTP/1.1\r\nHost: lesson.local\r\n\r\n");
    let _ = rec.read("server", &mut server);
    let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=1\r\n\r\nok";
    let _ = rec.write("server", &mut server, answer);
    let _ = rec.read("client", &mut client);
    pause(1_000);
    let _ = rec.ok("server", "close() after the keep-alive timeout", Ok(()));
    drop(server);
    pause(30);
    let _ = rec.write("client", &mut client, b"GET /second HTTP/1.1\r\nHost: lesson.local\r\n\r\n");
    pause(30);
    // The FIN came first, so reads see the end of the stream; the RST makes the next write fail.
    let _ = rec.read("client", &mut client);
    let _ = rec.write("client", &mut client, b"GET /retry HTTP/1.1\r\nHost: lesson.local\r\n\r\n");
    done(&rec)
}
