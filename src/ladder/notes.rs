//! What the ladder writes on an arrow for a finding: a short sentence, not its code (codes are for
//! Details, Findings and the JSON), and for a broken pipe a second note on the write that caused
//! it. The window and every export write the same notes.

use crate::analysis::{Code, Diagnosis};
use crate::tcp::Connection;
use crate::wire::Side;

/// The note on the write that a closed socket answered with RST: its arrow is drawn in amber.
pub const CAUSE_NOTE: &str = "write after the peer closed: its socket is gone";

/// A note on the arrow of `frame`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrowNote {
    pub frame: u32,
    pub text: String,
    /// The arrow is where the trouble began (the write into a closed socket): drawn in amber.
    pub cause: bool,
}

/// The notes of a connection's findings, in the findings' order.
pub fn finding_notes(connection: &Connection, diagnoses: &[Diagnosis]) -> Vec<ArrowNote> {
    let mut notes = Vec::new();
    // A graceful close and TIME_WAIT are the normal course, which the phase bracket ("server
    // closes first") and the TIME_WAIT pill already say: an arrow note would read as trouble.
    let noted = diagnoses.iter().filter(|d| !matches!(d.code, Code::GracefulClose | Code::TimeWait));
    for diagnosis in noted {
        let side = diagnosis.side;
        notes.push(ArrowNote { frame: diagnosis.frame, text: sentence(diagnosis.code, side), cause: false });
        if let (Code::BrokenPipe, Some(writer)) = (diagnosis.code, side) {
            if let Some(frame) = fatal_write(connection, writer, diagnosis.frame) {
                notes.push(ArrowNote { frame, text: CAUSE_NOTE.to_string(), cause: true });
            }
        }
    }
    notes
}

/// The last data `writer` sent before the reset of `reset_frame`: the write the peer's closed
/// socket answered with RST.
fn fatal_write(connection: &Connection, writer: Side, reset_frame: u32) -> Option<u32> {
    connection
        .segments
        .iter()
        .take_while(|s| s.frame < reset_frame)
        .filter(|s| s.dir.sender() == writer && s.payload_len > 0)
        .last()
        .map(|s| s.frame)
}

/// A finding in a few words, on the arrow that shows it.
fn sentence(code: Code, side: Option<Side>) -> String {
    let who = side.map_or("the application", Side::name);
    match code {
        Code::BrokenPipe => format!("{who}'s next write() → EPIPE (broken pipe)"),
        Code::ResetByPeer => format!("{who}'s next read() or write() → ECONNRESET"),
        Code::Refused => "connect() → ECONNREFUSED: nothing listens on that port".to_string(),
        Code::RstIgnored => "RST outside the window: ignored".to_string(),
        Code::CloseWait => format!("{who} got the FIN but never calls close(): CLOSE_WAIT"),
        Code::HalfClose => format!("{who} shut down its sending side; it still reads"),
        Code::GracefulClose => format!("{who} closes first"),
        Code::TimeWait => format!("{who} holds TIME_WAIT for 2×MSL"),
        Code::ZeroWindow => format!("{who}'s receive buffer is full: window 0"),
        Code::Retransmissions => "sent again: lost, or its ACK was".to_string(),
        Code::SynRetransmit => "SYN retried: no answer".to_string(),
        Code::SynackRetransmit => "SYN-ACK retried: the handshake's ACK did not come".to_string(),
        Code::KeepAlive => "keep-alive probe: is the peer still there?".to_string(),
        Code::MidStream => "the capture began mid-connection".to_string(),
        Code::PortReuse => "the same ports again: a new connection".to_string(),
        Code::RequestAbandoned => format!("{who} gave up before the response came"),
        Code::StaleKeepalive => "a request on a connection the server had closed".to_string(),
        Code::TlsAlert => "TLS alert".to_string(),
        Code::SlowResponse => "the server took far longer than usual".to_string(),
        Code::Http2Goaway => "HTTP/2 GOAWAY: no new streams".to_string(),
        Code::Http2RstStream => format!("{who} reset an HTTP/2 stream"),
        Code::AcceptBacklog => "never accepted: it waits in the accept queue".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::test_support::connection;
    use crate::tcp::test_support::flags::{A, F, P, R, S};

    #[test]
    fn a_broken_pipe_notes_the_reset_in_words_and_the_write_that_caused_it() {
        // The server closes; the client writes 21 bytes anyway; the server's closed socket resets.
        let connection = connection(&[
            (true, S, 0, 0, 0, 0),
            (false, S | A, 0, 1, 0, 0),
            (true, A, 1, 1, 0, 0),
            (false, F | A, 1, 1, 0, 1),
            (true, A, 1, 2, 0, 1),
            (true, P | A, 1, 2, 21, 2),
            (false, R, 2, 0, 0, 2),
        ]);
        let reset = connection.segments.last().expect("the reset").frame;
        let write = connection.segments[5].frame;
        let diagnosis = Diagnosis::new(Code::BrokenPipe, Some(Side::Client), reset, String::new());
        let notes = finding_notes(&connection, &[diagnosis]);
        assert_eq!(notes[0].frame, reset);
        assert_eq!(notes[0].text, "client's next write() → EPIPE (broken pipe)");
        assert!(!notes[0].text.contains("broken_pipe"), "a sentence, not the code");
        assert_eq!((notes[1].frame, notes[1].cause), (write, true));
        assert_eq!(notes[1].text, "write after the peer closed: its socket is gone");
    }
}
