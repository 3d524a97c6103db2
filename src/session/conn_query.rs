//! What the connection table's filter box means: free text as before (address, port, state,
//! diagnosis code, Zeek state), and prefixed terms that match one thing only: `state:TIME_WAIT`
//! (either side's final state), `diag:reset` (a diagnosis code), `port:8080` (either end's port),
//! `host:10.0.0.5` (either end's address). Terms separated by spaces must all match.

use std::net::SocketAddr;

use crate::summary::ConnRow;

/// One term of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    State(String),
    Diagnosis(String),
    Port(u16),
    Host(String),
    Text(String),
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    terms: Vec<Term>,
}

impl Query {
    pub fn parse(text: &str) -> Self {
        let terms = text
            .split_whitespace()
            .map(|word| {
                let lower = word.to_lowercase();
                let (prefix, value) = lower.split_once(':').unwrap_or(("", &lower));
                match prefix {
                    "state" => Term::State(value.to_uppercase().replace('-', "_")),
                    "diag" => Term::Diagnosis(value.to_string()),
                    "port" => value.parse().map_or_else(|_| Term::Text(lower.clone()), Term::Port),
                    "host" => Term::Host(value.to_string()),
                    _ => Term::Text(lower.clone()),
                }
            })
            .collect();
        Self { terms }
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn matches(&self, row: &ConnRow) -> bool {
        self.terms.iter().all(|term| term_matches(term, row))
    }
}

fn term_matches(term: &Term, row: &ConnRow) -> bool {
    let ends = || [row.client.as_str(), row.server.as_str()].map(|end| end.parse::<SocketAddr>().ok());
    match term {
        Term::State(state) => [row.client_state, row.server_state].iter().any(|s| s.name().contains(state.as_str())),
        Term::Diagnosis(code) => row.diagnoses.iter().any(|d| d.code.name().contains(code.as_str())),
        Term::Port(port) => ends().iter().flatten().any(|end| end.port() == *port),
        Term::Host(host) => ends().iter().flatten().any(|end| end.ip().to_string().contains(host.as_str())),
        Term::Text(needle) => {
            row.client.to_lowercase().contains(needle)
                || row.server.to_lowercase().contains(needle)
                || row.conn_state.to_lowercase().contains(needle)
                || row.client_state.name().to_lowercase().contains(needle)
                || row.server_state.name().to_lowercase().contains(needle)
                || row.diagnoses.iter().any(|d| d.code.name().contains(needle))
                || row.id.to_string() == *needle
        }
    }
}

/// Two ends in the order a person expects: by address (numerically), then port.
pub fn compare_ends(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<SocketAddr>(), b.parse::<SocketAddr>()) {
        (Ok(a), Ok(b)) => (a.ip(), a.port()).cmp(&(b.ip(), b.port())),
        _ => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Code, Diagnosis};
    use crate::tcp::TcpState;

    fn row(client_state: TcpState, code: Code) -> ConnRow {
        let mut row =
            crate::summary::test_row(7, ("10.0.0.5:40000", "10.0.0.9:8080"), (client_state, TcpState::Closed));
        row.diagnoses = vec![Diagnosis::new(code, None, 1, String::new())];
        row
    }

    #[test]
    fn a_state_prefix_matches_states_only_not_the_diagnosis_of_that_name() {
        let ended_in_time_wait = row(TcpState::TimeWait, Code::TimeWait);
        let closed_with_time_wait_finding = row(TcpState::Closed, Code::TimeWait);
        let query = Query::parse("state:TIME_WAIT");
        assert!(query.matches(&ended_in_time_wait));
        assert!(!query.matches(&closed_with_time_wait_finding));
        assert!(Query::parse("time_wait").matches(&closed_with_time_wait_finding), "free text as before");
        assert!(Query::parse("state:time-wait").matches(&ended_in_time_wait));
    }

    #[test]
    fn prefixed_terms_match_their_field_and_all_must_match() {
        let r = row(TcpState::CloseWait, Code::CloseWait);
        assert!(Query::parse("port:8080 diag:close").matches(&r));
        assert!(!Query::parse("port:80").matches(&r), "a port is matched whole");
        assert!(Query::parse("host:10.0.0.5").matches(&r));
        assert!(!Query::parse("host:10.0.0.5 diag:reset").matches(&r));
    }

    #[test]
    fn ends_sort_by_address_then_port_numerically() {
        assert_eq!(compare_ends("10.0.0.9:80", "10.0.0.10:80"), std::cmp::Ordering::Less);
        assert_eq!(compare_ends("10.0.0.9:9", "10.0.0.9:10"), std::cmp::Ordering::Less);
    }
}
