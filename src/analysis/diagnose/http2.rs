//! HTTP/2's own endings: a stream reset (RST_STREAM) while the connection lives on, and a
//! connection ended by GOAWAY with an error, or with requests it will not process.

use crate::analysis::exchanges::{duration, Exchange};
use crate::protocols::{Conversation, Http2Error, Message, MessageKind};
use crate::wire::Side;

use super::conversation::what;
use super::finding::{Code, Context, Diagnosis};

const NO_ERROR: u32 = 0x0;
const REFUSED_STREAM: u32 = 0x7;
const CANCEL: u32 = 0x8;

pub(super) fn stream_errors(
    context: &Context<'_>,
    conversation: &Conversation,
    exchanges: &[Exchange],
    findings: &mut Vec<Diagnosis>,
) {
    let messages = conversation.messages();
    for message in messages {
        let MessageKind::Http2Frames(frames) = &message.kind else { continue };
        let Some(error) = frames.error else { continue };
        let finding = if error.goaway {
            goaway(context, messages, message, error)
        } else {
            Some(rst_stream(context, messages, exchanges, message, error))
        };
        findings.extend(finding);
    }
}

/// The request sent on `stream`, and its exchange.
fn request_on<'a>(
    messages: &'a [Message],
    exchanges: &'a [Exchange],
    stream: u32,
) -> Option<(&'a Message, &'a Exchange)> {
    let request = messages.iter().find(|m| m.stream == Some(stream) && m.is_request())?;
    Some((request, exchanges.iter().find(|e| e.request_frame == request.head_frame)?))
}

fn rst_stream(
    context: &Context<'_>,
    messages: &[Message],
    exchanges: &[Exchange],
    reset: &Message,
    error: Http2Error,
) -> Diagnosis {
    let code = error.code_name();
    let request = request_on(messages, exchanges, error.stream);
    let named = request.map_or(String::new(), |(_, exchange)| format!(" ({})", what(exchange)));
    let after = request.map_or(String::new(), |(request, _)| {
        format!(" {} after the request", duration((reset.first_ts_nanos - request.head_ts_nanos) as f64 / 1e9))
    });
    let answered = request.is_some_and(|(_, exchange)| exchange.response_frame.is_some_and(|f| f < reset.first_frame));
    let why = match (reset.side, error.code) {
        (Side::Client, CANCEL) if !answered => {
            "The client gave up on this one request (its own timeout, or the user or caller no longer \
             wanted it) and kept the connection for the others; a server that logs \"client disconnected\" \
             or \"context canceled\" for it is reporting this reset."
        }
        (Side::Client, _) => "The client ended this stream, not the connection: the other requests on it go on.",
        (Side::Server, NO_ERROR) if answered => {
            "The server had already answered (an early response such as 413 or 401) before the request's \
             body had all arrived, and reset the stream with NO_ERROR so the client stops sending the rest \
             (RFC 9113 §8.1): the client sees the response, not an error."
        }
        (Side::Server, REFUSED_STREAM) => {
            "REFUSED_STREAM means the server did no work on it (too many concurrent streams, or shutting \
             down): the client can safely send it again."
        }
        (Side::Server, _) => {
            "The request failed at the server, which ended its stream instead of answering in full; the \
             client's library reports a stream error (curl: \"stream was not closed cleanly\"), and the \
             server's log says why."
        }
    };
    Diagnosis::new(
        Code::Http2RstStream,
        Some(reset.side),
        reset.first_frame,
        format!(
            "{} reset HTTP/2 stream {}{named} with RST_STREAM {code}{after}. {why}",
            context.addr(reset.side),
            error.stream,
        ),
    )
}

/// A GOAWAY is a finding when it carries an error, or when the client had sent requests past the
/// last stream the server will process (they were never handled and must be sent again).
fn goaway(context: &Context<'_>, messages: &[Message], goaway: &Message, error: Http2Error) -> Option<Diagnosis> {
    let refused = messages
        .iter()
        .filter(|m| m.is_request() && m.side != goaway.side && m.stream.is_some_and(|s| s > error.stream))
        .count();
    if error.code == NO_ERROR && refused == 0 {
        return None;
    }
    let code = error.code_name();
    let why = match error.code {
        NO_ERROR => "a graceful shutdown (a restart, a limit on requests per connection)".to_string(),
        0x1 => "a protocol error: the peer broke HTTP/2's rules (a bad frame, a bad header block)".to_string(),
        0xb => "ENHANCE_YOUR_CALM: the sender thinks the peer is abusive (too many resets, pings or \
                requests): a client library's retry storm looks like this"
            .to_string(),
        _ => format!("the error {code}"),
    };
    let left_out = if refused > 0 {
        format!(
            " {refused} request(s) were sent on later streams: they were not processed and are safe to send \
             again on a new connection."
        )
    } else {
        String::new()
    };
    Some(Diagnosis::new(
        Code::Http2Goaway,
        Some(goaway.side),
        goaway.first_frame,
        format!(
            "{} ended the HTTP/2 connection with GOAWAY {code} after stream {}: {why}.{left_out}",
            context.addr(goaway.side),
            error.stream,
        ),
    ))
}
