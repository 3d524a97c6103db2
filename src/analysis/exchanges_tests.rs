//! Requests paired with their responses where responses need not come in order (HTTP/2 streams,
//! DNS ids), and what a stream's reset says of its request's fate.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::analysis::exchanges::{exchanges, Outcome};
use crate::protocols::dns::tests::framed;
use crate::protocols::http1::tests::{labels, talk};
use crate::protocols::http2::tests::{frame, request, response, settings};
use crate::protocols::http2::PREFACE;
use crate::protocols::Protocol;
use crate::wire::Side;

/// A connection that only opened: the conversation alone decides each exchange's outcome.
fn opened() -> crate::tcp::Connection {
    crate::tcp::test_support::connection(&[(true, crate::tcp::test_support::flags::S, 0, 0, 0, 0)])
}

#[test]
fn streams_answered_out_of_order_pair_by_stream() {
    let (mut client, mut server) = (loona_hpack::Encoder::new(), loona_hpack::Encoder::new());
    let mut opening = PREFACE.to_vec();
    opening.extend(settings());
    opening.extend(frame(0x1, 0x5, 1, &request(&mut client, "/slow")));
    opening.extend(frame(0x1, 0x5, 3, &request(&mut client, "/fast")));
    let fast = [frame(0x1, 0x4, 3, &response(&mut server, "200")), frame(0x0, 0x1, 3, b"fast body")].concat();
    let slow = [frame(0x1, 0x4, 1, &response(&mut server, "503")), frame(0x0, 0x1, 1, b"x")].concat();
    let conversation =
        talk(&[(Side::Client, &opening), (Side::Server, &settings()), (Side::Server, &fast), (Side::Server, &slow)]);
    assert_eq!(
        labels(&conversation),
        [
            "preface · SETTINGS",
            "HEADERS stream 1 · GET /slow · host api.local",
            "HEADERS stream 3 · GET /fast · host api.local",
            "SETTINGS",
            "HEADERS stream 3 · 200 · 26 bytes",
            "HEADERS stream 1 · 503 · 22 bytes",
        ]
    );
    let connection = opened();
    let pairs: Vec<_> = exchanges(&connection, &conversation)
        .into_iter()
        .map(|e| (e.target.unwrap_or_default(), e.status, e.protocol))
        .collect();
    assert_eq!(
        pairs,
        [("/slow".to_string(), Some(503), Protocol::Http2), ("/fast".to_string(), Some(200), Protocol::Http2)]
    );
}

#[test]
fn a_cancelled_stream_is_abandoned_and_a_refused_one_reset() {
    let (mut client, mut server) = (loona_hpack::Encoder::new(), loona_hpack::Encoder::new());
    let opening = [PREFACE.to_vec(), frame(0x1, 0x5, 1, &request(&mut client, "/a"))].concat();
    let second = frame(0x1, 0x5, 3, &request(&mut client, "/b"));
    let cancel = frame(0x3, 0, 1, &8u32.to_be_bytes());
    let refuse = frame(0x3, 0, 3, &7u32.to_be_bytes());
    let goaway = frame(0x7, 0, 0, &[0, 0, 0, 3, 0, 0, 0, 0xb]);
    let _ = response(&mut server, "200");
    let conversation = talk(&[
        (Side::Client, &opening),
        (Side::Client, &second),
        (Side::Client, &cancel),
        (Side::Server, &[refuse, goaway].concat()),
    ]);
    assert_eq!(
        labels(&conversation)[3..],
        [
            "RST_STREAM stream 1 · CANCEL",
            "RST_STREAM stream 3 · REFUSED_STREAM",
            "GOAWAY after stream 3 · ENHANCE_YOUR_CALM"
        ]
    );
    let connection = opened();
    let outcomes: Vec<Outcome> = exchanges(&connection, &conversation).iter().map(|e| e.outcome).collect();
    assert_eq!(outcomes, [Outcome::Abandoned, Outcome::Reset]);
}

#[test]
fn an_upgrade_to_h2c_makes_the_request_stream_one() {
    let mut server = loona_hpack::Encoder::new();
    let upgrade = b"GET /up HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n";
    let switching = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
    let answer = [settings(), frame(0x1, 0x5, 1, &response(&mut server, "204"))].concat();
    let conversation = talk(&[
        (Side::Client, upgrade),
        (Side::Server, switching),
        (Side::Client, &[PREFACE.to_vec(), settings()].concat()),
        (Side::Server, &answer),
    ]);
    let connection = opened();
    let exchanges = exchanges(&connection, &conversation);
    assert_eq!(exchanges.len(), 1, "{exchanges:?}");
    assert_eq!((exchanges[0].target.as_deref(), exchanges[0].status), (Some("/up"), Some(204)));
}

#[test]
fn pipelined_queries_pair_with_their_responses_by_id() {
    let queries = [framed(7, None, "a.example.", RecordType::A), framed(9, None, "b.example.", RecordType::AAAA)];
    let (first, second) = (queries[0].clone(), queries[1].clone());
    // The second query's length prefix is split from its body.
    let (split_a, split_b) = second.split_at(1);
    let answers = [
        framed(9, Some(ResponseCode::NXDomain), "b.example.", RecordType::AAAA),
        framed(7, Some(ResponseCode::NoError), "a.example.", RecordType::A),
    ]
    .concat();
    let conversation =
        talk(&[(Side::Client, &[first, split_a.to_vec()].concat()), (Side::Client, split_b), (Side::Server, &answers)]);
    assert_eq!(
        labels(&conversation),
        ["query A a.example", "query AAAA b.example", "response NXDOMAIN · 0 answers", "response NOERROR · 0 answers"]
    );
    let connection = crate::tcp::test_support::connection(&[(true, crate::tcp::test_support::flags::S, 0, 0, 0, 0)]);
    let statuses: Vec<_> = exchanges(&connection, &conversation).iter().map(|e| (e.target.clone(), e.status)).collect();
    assert_eq!(statuses, [(Some("a.example".into()), Some(0)), (Some("b.example".into()), Some(3))]);
}
