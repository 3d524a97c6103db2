//! Findings that join the application and TCP: a request the client gave up on, a request sent
//! on a keep-alive connection the server had already closed, and a response far slower than the
//! connection's others.

use crate::analysis::exchanges::{duration, end_of_wait, exchange, exchanges, Exchange, Outcome};
use crate::protocols::{Conversation, MessageKind, Protocol, TlsWhat};
use crate::tcp::Segment;
use crate::wire::Side;

use super::finding::{Code, Context, Diagnosis};

/// The exchanges the conversation's findings read, found once for all of them. Only the requests
/// of the protocols waited on ([`Protocol::is_waited_on`]) are paired (turns of other protocols
/// are not): most connections of most captures have none, and pairing their turns would be wasted.
pub(super) fn waited_exchanges(connection: &crate::tcp::Connection, conversation: &Conversation) -> Vec<Exchange> {
    if conversation.messages().iter().any(|m| m.protocol.is_waited_on()) {
        exchanges(connection, conversation)
    } else {
        Vec::new()
    }
}

pub(super) fn conversation(
    context: &Context<'_>,
    conversation: &Conversation,
    exchanges: &[Exchange],
    findings: &mut Vec<Diagnosis>,
) {
    tls_alerts(context, conversation, findings);
    if exchanges.is_empty() {
        return;
    }
    let connection = context.connection;
    slow_responses(context, conversation, exchanges, findings);
    let server_fin = connection.segments.iter().find(|s| s.dir.sender() == Side::Server && s.flags.fin());
    for exchange in exchanges {
        if !exchange.protocol.is_http() {
            continue;
        }
        let Some(head) = conversation.messages().iter().find(|m| m.head_frame == exchange.request_frame) else {
            continue;
        };
        let request = what(exchange);
        match exchange.outcome {
            // A response the capture missed (the client acknowledged bytes never seen) was no wait.
            Outcome::Abandoned if conversation.hole_bytes(Side::Server) > 0 && exchange.response_frame.is_none() => {}
            Outcome::Abandoned => {
                let Some(end) = end_of_wait(connection, exchange.request_frame) else { continue };
                let waited = (end.ts_nanos - head.head_ts_nanos) as f64 / 1e9;
                findings.push(abandoned(context, exchange, &request, end, waited));
            }
            Outcome::Reset => {
                if let Some(fin) = server_fin.filter(|fin| fin.frame < head.first_frame) {
                    findings.push(stale_keepalive(context, &request, head.first_frame, fin));
                }
            }
            _ => {}
        }
    }
}

/// A response is slow when it took this many times the connection's median wait …
const SLOW_FACTOR: f64 = 10.0;
/// … and at least this long (seconds): microseconds of jitter are no finding.
const SLOW_FLOOR: f64 = 0.1;
/// Fewer answered requests than this give no typical wait to compare with.
const SLOW_MIN_EXCHANGES: u64 = 3;

/// Responses that took far longer than the connection's typical one: the time went to the
/// server's work on that request (a query, a lock, a cold cache), since the others show the path
/// itself is fast.
fn slow_responses(
    context: &Context<'_>,
    conversation: &Conversation,
    exchanges: &[Exchange],
    findings: &mut Vec<Diagnosis>,
) {
    let waited = |e: &&Exchange| e.outcome == Outcome::Answered && e.protocol != Protocol::Tls;
    let answered: Vec<(&Exchange, f64)> =
        exchanges.iter().filter(waited).filter_map(|e| Some((e, e.latency?))).collect();
    let mut slowest_forgotten = None;
    let mut waits: Vec<f64> = answered.iter().map(|(_, wait)| *wait).collect();
    waits.sort_by(f64::total_cmp);
    let (typical, count) = match conversation.forgotten_waits() {
        // A summary forgot most exchanges: their histogram, with the kept ones counted in, gives
        // the typical wait, and the slowest forgotten one is a candidate beside the kept ones.
        Some(forgotten) => {
            let mut all = forgotten.clone();
            for wait in &waits {
                all.count((wait * 1e9) as i64);
            }
            if let Some((request, response)) = forgotten.slowest() {
                let slowest = exchange(context.connection, request, Some(response));
                if let Some(wait) = slowest.latency.filter(|_| waited(&&slowest)) {
                    slowest_forgotten = Some((slowest, wait));
                }
            }
            (all.median_seconds(), all.len())
        }
        None => (waits.get(waits.len() / 2).copied(), waits.len() as u64),
    };
    let Some(typical) = typical.filter(|_| count >= SLOW_MIN_EXCHANGES) else { return };
    let forgotten = slowest_forgotten.as_ref().map(|(exchange, wait)| (exchange, *wait));
    for (exchange, wait) in answered.into_iter().chain(forgotten) {
        if wait < SLOW_FLOOR || wait < SLOW_FACTOR * typical {
            continue;
        }
        let Some(frame) = exchange.response_frame else { continue };
        findings.push(Diagnosis::new(
            Code::SlowResponse,
            Some(Side::Server),
            frame,
            format!(
                "{} took {} to answer {} (frame {}), where this connection's typical answer took about {} \
                 (the median of {count} responses). The same path answered the others at once, so the time \
                 went to the server's work on this request: a slow query, a lock, a cold cache, a call it \
                 made in turn. A client whose timeout is shorter than this gives up on it.",
                context.addr(Side::Server),
                duration(wait),
                what(exchange),
                exchange.request_frame,
                duration(typical),
            ),
        ));
    }
}

