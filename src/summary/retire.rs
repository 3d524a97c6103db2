//! Which ended connections a reader may take out of the engine while it reads, so that a capture
//! of millions of short connections holds only those of its last minutes: only connections whose
//! row nothing later in the capture can change, but for the links to other connections of a
//! proxy's chain, which are found at the end among all of them.

use crate::analysis::chains::{chain_requests, has_requests, ChainEnd, ChainRequest, ServerSets};
use crate::analysis::diagnose::waits_in_accept_queue;
use crate::engine::{Engine, Retired};
use crate::protocols::Conversation;
use crate::tcp::{Connection, TcpState};

use super::{rows_after_retiring, RowsOf};

/// Retires ended connections from an engine, keeping what the rows held to the end need from
/// the retired ones.
#[derive(Debug, Default)]
pub struct Retirer {
    /// The servers of every connection, noted as each begins: links between connections are
    /// found at the end as if none had gone.
    servers: ServerSets,
    noted_up_to: u32,
    /// The requests of retired connections that could be one end of a proxy's chain.
    chain_requests: Vec<ChainRequest>,
}

/// A retired connection; `awaits_links` when it could be one end of a chain, so its links are
/// known only once the capture has been read ([`Retirer::rows`], [`RowsOf::take_links`]).
#[derive(Debug)]
pub struct RetiredConnection {
    pub retired: Retired,
    pub awaits_links: bool,
}

impl Retirer {
    /// Takes out the connections whose rows are final but for their links, in the order found.
    pub fn retire(&mut self, engine: &mut Engine) -> Vec<RetiredConnection> {
        self.note_new(engine);
        let now = engine.capture_end_nanos();
        // Final: both sides closed (TIME_WAIT is over 2×MSL after the end), and not waiting in a
        // listener's accept queue (that finding counts the whole capture's).
        let may_retire = |connection: &Connection| {
            connection.reported_states_at(now).into_array().iter().all(|s| *s == TcpState::Closed)
                && !waits_in_accept_queue(connection)
        };
        let retired = engine.retire_ended(may_retire);
        let mut out = Vec::with_capacity(retired.len());
        for retired in retired {
            let awaits_links = self.servers.could_chain(&retired.connection)
                && retired.conversation.as_deref().is_some_and(has_requests);
            self.servers.forget(&retired.connection);
            out.push(RetiredConnection { retired, awaits_links });
        }
        out
    }

    /// Keeps what finding the links of a retired connection that awaits them needs: its requests.
    pub fn keep_for_links(&mut self, connection: &Connection, conversation: &Conversation) {
        self.chain_requests.extend(chain_requests(&ChainEnd::from(connection), conversation));
    }

    /// The rows of the connections held at the end; their [`RowsOf::take_links`] gives the links
    /// of the retired ones that await them.
    pub fn rows<'a>(&mut self, engine: &'a Engine) -> RowsOf<'a> {
        self.note_new(engine);
        rows_after_retiring(engine, &self.servers, &self.chain_requests)
    }

    /// Notes the servers of the connections begun since the last call, in id order.
    fn note_new(&mut self, engine: &Engine) {
        let connections = engine.connections();
        let new = connections.iter().rev().take_while(|c| c.id >= self.noted_up_to).count();
        for connection in connections.iter().skip(connections.len() - new) {
            self.servers.note(connection);
        }
        if let Some(last) = connections.back().filter(|_| new > 0) {
            self.noted_up_to = last.id.saturating_add(1);
        }
    }
}
