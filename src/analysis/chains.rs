//! Connections chained by a proxy: a client's connection to a proxy (nginx, a gateway) and the
//! connection the proxy opened, or reused, to a backend for the same request. Found by content
//! first (the same method and target, sent from the proxy's host while the client's request was
//! in flight), by timing only when neither request could be decoded; each link says how it was
//! found and how sure that is.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use rustc_hash::FxHashMap;
use serde::Serialize;
use smol_str::SmolStr;

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
/// what it asked. Owned, so a connection's requests outlive it when it is retired.
#[derive(Debug, Clone)]
pub struct ChainRequest {
    conn: u32,
    host: IpAddr,
    server: std::net::SocketAddr,
    sent: i64,
    awaited_until: i64,
    head: Option<(SmolStr, SmolStr)>,
    /// The client a proxy said it forwarded for.
    forwarded_for: Option<IpAddr>,
}

impl ChainRequest {
    /// The connection that sent it.
    pub fn conn(&self) -> u32 {
        self.conn
    }
}

/// The servers each host is a client of and a server on, two at most each: enough to tell
/// whether a connection could be one end of a chain. Kept as connections begin, it answers for a
/// connection taken out before the capture ends as it would at the end.
#[derive(Debug, Clone, Default)]
pub struct ServerSets {
    from: FxHashMap<IpAddr, Servers>,
    on: FxHashMap<IpAddr, Servers>,
}

/// The first two servers a host connected to (or served), and how many connections noted there
/// are still held.
#[derive(Debug, Clone, Default)]
struct Servers {
    first: Vec<std::net::SocketAddr>,
    held: u32,
}

impl ServerSets {
    pub fn of<'a>(connections: impl IntoIterator<Item = &'a Connection>) -> Self {
        let mut sets = Self::default();
        connections.into_iter().for_each(|c| sets.note(c));
        sets
    }

    pub fn note(&mut self, connection: &Connection) {
        for (map, host) in [(&mut self.from, connection.client.ip()), (&mut self.on, connection.server.ip())] {
            let servers = map.entry(host).or_default();
            servers.held += 1;
            if !servers.first.contains(&connection.server) && servers.first.len() < 2 {
                servers.first.push(connection.server);
            }
        }
    }

    /// `connection` was taken out. A host that is only a client (or only a server) of the
    /// connections still held is forgotten: a chain needs a host that is both, and one that ended
    /// 2×MSL ago cannot overlap a request still to come. Without this, a capture of a million
    /// clients would keep a million hosts.
    pub fn forget(&mut self, connection: &Connection) {
        let (client, server) = (connection.client.ip(), connection.server.ip());
        if release(&mut self.from, client) && !self.on.contains_key(&client) {
            self.from.remove(&client);
        }
        if release(&mut self.on, server) && !self.from.contains_key(&server) {
            self.on.remove(&server);
        }
    }

    /// A client's connection to a proxy that connects onward, or a proxy's onward connection.
    pub fn could_chain(&self, connection: &Connection) -> bool {
        self.could_chain_between(connection.client, connection.server)
    }

    fn could_chain_between(&self, client: std::net::SocketAddr, server: std::net::SocketAddr) -> bool {
        let another = |map: &FxHashMap<IpAddr, Servers>, host: IpAddr, not: std::net::SocketAddr| {
            map.get(&host).is_some_and(|servers| servers.first.iter().any(|s| *s != not))
        };
        another(&self.from, server.ip(), server) || another(&self.on, client.ip(), server)
    }
}

/// What chaining reads of a connection beside its conversation: kept for one taken out of the
/// engine before the capture ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainEnd {
    pub id: u32,
    pub client: std::net::SocketAddr,
    pub server: std::net::SocketAddr,
    pub last_ts_nanos: i64,
}

impl From<&Connection> for ChainEnd {
    fn from(connection: &Connection) -> Self {
        Self {
            id: connection.id,
            client: connection.client,
            server: connection.server,
            last_ts_nanos: connection.last_ts_nanos(),
        }
    }
}

/// One connection fewer held at `host`; true when none is left.
fn release(map: &mut FxHashMap<IpAddr, Servers>, host: IpAddr) -> bool {
    map.get_mut(&host).is_some_and(|servers| {
        servers.held = servers.held.saturating_sub(1);
        servers.held == 0
    })
}

/// The links of every connection that has any, by connection id.
pub fn find_links<'a>(
    connections: impl IntoIterator<Item = &'a Connection>,
    conversation: impl Fn(u32) -> Option<&'a Conversation>,
) -> BTreeMap<u32, Vec<Link>> {
    let connections: Vec<&Connection> = connections.into_iter().collect();
    let servers = ServerSets::of(connections.iter().copied());
    find_links_among(&requests_of(connections, conversation, &servers))
}

/// The requests of `connections` that could be one end of a chain, in their order: a chain
/// needs a connection whose client is on the host another connection's server is on, to a
/// different server. Most captures (one server port on loopback, a client's many connections to
/// one server) have none: then no request is read, and finding none costs a pass over the
/// connections. Two distinct servers per host are enough to know "another".
pub fn requests_of<'a>(
    connections: impl IntoIterator<Item = &'a Connection>,
    conversation: impl Fn(u32) -> Option<&'a Conversation>,
    servers: &ServerSets,
) -> Vec<ChainRequest> {
    let mut requests = Vec::new();
    for connection in connections.into_iter().filter(|c| servers.could_chain(c)) {
        if let Some(conversation) = conversation(connection.id) {
            requests.extend(chain_requests(&ChainEnd::from(connection), conversation));
        }
    }
    requests
}

/// The links among `requests` (in the order of their connections' ids), by connection id.
pub fn find_links_among(requests: &[ChainRequest]) -> BTreeMap<u32, Vec<Link>> {
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
    for downstream in requests {
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
        let same = candidates.iter().copied().find(|&i| {
            requests
                .get(i)
                .and_then(|r| r.head.as_ref())
                .zip(downstream.head.as_ref())
                .is_some_and(|(up, down)| up == down)
        });
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

/// True when `conversation` holds a request chaining could pair with another connection's.
pub fn has_requests(conversation: &Conversation) -> bool {
    !request_pairs(conversation.messages()).is_empty()
}

/// The requests of one connection with the time until which each was awaited: its answer's
/// first byte, or the connection's end.
pub fn chain_requests(connection: &ChainEnd, conversation: &Conversation) -> Vec<ChainRequest> {
    let end = connection.last_ts_nanos;
    request_pairs(conversation.messages())
        .into_iter()
        .map(|(request, response)| {
            let (head, forwarded_for) = match &request.kind {
                MessageKind::Request(head) => (
                    Some((SmolStr::new(&*head.method), SmolStr::new(&*head.target))),
                    head.forwarded_for.as_deref().and_then(|f| f.parse().ok()),
                ),
                MessageKind::Command(command) => {
                    (Some((SmolStr::new(&command.0), SmolStr::new(command.1.as_deref().unwrap_or("")))), None)
                }
                _ => (None, None),
            };
            ChainRequest {
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