/// A fatal TLS alert sent in the clear: the handshake failed, and the alert says why.
fn tls_alerts(context: &Context<'_>, conversation: &Conversation, findings: &mut Vec<Diagnosis>) {
    for message in conversation.messages() {
        let MessageKind::Tls(head) = &message.kind else { continue };
        let TlsWhat::Alert { fatal: true, description } = &head.what else { continue };
        findings.push(Diagnosis::new(
            Code::TlsAlert,
            Some(message.side),
            message.head_frame,
            format!(
                "{} ended the TLS handshake with the alert `{description}`, sent in the clear: no data will \
                 pass on this connection. The alert names the cause (a protocol version, cipher or certificate \
                 the two sides do not share, a name the server does not serve); the peer's TLS library \
                 reports it as a handshake error, not as a network one.",
                context.addr(message.side)
            ),
        ));
    }
}

/// Appends to reset, broken-pipe and CLOSE_WAIT findings the HTTP request in flight at their
/// frame, if one was: what the application was doing when TCP went wrong.
pub(super) fn name_requests_in_flight(exchanges: &[Exchange], findings: &mut [Diagnosis]) {
    for finding in
        findings.iter_mut().filter(|f| matches!(f.code, Code::ResetByPeer | Code::BrokenPipe | Code::CloseWait))
    {
        let in_flight = exchanges.iter().rev().find(|e| {
            e.protocol.is_http()
                && e.request_frame <= finding.frame
                && e.response_frame.is_none_or(|response| response > finding.frame)
        });
        if let Some(exchange) = in_flight {
            finding.text.push_str(&format!(
                " The request in flight was {} (frame {}), not answered by then.",
                what(exchange),
                exchange.request_frame
            ));
        }
    }
}

/// "`GET /slow`", "the Redis command `GET`", "the DNS query `A example.com`", or "the request of
/// 120 bytes".
pub(super) fn what(exchange: &Exchange) -> String {
    match (&exchange.method, &exchange.target, &exchange.command) {
        (Some(kind), Some(name), _) if exchange.protocol == Protocol::Dns => format!("the DNS query `{kind} {name}`"),
        (Some(method), Some(target), _) => format!("`{method} {target}`"),
        (_, _, Some(command)) => format!("the Redis command `{command}`"),
        _ => format!("the request of {} bytes", exchange.bytes.0),
    }
}

/// "(likely the client's own timeout of about 5 s)" when the wait is close to whole seconds.
fn timeout_guess(waited: f64) -> String {
    let whole = waited.round();
    if whole >= 1.0 && (waited - whole).abs() <= 0.05 * whole {
        format!(" (likely the client's own timeout of about {whole:.0} s)")
    } else {
        String::new()
    }
}

fn abandoned(context: &Context<'_>, exchange: &Exchange, request: &str, end: &Segment, waited: f64) -> Diagnosis {
    let how = if end.flags.rst() { "reset" } else { "closed" };
    let mut text = format!(
        "{} gave up on {request} after {} without a response{} and {how} the connection.",
        context.addr(Side::Client),
        duration(waited),
        timeout_guess(waited)
    );
    if let (Some(frame), Some(latency)) = (exchange.response_frame, exchange.latency) {
        text.push_str(&format!(
            " The server answered at frame {frame}, {} after the request, into a socket the client had \
             closed: the client's kernel answers such data with RST, and the server's next write fails with \
             EPIPE, \"broken pipe\": the error frameworks log as \"the client disconnected\". Make the server \
             faster than the client's timeout, or the timeout longer than the slowest answer.",
            duration(latency)
        ));
    }
    Diagnosis::new(Code::RequestAbandoned, Some(Side::Client), end.frame, text)
}

fn stale_keepalive(context: &Context<'_>, request: &str, request_frame: u32, fin: &Segment) -> Diagnosis {
    let connection = context.connection;
    let idle_since = connection.segments.iter().rev().find(|s| s.frame < fin.frame && s.payload_len > 0);
    let idle = idle_since.map_or(String::new(), |last| {
        format!(" after the connection had been idle for {}", duration((fin.ts_nanos - last.ts_nanos) as f64 / 1e9))
    });
    Diagnosis::new(
        Code::StaleKeepalive,
        Some(Side::Client),
        request_frame,
        format!(
            "{} sent {request} on a keep-alive connection the server had already closed: the server's FIN \
             came at frame {}{idle} (its keep-alive timeout), and the request drew a RST. The client's next \
             call fails with EPIPE or ECONNRESET; this is why load tests show broken pipes. Retry idempotent \
             requests on a new connection, and set the client's idle timeout below the server's.",
            context.addr(Side::Client),
            fin.frame
        ),
    )
}
