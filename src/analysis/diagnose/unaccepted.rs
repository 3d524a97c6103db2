//! Connections a server's kernel completed and its application never took: they wait in the
//! listener's accept queue (a server out of file descriptors, whose accept() fails with EMFILE,
//! or one too busy to call it) and go CLOSE_WAIT when the client gives up.

use super::finding::{Code, Context, Diagnosis};
use crate::analysis::exchanges::duration;
use crate::tcp::TcpState;
use crate::wire::Side;

/// How long the client must have waited for its silence to mean something.
const WAITED_NANOS: i64 = 100_000_000;

/// A server FIN this soon after the client gave up was its application answering the EOF (a
/// proxy that logs 499 and closes): it had accepted the connection. An unaccepted one has no
/// application to close it; its FIN comes only when one accepts it at last.
const PROMPT_CLOSE_NANOS: i64 = 200_000_000;

/// What to check on the server, said of every such finding.
pub const ACCEPT_QUEUE_CHECK: &str = "On the server, `ss -ltn` shows the listener's queue (Recv-Q: connections \
     waiting, against Send-Q: the backlog), and `ls /proc/PID/fd | wc -l` against `ulimit -n` shows whether the \
     process ran out of descriptors.";

pub(super) fn unaccepted(context: &Context<'_>, findings: &mut Vec<Diagnosis>) {
    let connection = context.connection;
    let server = &connection.sides.server;
    let established = connection.segments.iter().any(|s| s.states.server == TcpState::Established);
    if !established || server.payload_bytes > 0 || connection.sides.client.payload_bytes == 0 {
        return;
    }
    let from_server = context.sent_by(Side::Server, |s| s.flags.fin());
    let Some(last_request) = context.sent_by(Side::Client, |s| s.payload_len > 0).last().copied() else {
        return;
    };
    let Some(gave_up) = context
        .sent_by(Side::Client, |s| (s.flags.fin() || s.flags.rst()) && s.ts_nanos >= last_request.ts_nanos)
        .first()
        .copied()
    else {
        return;
    };
    let waited = gave_up.ts_nanos - last_request.ts_nanos;
    let closed_at_once = |fin: i64| fin < gave_up.ts_nanos + PROMPT_CLOSE_NANOS;
    if waited < WAITED_NANOS || from_server.iter().any(|fin| closed_at_once(fin.ts_nanos)) {
        return;
    }
    findings.push(Diagnosis::new(
        Code::AcceptBacklog,
        Some(Side::Server),
        gave_up.frame,
        format!(
            "The server's application is not accepting this connection: its kernel completed the handshake and \
                 acknowledged the client's {} bytes, but not a byte and no FIN came back before {} gave up, {} \
                 later. A server that does not call accept() (out of file descriptors: accept() fails with \
                 EMFILE; or stuck) leaves completed connections in its accept queue, where they go CLOSE_WAIT when \
                 their clients give up. {ACCEPT_QUEUE_CHECK}",
            connection.sides.client.payload_bytes,
            context.addr(Side::Client),
            duration(waited as f64 / 1e9)
        ),
    ));
}
