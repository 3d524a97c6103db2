//! Plain-language findings about a connection: what went wrong (or right), which side it concerns,
//! the frame that shows it, and a sentence a person can act on.

use crate::protocols::Conversation;
use crate::tcp::{AnalysisFlags, Connection, Direction, Segment, TcpState};

mod closing;
mod conversation;
pub mod finding;
mod http2;
mod unaccepted;

use crate::wire::{PerSide, Side};
use closing::closes;
pub use closing::CLOSE_WAIT_PILE_UP;
use finding::{capitalize, role_of, Context};
pub use finding::{Code, Diagnosis};

/// Findings for `connection`, in frame order; `capture_end_nanos` is "now" for final states.
pub fn diagnose(connection: &Connection, capture_end_nanos: i64) -> Vec<Diagnosis> {
    diagnose_with(connection, None, capture_end_nanos)
}

/// Findings for `connection` and, with its `conversation`, those that join the application and
/// TCP (a request abandoned, a stale keep-alive connection reused).
pub fn diagnose_with(
    connection: &Connection,
    conversation: Option<&Conversation>,
    capture_end_nanos: i64,
) -> Vec<Diagnosis> {
    let mut findings = Vec::new();
    let context = Context::new(connection);
    let exchanges = conversation.map_or_else(Vec::new, |c| conversation::waited_exchanges(connection, c));
    if let Some(conversation) = conversation {
        conversation::conversation(&context, conversation, &exchanges, &mut findings);
        http2::stream_errors(&context, conversation, &exchanges, &mut findings);
    }
    how_it_began(&context, &mut findings);
    handshake_trouble(&context, &mut findings);
    resets(&context, &mut findings);
    closes(&context, capture_end_nanos, &mut findings);
    unaccepted::unaccepted(&context, &mut findings);
    zero_window(&context, &mut findings);
    retransmissions(&context, &mut findings);
    keep_alive(&context, &mut findings);
    conversation::name_requests_in_flight(&exchanges, &mut findings);
    findings.sort_by_key(|d| d.frame);
    for finding in &mut findings {
        capitalize(&mut finding.text);
    }
    findings
}

/// True when the server's application never accepted `connection` (the `accept_backlog`
/// finding), found alone: counting such connections per listener needs no other finding.
pub fn waits_in_accept_queue(connection: &Connection) -> bool {
    let mut findings = Vec::new();
    unaccepted::unaccepted(&Context::new(connection), &mut findings);
    !findings.is_empty()
}

/// What the first segment says about the connection: the capture began mid-stream, or the
/// connection reuses an earlier one's 4-tuple.
fn how_it_began(context: &Context<'_>, findings: &mut Vec<Diagnosis>) {
    let connection = context.connection;
    let Some(first) = connection.segments.first() else {
        return;
    };
    if connection.mid_stream {
        findings.push(Diagnosis::new(
            Code::MidStream,
            None,
            first.frame,
            "The capture starts in the middle of this connection: no SYN was seen, so the client was \
             guessed from the ports (the higher, ephemeral port) and sequence numbers are relative to \
             the first ones seen. States stay UNKNOWN until a side's segments show them."
                .to_string(),
        ));
    }
    if connection.reused_ports {
        findings.push(Diagnosis::new(
            Code::PortReuse,
            Some(Side::Client),
            first.frame,
            format!(
                "This connection reuses the 4-tuple {} ↔ {} of an earlier one in the capture: a new SYN \
                 (new initial sequence number) after the old connection ended. Fast reuse of a port pair is \
                 what TIME_WAIT guards against; many such reuses mean many short connections from one client.",
                connection.client, connection.server
            ),
        ));
    }
}

fn handshake_trouble(context: &Context<'_>, findings: &mut Vec<Diagnosis>) {
    let connection = context.connection;
    let syns: Vec<&Segment> = connection
        .segments
        .iter()
        .filter(|s| s.flags.syn() && !s.flags.ack() && s.dir == Direction::ClientToServer)
        .collect();
    let first_synack = connection.segments.iter().find(|s| s.flags.syn() && s.flags.ack());
    if let (Some(first), Some(last)) = (syns.first(), syns.last()) {
        let unanswered = syns.iter().filter(|s| first_synack.is_none_or(|sa| s.ts_nanos < sa.ts_nanos)).count();
        if unanswered > 1 {
            let waited = (last.ts_nanos - first.ts_nanos) as f64 / 1e9;
            findings.push(Diagnosis::new(
                Code::SynRetransmit,
                Some(Side::Client),
                syns.get(1).map_or(first.frame, |s| s.frame),
                format!(
                    "{} sent its SYN {unanswered} times over {waited:.1} s with no SYN-ACK in between. Either \
                     nothing reachable is listening (a firewall or route dropping the SYN), or the server's \
                     accept queue is full: a listener whose application does not call accept() fast enough \
                     (its listen backlog is exhausted) silently drops new SYNs, and the client's connect() \
                     waits, then times out.",
                    context.addr(Side::Client)
                ),
            ));
        }
    }
    let synacks: Vec<&Segment> = connection
        .segments
        .iter()
        .filter(|s| s.flags.syn() && s.flags.ack() && s.dir == Direction::ServerToClient)
        .collect();
    if synacks.len() > 1 {
        if let Some(second) = synacks.get(1) {
            findings.push(Diagnosis::new(
                Code::SynackRetransmit,
                Some(Side::Server),
                second.frame,
                format!(
                    "{} sent its SYN-ACK {} times: it never counted the client's final ACK. Either that ACK \
                     was lost, or the server dropped it because its accept queue was full (Linux keeps the \
                     half-open connection and resends the SYN-ACK until the application calls accept() or \
                     it gives up). The client already believes it is ESTABLISHED and may send data meanwhile.",
                    context.addr(Side::Server),
                    synacks.len()
                ),
            ));
        }
    }
}

