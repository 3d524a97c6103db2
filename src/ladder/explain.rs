//! Why a side's state changed at a segment, in words a student can follow.

use crate::tcp::{Connection, Segment, TcpState};
use crate::wire::Side;

/// The state change of `side` at segment `index`, explained; `None` when that side's state did
/// not change there.
pub fn explain_change(connection: &Connection, index: usize, side: Side) -> Option<String> {
    let segment = connection.segments.get(index)?;
    let before = index
        .checked_sub(1)
        .and_then(|i| connection.segments.get(i))
        .map_or(TcpState::Unknown, |previous| previous.state(side));
    let after = segment.state(side);
    let via = segment.via(side);
    if side == Side::Server && index == 0 && connection.syn_unanswered() {
        return Some(NO_SOCKET.to_string());
    }
    if before == after && via.is_none() {
        return None;
    }
    let who = side.name();
    let sent = segment.dir.sender() == side;
    let path = match via {
        Some(via) => format!("{before} → {via} → {after}"),
        None => format!("{before} → {after}"),
    };
    let why = if sent { why_sent(segment, before, after) } else { why_received(segment, before, via, after) };
    let expired = if before == TcpState::TimeWait && via == Some(TcpState::Closed) {
        "Its TIME_WAIT had run out (2×MSL), so the socket was gone. "
    } else {
        ""
    };
    let unseen = if !sent && connection.unconfirmed_receipts()[side] == Some(index) {
        format!(
            " Not visible in this capture: nothing the {who} sent afterwards acknowledges this segment, so that it \
             arrived (and this change) is assumed, not seen."
        )
    } else {
        String::new()
    };
    Some(format!("{expired}The {who} {why}, so it moved {path}{}.{unseen}", consequence(after, sent)))
}

/// The listener side of a SYN it never answered.
const NO_SOCKET: &str = "No socket (SYN not answered): the server never answered, so no connection exists on its \
     side and the kernel reports it CLOSED. Either the SYN never reached it (a firewall, a route), or its \
     listener's accept queue was full and the kernel dropped the SYN; the capture cannot tell which.";

fn why_sent(segment: &Segment, before: TcpState, after: TcpState) -> &'static str {
    use TcpState::*;
    let flags = segment.flags;
    match (before, after) {
        // An orphan: its application had closed it already, and the kernel, finishing the close
        // alone, answers data that still comes with RST. The student would otherwise wonder how
        // a state "sends" RST.
        (FinWait1 | FinWait2 | Closing | LastAck, Closed) if flags.rst() => "sent RST: its application had already closed this socket (it was an orphan the kernel was finishing alone), so data that arrived for it could not be delivered and was answered with RST",
        (_, Closed) if flags.rst() => "sent RST: it aborted the connection (closed with unread data, SO_LINGER 0, or a segment arrived for a socket that no longer exists)",
        (_, SynSent) => "sent SYN: its application called connect()",
        (_, SynReceived) => "answered a SYN with SYN-ACK from its listening socket",
        (CloseWait, LastAck) => "sent its own FIN: its application called close() after reading the peer's FIN",
        (_, FinWait1) => "sent FIN: its application called close() or shutdown(SHUT_WR)",
        (_, Closing) => "sent FIN, while the peer's FIN was already on its way",
        (Unknown, _) => "sent its first segment in the capture, which shows where it stands",
        _ => "sent this segment",
    }
}

fn why_received(segment: &Segment, before: TcpState, via: Option<TcpState>, after: TcpState) -> &'static str {
    use TcpState::*;
    let flags = segment.flags;
    match (before, via, after) {
        (_, _, Closed) if flags.rst() => "received a RST, which destroys the connection at once",
        (SynSent, _, Established) => "received the SYN-ACK that acknowledges its SYN",
        (SynSent, _, SynReceived) => "received a bare SYN while its own was on the way (simultaneous open)",
        (SynReceived, _, Established) => "received the ACK of its SYN-ACK",
        (_, _, CloseWait) => "received FIN: the peer will send no more",
        (FinWait1, Some(FinWait2), TimeWait) => "received the ACK of its FIN and the peer's FIN together",
        (FinWait1, _, FinWait2) => "received the ACK of its FIN",
        (FinWait1, _, Closing) => "received the peer's FIN before the ACK of its own: both sides closed at once",
        (FinWait2, _, TimeWait) => "received the peer's FIN",
        (Closing, _, TimeWait) => "received the ACK of its FIN",
        (LastAck, _, Closed) => "received the ACK of its FIN",
        _ => "received this segment",
    }
}

