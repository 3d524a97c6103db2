//! The rows of a read capture one at a time, each with the findings that need the whole capture
//! (an accept queue's count, the links between connections), without holding every row: what
//! `conns` writes as it goes. On 1,000,000 short connections the rows held at once were half of
//! the peak memory (2.27 GB, now 1.11 GB).

use std::collections::{BTreeMap, HashMap};

use super::{note_accept_queue, ConnRow};
use crate::analysis::chains::{find_links_among, links_of, requests_of, ChainRequest, Link, ServerSets};
use crate::analysis::diagnose::waits_in_accept_queue;
use crate::engine::Engine;
use crate::tcp::Connection;

/// The rows of an engine's connections, in id order, with the accept queue's count
/// ([`super::note_accept_queue`]) and the links between connections ([`links_of`]).
pub struct RowsOf<'a> {
    engine: &'a Engine,
    connections: std::collections::vec_deque::Iter<'a, Connection>,
    /// Connections never accepted, by server address (counted first, on their own).
    waiting: HashMap<String, usize>,
    links: BTreeMap<u32, Vec<Link>>,
}

pub fn rows_of(engine: &Engine) -> RowsOf<'_> {
    rows_with_links(engine, links_of(engine))
}

/// The rows of the connections an engine still holds after others were retired
/// ([`super::retire::Retirer`]): links are found with the servers of every connection, among
/// the requests of those held and of the `retired` that could be part of a chain.
pub fn rows_after_retiring<'a>(engine: &'a Engine, servers: &ServerSets, retired: &[ChainRequest]) -> RowsOf<'a> {
    let mut requests = requests_of(engine.connections(), |id| engine.conversation(id), servers);
    requests.extend_from_slice(retired);
    // In the order of their connections, each connection's in its own order.
    requests.sort_by_key(ChainRequest::conn);
    rows_with_links(engine, find_links_among(&requests))
}

fn rows_with_links(engine: &Engine, links: BTreeMap<u32, Vec<Link>>) -> RowsOf<'_> {
    let mut waiting: HashMap<String, usize> = HashMap::new();
    for connection in engine.connections().iter().filter(|c| waits_in_accept_queue(c)) {
        *waiting.entry(connection.server.to_string()).or_default() += 1;
    }
    RowsOf { engine, connections: engine.connections().iter(), waiting, links }
}

impl RowsOf<'_> {
    /// The links found for a connection no longer held (its row was made when it was retired).
    pub fn take_links(&mut self, id: u32) -> Vec<Link> {
        self.links.remove(&id).unwrap_or_default()
    }
}

impl Iterator for RowsOf<'_> {
    type Item = ConnRow;

    fn next(&mut self) -> Option<ConnRow> {
        let connection = self.connections.next()?;
        let engine = self.engine;
        let mut row = ConnRow::new(connection, engine.conversation(connection.id), engine.capture_end_nanos());
        note_accept_queue(&mut row, &self.waiting);
        row.links = self.links.remove(&row.id).unwrap_or_default();
        Some(row)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.connections.size_hint()
    }
}