fn resets(context: &Context<'_>, findings: &mut Vec<Diagnosis>) {
    // One finding per receiver for ignored RSTs, however many arrive (a storm is one event).
    let mut ignored: PerSide<Option<(usize, usize)>> = PerSide::default();
    for (index, segment) in context.segments() {
        if !segment.flags.rst() {
            continue;
        }
        let sender = role_of(segment);
        let receiver = sender.other();
        let Some(before) = context.before.get(index) else {
            continue;
        };
        let receiver_before = before[segment.dir.receiver()];
        if segment.analysis.has(AnalysisFlags::RST_IGNORED) {
            let seen = &mut ignored[segment.dir.receiver()];
            if let Some((_, count)) = seen {
                *count += 1;
                continue;
            }
            *seen = Some((findings.len(), 1));
            findings.push(Diagnosis::new(
                Code::RstIgnored,
                Some(receiver),
                segment.frame,
                format!(
                    "{} sent a RST whose sequence number lies outside the window {} expects, so {} ignores \
                     it (RFC 5961: a blind or stale reset changes nothing).",
                    context.addr(sender),
                    context.addr(receiver),
                    receiver.name()
                ),
            ));
            continue;
        }
        if receiver_before == TcpState::SynSent {
            findings.push(
                Diagnosis::new(
                    Code::Refused,
                    Some(receiver),
                    segment.frame,
                    format!(
                        "{} answered the SYN with RST: nothing was listening on port {}. {REFUSED_EFFECT}",
                        context.addr(sender),
                        context.connection.server.port()
                    ),
                )
                .showing(REFUSED_EFFECT),
            );
            continue;
        }
        if let Some(write) = write_after_close(context, index, segment) {
            findings.push(broken_pipe(context, receiver, write, segment));
            continue;
        }
        if receiver_before.is_synchronized() || receiver_before == TcpState::SynReceived {
            findings.push(Diagnosis::new(
                Code::ResetByPeer,
                Some(receiver),
                segment.frame,
                format!(
                    "{} reset the connection while {} was in {receiver_before}: its next read() fails with \
                     ECONNRESET, \"connection reset by peer\" (a write() fails too, with EPIPE after that). {}",
                    context.addr(sender),
                    context.addr(receiver),
                    reset_cause(context, index, segment)
                ),
            ));
        }
    }
    for (at, count) in ignored.into_array().into_iter().flatten() {
        if let Some(finding) = findings.get_mut(at).filter(|_| count > 1) {
            finding.text.push_str(&format!(
                " {} more RSTs like it followed and were ignored too ({count} in all): a RST storm, \
                 such as a blind reset attack or a middlebox spraying resets.",
                count - 1
            ));
        }
    }
}

const REFUSED_EFFECT: &str = "The client's connect() fails with ECONNREFUSED, \"Connection refused\".";
// In CLOSE_WAIT the kernel records a RST as EPIPE (tcp_reset), and reads keep returning EOF since
// the FIN came first: the broken-pipe lessons show both.
const BROKEN_PIPE_EFFECT: &str = "The writer's next write() fails with EPIPE, \"broken pipe\" (SIGPIPE unless \
                                  ignored); its reads return EOF, since the FIN came first.";

/// The data segment that drew this RST, when the receiver of the RST wrote after the RST's
/// sender had closed (sent its FIN).
fn write_after_close<'a>(context: &Context<'a>, index: usize, rst: &Segment) -> Option<&'a Segment> {
    let connection = context.connection;
    let earlier = connection.segments.get(..index)?;
    let fin_at = earlier.iter().position(|s| s.dir == rst.dir && s.flags.fin())?;
    earlier.iter().skip(fin_at).rev().find(|s| s.dir != rst.dir && s.payload_len > 0)
}

