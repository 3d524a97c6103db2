//! Connections chained by a proxy: a client's connection to a proxy (nginx, a gateway) and the
//! connection the proxy opened, or reused, to a backend for the same request. Found by content
//! first (the same method and target, sent from the proxy's host while the client's request was
//! in flight), by timing only when neither request could be decoded; each link says how it was
//! found and how sure that is.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use serde::Serialize;

use super::exchanges::request_pairs;
use crate::protocols::{Conversation, MessageKind};
use crate::tcp::Connection;

/// Which way a link points, seen from the connection that lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// The proxy's connection onward (client → proxy lists proxy → backend as upstream).
    Upstream,
    /// The connection this one serves (proxy → backend lists client → proxy as downstream).
    Downstream,
}

/// How a link was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// The upstream request repeats the client's: same method and target.
    SameRequest,
    /// The upstream request names the client's address in `X-Forwarded-For` or `Forwarded`.
    ForwardedFor,
    /// Neither request was decoded: the proxy's host sent a request upstream while the
    /// client's was in flight, and nothing else did.
    Timing,
}

impl Evidence {
    /// How sure the pairing is, in words.
    pub fn confidence(self) -> &'static str {
        match self {
            Self::SameRequest => "sure: the proxy forwarded the same request",
            Self::ForwardedFor => "sure: the proxy named the client in X-Forwarded-For",
            Self::Timing => "likely: only the timing ties them",
        }
    }
}

/// One link of a connection, as `conns --json` prints it in `links`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Link {
    pub conn: u32,
    pub kind: LinkKind,
    pub evidence: Evidence,
}

/// A request as chaining reads it: when it was sent, until when its answer was awaited, and
/// what it asked.
struct Sent<'a> {
    conn: u32,
    host: IpAddr,
    server: std::net::SocketAddr,
    sent: i64,
    awaited_until: i64,
    head: Option<(&'a str, &'a str)>,
    /// The client a proxy said it forwarded for.
    forwarded_for: Option<IpAddr>,
}

/// The links of every connection that has any, by connection id.
pub fn find_links<'a>(
    connections: impl IntoIterator<Item = &'a Connection>,
    conversation: impl Fn(u32) -> Option<&'a Conversation>,
) -> BTreeMap<u32, Vec<Link>> {
    let connections: Vec<&Connection> = connections.into_iter().collect();
    // A chain needs a connection whose client is on the host another connection's server is on,
    // to a different server. Most captures (one server port on loopback, a client's many
    // connections to one server) have none: then no request is read, and finding none costs a
    // pass over the connections. Two distinct servers per host are enough to know "another".
    let mut servers_from: HashMap<IpAddr, Vec<std::net::SocketAddr>> = HashMap::new();
    let mut servers_on: HashMap<IpAddr, Vec<std::net::SocketAddr>> = HashMap::new();
    for connection in &connections {
        for (map, host) in [(&mut servers_from, connection.client.ip()), (&mut servers_on, connection.server.ip())] {
            let servers = map.entry(host).or_default();
            if !servers.contains(&connection.server) && servers.len() < 2 {
                servers.push(connection.server);
            }
        }
    }
    let another = |map: &HashMap<IpAddr, Vec<std::net::SocketAddr>>, host: IpAddr, not: std::net::SocketAddr| {
        map.get(&host).is_some_and(|servers| servers.iter().any(|s| *s != not))
    };
    let mut requests: Vec<Sent<'_>> = Vec::new();
    for connection in &connections {
        // A client's connection to a proxy that connects onward, or a proxy's onward connection.
        let downstream = another(&servers_from, connection.server.ip(), connection.server);
        let upstream = another(&servers_on, connection.client.ip(), connection.server);
        if !(downstream || upstream) {
            continue;
        }
        let Some(conversation) = conversation(connection.id) else { continue };
        requests.extend(sent_requests(connection, conversation));
    }
    // Requests sent from each host, in time order: the candidates for a proxy's onward request.
    let mut from_host: HashMap<IpAddr, Vec<usize>> = HashMap::new();
    for (index, request) in requests.iter().enumerate() {
        from_host.entry(request.host).or_default().push(index);
    }
    for list in from_host.values_mut() {
        list.sort_by_key(|&i| requests.get(i).map_or(0, |r| r.sent));
    }
    let mut claimed = vec![false; requests.len()];
    let mut links: BTreeMap<u32, Vec<Link>> = BTreeMap::new();
    for downstream in &requests {
        let Some(candidates) = from_host.get(&downstream.server.ip()) else { continue };
        let start = candidates.partition_point(|&i| requests.get(i).is_some_and(|r| r.sent < downstream.sent));
        let in_flight = candidates
            .get(start..)
            .unwrap_or(&[])
            .iter()
            .copied()
            .take_while(|&i| requests.get(i).is_some_and(|r| r.sent <= downstream.awaited_until));
        let onward = |i: &usize| {
            requests.get(*i).is_some_and(|r| r.conn != downstream.conn && r.server != downstream.server)
                && !claimed.get(*i).copied().unwrap_or(true)
        };
        let candidates: Vec<usize> = in_flight.filter(onward).collect();
        let same = candidates
            .iter()
            .copied()
            .find(|&i| requests.get(i).and_then(|r| r.head).zip(downstream.head).is_some_and(|(up, down)| up == down));
        // A proxy that rewrites the path still names the client it forwards for.
        let named = candidates
            .iter()
            .copied()
            .find(|&i| requests.get(i).is_some_and(|r| r.forwarded_for == Some(downstream.host) && r.head.is_some()));
        // Timing alone, only when neither request was decoded and one candidate is in flight.
        let undecoded = match candidates.as_slice() {
            [only] if downstream.head.is_none() => requests.get(*only).is_some_and(|r| r.head.is_none()),
            _ => false,
        };
        let found = match (same, named) {
            (Some(i), _) => Some((i, Evidence::SameRequest)),
            (None, Some(i)) => Some((i, Evidence::ForwardedFor)),
            (None, None) if undecoded => candidates.first().map(|&i| (i, Evidence::Timing)),
            (None, None) => None,
        };
        let Some((index, evidence)) = found else { continue };
        let Some(upstream) = requests.get(index) else { continue };
        if let Some(flag) = claimed.get_mut(index) {
            *flag = true;
        }
        add(&mut links, downstream.conn, Link { conn: upstream.conn, kind: LinkKind::Upstream, evidence });
        add(&mut links, upstream.conn, Link { conn: downstream.conn, kind: LinkKind::Downstream, evidence });
    }
    links
}