fn consequence(after: TcpState, sent: bool) -> &'static str {
    use TcpState::*;
    match after {
        SynSent => "; it waits for the SYN-ACK",
        SynReceived => "; it waits for the final ACK of the handshake",
        Established if !sent => "; from now on both sides can send data",
        FinWait1 => "; it waits for the peer to acknowledge its FIN",
        FinWait2 => "; it waits for the peer's FIN, and can still receive data",
        CloseWait => "; it stays there until its application calls close()",
        LastAck => "; it waits for the ACK of that FIN",
        Closing => "; it waits for the ACK of its own FIN",
        TimeWait => {
            "; it stays there for 2×MSL (60 s on Linux) so that stray segments die out before the port pair is reused"
        }
        Closed if sent => "; its socket is gone",
        Closed => "; the socket is gone, and its next read() or write() fails (ECONNRESET after a reset)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::test_support;
    use crate::wire::TcpFlags;

    const HANDSHAKE_THEN_CLIENT_FIN: [test_support::Step; 4] = [
        (true, TcpFlags::SYN, 0, 0, 0, 0),
        (false, TcpFlags::SYN | TcpFlags::ACK, 0, 1, 0, 0),
        (true, TcpFlags::ACK, 1, 1, 0, 0),
        (true, TcpFlags::FIN | TcpFlags::ACK, 1, 1, 0, 0),
    ];

    #[test]
    fn a_received_fin_explains_close_wait() {
        let mut steps = HANDSHAKE_THEN_CLIENT_FIN.to_vec();
        steps.push((false, TcpFlags::ACK, 1, 2, 0, 0));
        let connection = &test_support::connection(&steps);
        assert_eq!(
            explain_change(connection, 3, Side::Server).as_deref(),
            Some("The server received FIN: the peer will send no more, so it moved ESTABLISHED → CLOSE_WAIT; it stays there until its application calls close().")
        );
        assert!(explain_change(connection, 3, Side::Client).is_some_and(|text| text.contains("close() or shutdown")));
        assert_eq!(explain_change(connection, 2, Side::Client), None);
    }

    #[test]
    fn a_reset_from_fin_wait_2_says_the_application_had_closed_the_socket() {
        let (s, a, f, p, r) = (TcpFlags::SYN, TcpFlags::ACK, TcpFlags::FIN, TcpFlags::PSH, TcpFlags::RST);
        let connection = &test_support::connection(&[
            (true, s, 0, 0, 0, 0),
            (false, s | a, 0, 1, 0, 0),
            (true, a, 1, 1, 0, 0),
            (false, f | a, 1, 1, 0, 1),
            (true, a, 1, 2, 0, 1),
            (true, p | a, 1, 2, 21, 2),
            (false, r, 2, 0, 0, 2),
        ]);
        let text = explain_change(connection, 6, Side::Server).expect("the server's change");
        assert!(text.contains("its application had already closed this socket"), "{text}");
        assert!(text.contains("FIN_WAIT_2 → CLOSED"), "{text}");
    }

    #[test]
    fn a_receipt_nothing_confirms_is_not_visible_in_the_capture() {
        // The capture ends with the client's FIN: whether the server got it, nothing shows.
        let connection = &test_support::connection(&HANDSHAKE_THEN_CLIENT_FIN);
        let text = explain_change(connection, 3, Side::Server).expect("the server's change");
        assert!(text.contains("Not visible in this capture"), "{text}");
        let layout = crate::ladder::LadderLayout::new(
            connection,
            &std::collections::BTreeSet::new(),
            &[],
            &crate::ladder::LayoutOptions::default(),
        );
        let assumed: Vec<_> = layout.state_marks.iter().filter(|m| m.assumed).map(|m| (m.side, m.to)).collect();
        assert_eq!(assumed, [(Side::Server, TcpState::CloseWait)]);
    }
}