fn broken_pipe(context: &Context<'_>, writer: Side, write: &Segment, rst: &Segment) -> Diagnosis {
    Diagnosis::new(
        Code::BrokenPipe,
        Some(writer),
        rst.frame,
        format!(
            "{} kept writing after {} had closed: it received the peer's FIN, then sent {} bytes at frame {}. \
             The peer's socket was already closed, so it answered with RST. {BROKEN_PIPE_EFFECT} A FIN only \
             says \"I will send no more\"; check for EOF (read() returning 0) before writing. {}",
            context.addr(writer),
            context.addr(writer.other()),
            write.payload_len,
            write.frame,
            match writer {
                Side::Client =>
                    "In a load test, this is the server closing idle or keep-alive connections that \
                                 the client still reuses.",
                Side::Server =>
                    "When a server logs it, the client usually gave up first (its own timeout) and \
                                 closed while the server was still working on the request.",
            }
        ),
    )
    .showing(BROKEN_PIPE_EFFECT)
}

fn reset_cause(context: &Context<'_>, index: usize, rst: &Segment) -> &'static str {
    let sender_before = context.before.get(index).map(|before| before[rst.dir.sender()]);
    if sender_before == Some(TcpState::SynReceived) && !rst.flags.ack() {
        return "Likely cause: the server's kernel never made a socket for this connection. The handshake's ACK \
                did not complete it (the listener's accept queue was full), and with \
                net.ipv4.tcp_abort_on_overflow = 1 the kernel answers the next segment with RST (with the default \
                0 it drops the ACK and sends the SYN-ACK again). The application never saw the connection; \
                `nstat -az TcpExtListenOverflows` on the server counts such drops.";
    }
    let earlier = context.connection.segments.get(..index).unwrap_or(&[]);
    // Data that arrived after the resetting side last sent data of its own was most likely never
    // read (a request it did not answer).
    let last_data_from_sender = earlier.iter().rposition(|s| s.dir == rst.dir && s.payload_len > 0);
    let unread_arrived = earlier
        .iter()
        .skip(last_data_from_sender.map_or(0, |at| at + 1))
        .any(|s| s.dir != rst.dir && s.payload_len > 0);
    let sender_sent_fin = earlier.iter().any(|s| s.dir == rst.dir && s.flags.fin());
    if unread_arrived {
        "Likely cause: the resetting side closed its socket with data it had not read still in its \
         receive buffer; the kernel then sends RST instead of FIN (RFC 2525), and any data in flight is lost."
    } else if sender_sent_fin {
        "Likely cause: data arrived after the resetting side had fully closed its socket."
    } else {
        "Likely cause: an abortive close (SO_LINGER with a zero timeout), a process that exited or was \
         killed, or a middlebox or timeout dropping the connection."
    }
}

fn zero_window(context: &Context<'_>, findings: &mut Vec<Diagnosis>) {
    for role in Side::BOTH {
        let zero = context.sent_by(role, |s| s.analysis.has(AnalysisFlags::ZERO_WINDOW));
        let Some(first) = zero.first() else { continue };
        findings.push(Diagnosis::new(
            Code::ZeroWindow,
            Some(role),
            first.frame,
            format!(
                "{} advertised a zero window ({} times): its receive buffer was full because its application \
                 stopped reading. The {} had to stop sending and probe until the window opened again.",
                context.addr(role),
                zero.len(),
                role.other().name()
            ),
        ));
    }
}

fn retransmissions(context: &Context<'_>, findings: &mut Vec<Diagnosis>) {
    for role in Side::BOTH {
        let retransmitted = context.sent_by(role, |s| s.analysis.is_retransmission() && !s.flags.syn());
        let Some(first) = retransmitted.first() else {
            continue;
        };
        let bytes: u64 = retransmitted.iter().map(|s| u64::from(s.payload_len)).sum();
        findings.push(Diagnosis::new(
            Code::Retransmissions,
            Some(role),
            first.frame,
            format!(
                "{} retransmitted {} segments ({bytes} bytes): segments or their ACKs were lost or delayed, and \
                 each retransmission timeout stalls the application.",
                context.addr(role),
                retransmitted.len()
            ),
        ));
    }
}

fn keep_alive(context: &Context<'_>, findings: &mut Vec<Diagnosis>) {
    for dir in [Direction::ClientToServer, Direction::ServerToClient] {
        // Wireshark calls Linux's zero-window probes keep-alives; those are not SO_KEEPALIVE.
        let mut peer_window_zero = false;
        let mut probes: Vec<&Segment> = Vec::new();
        for segment in &context.connection.segments {
            if segment.dir != dir {
                peer_window_zero = segment.window_raw == 0 && !segment.flags.rst();
            } else if segment.analysis.has(AnalysisFlags::KEEP_ALIVE) && !peer_window_zero {
                probes.push(segment);
            }
        }
        let Some(first) = probes.first() else {
            continue;
        };
        let role = dir.sender();
        findings.push(Diagnosis::new(
            Code::KeepAlive,
            Some(role),
            first.frame,
            format!(
                "{} sent {} TCP keep-alive probes (SO_KEEPALIVE): on an idle connection it checks that the peer \
                 is still there; a peer that answers keeps it open, one that is gone makes the probes end in a \
                 reset or a timeout.",
                context.addr(role),
                probes.len()
            ),
        ));
    }
}
