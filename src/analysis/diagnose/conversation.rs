//! Findings that join the application and TCP: a request the client gave up on, and a request
//! sent on a keep-alive connection the server had already closed.

use crate::analysis::exchanges::{duration, end_of_wait, exchanges, Exchange, Outcome};
use crate::protocols::{Conversation, MessageKind, Protocol, TlsWhat};
use crate::tcp::Segment;
use crate::wire::Side;

use super::finding::{Code, Context, Diagnosis};

pub(super) fn conversation(context: &Context<'_>, conversation: &Conversation, findings: &mut Vec<Diagnosis>) {
    tls_alerts(context, conversation, findings);
    // Only HTTP's requests are waited on (turns of other protocols are not): most connections of
    // most captures have none, and pairing their turns would be wasted.
    if !conversation.messages().iter().any(|m| matches!(m.protocol, Protocol::Http10 | Protocol::Http11)) {
        return;
    }
    let connection = context.connection;
    let server_fin = connection.segments.iter().find(|s| s.dir.sender() == Side::Server && s.flags.fin());
    for exchange in exchanges(connection, conversation) {
        if !matches!(exchange.protocol, Protocol::Http10 | Protocol::Http11) {
            continue;
        }
        let Some(head) = conversation.messages().iter().find(|m| m.head_frame == exchange.request_frame) else {
            continue;
        };
        let request = what(&exchange);
        match exchange.outcome {
            // A response the capture missed (the client acknowledged bytes never seen) was no wait.
            Outcome::Abandoned if conversation.hole_bytes(Side::Server) > 0 && exchange.response_frame.is_none() => {}
            Outcome::Abandoned => {
                let Some(end) = end_of_wait(connection, exchange.request_frame) else { continue };
                let waited = (end.ts_nanos - head.head_ts_nanos) as f64 / 1e9;
                findings.push(abandoned(context, &exchange, &request, end, waited));
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
pub(super) fn name_requests_in_flight(
    connection: &crate::tcp::Connection,
    conversation: &Conversation,
    findings: &mut [Diagnosis],
) {
    let exchanges = exchanges(connection, conversation);
    for finding in
        findings.iter_mut().filter(|f| matches!(f.code, Code::ResetByPeer | Code::BrokenPipe | Code::CloseWait))
    {
        let in_flight = exchanges.iter().rev().find(|e| {
            matches!(e.protocol, Protocol::Http10 | Protocol::Http11)
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

/// "`GET /slow HTTP/1.1`", or "the request of 120 bytes".
fn what(exchange: &Exchange) -> String {
    match (&exchange.method, &exchange.target) {
        (Some(method), Some(target)) => format!("`{method} {target}`"),
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
