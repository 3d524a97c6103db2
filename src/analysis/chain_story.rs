//! What happened along a proxy chain, in one sentence per request that went wrong: who gave up
//! first, after how long, and which log line each hop writes. The classic: the client's timeout
//! fires, the proxy closes its upstream connection (nginx logs 499), and the backend, still
//! working, writes into the closed socket and logs `write: broken pipe`.

use std::collections::BTreeMap;

use super::chains::{Link, LinkKind};
use super::diagnose::{diagnose_with, Code};
use super::exchanges::{duration, exchanges, Exchange, Outcome};
use crate::tcp::Connection;
use crate::wire::Side;
use crate::Engine;

/// The sentences for the chain of `chain` (connection ids), in the order the requests were sent.
pub fn chain_story(engine: &Engine, links: &BTreeMap<u32, Vec<Link>>, chain: &[u32]) -> Vec<String> {
    let mut story = Vec::new();
    for &id in chain {
        let (Some(client_side), Some(conversation)) = (engine.connection(id), engine.conversation(id)) else {
            continue;
        };
        let upstreams: Vec<u32> = links
            .get(&id)
            .into_iter()
            .flatten()
            .filter(|link| link.kind == LinkKind::Upstream)
            .map(|link| link.conn)
            .collect();
        for abandoned in exchanges(client_side, conversation).iter().filter(|e| e.outcome == Outcome::Abandoned) {
            if let Some(sentence) = gave_up(engine, client_side, abandoned, &upstreams) {
                story.push(sentence);
            }
        }
    }
    story
}

/// The story of one abandoned request whose forwarded copy ended in a broken pipe.
fn gave_up(engine: &Engine, client_side: &Connection, abandoned: &Exchange, upstreams: &[u32]) -> Option<String> {
    let sent = ts_of(client_side, abandoned.request_frame)?;
    let given_up = first_close_by(client_side, Side::Client, sent)?;
    let request = format!("{} {}", abandoned.method.as_deref()?, abandoned.target.as_deref()?);
    for &up in upstreams {
        let (Some(upstream), Some(conversation)) = (engine.connection(up), engine.conversation(up)) else { continue };
        let forwarded = exchanges(upstream, conversation).into_iter().find(|e| {
            e.method == abandoned.method
                && e.target == abandoned.target
                && ts_of(upstream, e.request_frame).is_some_and(|t| t >= sent)
        });
        let Some(forwarded) = forwarded else { continue };
        let broken = diagnose_with(upstream, Some(conversation), engine.capture_end_nanos())
            .iter()
            .any(|finding| finding.code == Code::BrokenPipe);
        if !broken {
            continue;
        }
        let forwarded_at = ts_of(upstream, forwarded.request_frame)?;
        let proxy_closed = first_close_by(upstream, Side::Client, forwarded_at)?;
        let backend_took = forwarded
            .latency
            .map_or_else(|| "longer than the capture shows".to_string(), |s| format!("after {}", duration(s)));
        return Some(format!(
            "The client {} gave up first: it closed connection #{} {} after sending `{request}` (its own timeout: \
             curl reports `Operation timed out`, Go `context deadline exceeded`). The proxy {} then closed its \
             upstream connection #{} {} later and logs the request as 499 (client closed request). The backend {} \
             answered {backend_took}, into the closed socket: the proxy's kernel answered with RST, and the \
             backend's next write failed with EPIPE, logged as `write: broken pipe`.",
            client_side.client,
            client_side.id,
            duration(seconds(given_up - sent)),
            client_side.server,
            upstream.id,
            duration(seconds(proxy_closed - given_up)),
            upstream.server,
        ));
    }
    None
}

fn seconds(nanos: i64) -> f64 {
    nanos as f64 / 1e9
}

/// The time of the segment of `frame` in `connection`.
fn ts_of(connection: &Connection, frame: u32) -> Option<i64> {
    let index = connection.segments.partition_point(|s| s.frame < frame);
    connection.segments.get(index).filter(|s| s.frame == frame).map(|s| s.ts_nanos)
}

/// When `side` first sent FIN or RST at or after `from`.
fn first_close_by(connection: &Connection, side: Side, from: i64) -> Option<i64> {
    connection
        .segments
        .iter()
        .find(|s| s.ts_nanos >= from && s.dir.sender() == side && (s.flags.fin() || s.flags.rst()))
        .map(|s| s.ts_nanos)
}