/// Adds `link` to `of`'s links once (a keep-alive pair repeats it for every request).
fn add(links: &mut BTreeMap<u32, Vec<Link>>, of: u32, link: Link) {
    let list = links.entry(of).or_default();
    if !list.iter().any(|l| l.conn == link.conn) {
        list.push(link);
    }
}

/// The requests of one connection with the time until which each was awaited: its answer's
/// first byte, or the connection's end.
fn sent_requests<'a>(connection: &Connection, conversation: &'a Conversation) -> Vec<Sent<'a>> {
    let end = connection.last_ts_nanos();
    request_pairs(conversation.messages())
        .into_iter()
        .map(|(request, response)| {
            let (head, forwarded_for) = match &request.kind {
                MessageKind::Request(head) => {
                    (Some((&*head.method, &*head.target)), head.forwarded_for.as_deref().and_then(|f| f.parse().ok()))
                }
                MessageKind::Command(command) => (Some((command.0.as_str(), command.1.as_deref().unwrap_or(""))), None),
                _ => (None, None),
            };
            Sent {
                conn: connection.id,
                host: connection.client.ip(),
                server: connection.server,
                sent: request.first_ts_nanos,
                awaited_until: response.map_or(end, |response| response.first_ts_nanos),
                head,
                forwarded_for,
            }
        })
        .collect()
}

/// `chosen` with every connection linked to them, directly or through others, in chain order,
/// each with its depth: 0 for a client's connection, 1 for the proxy's onward one, and so on.
pub fn chain_order(chosen: &[u32], links: &BTreeMap<u32, Vec<Link>>) -> Vec<(u32, usize)> {
    let mut seen: Vec<u32> = Vec::new();
    let mut queue: Vec<u32> = chosen.to_vec();
    while let Some(id) = queue.pop() {
        if seen.contains(&id) {
            continue;
        }
        seen.push(id);
        queue.extend(links.get(&id).into_iter().flatten().map(|l| l.conn));
    }
    // A connection's depth: how many downstream links lead from it to a client's connection.
    let most = seen.len();
    let depth = |id: u32| {
        let mut depth = 0;
        let mut at = id;
        while let Some(down) =
            links.get(&at).and_then(|l| l.iter().find(|l| l.kind == LinkKind::Downstream)).map(|l| l.conn)
        {
            depth += 1;
            at = down;
            if depth > most {
                break;
            }
        }
        depth
    };
    let mut ordered: Vec<(usize, u32)> = seen.iter().map(|&id| (depth(id), id)).collect();
    ordered.sort_unstable();
    ordered.into_iter().map(|(depth, id)| (id, depth)).collect()
}

/// The links of every connection in the engine's capture.
pub fn links_of(engine: &crate::Engine) -> BTreeMap<u32, Vec<Link>> {
    find_links(engine.connections(), |id| engine.conversation(id))
}
