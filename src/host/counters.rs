//! The kernel's TCP counters that say a listener lost connections: `ListenOverflows` (a
//! completed connection found the accept queue full), `ListenDrops` (every SYN or connection a
//! listener dropped) and the SYN cookies sent when the SYN queue filled, from `/proc/net/netstat`.

use serde::Serialize;

/// Counters since boot (or since the network namespace was made).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ListenCounters {
    pub overflows: u64,
    pub drops: u64,
    pub syncookies_sent: u64,
}

/// Reads the `TcpExt:` lines of a `/proc/net/netstat` text (a line of names, then one of values).
pub fn parse(netstat: &str) -> ListenCounters {
    let mut lines = netstat.lines().filter(|line| line.starts_with("TcpExt:"));
    let (Some(names), Some(values)) = (lines.next(), lines.next()) else { return ListenCounters::default() };
    let mut counters = ListenCounters::default();
    for (name, value) in names.split_whitespace().zip(values.split_whitespace()).skip(1) {
        let value = value.parse().unwrap_or(0);
        match name {
            "ListenOverflows" => counters.overflows = value,
            "ListenDrops" => counters.drops = value,
            "SyncookiesSent" => counters.syncookies_sent = value,
            _ => {}
        }
    }
    counters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_counters_are_read_by_name() {
        let text = "TcpExt: SyncookiesSent SyncookiesRecv ListenOverflows ListenDrops
TcpExt: 7 0 12 15
IpExt: InNoRoutes
IpExt: 0
";
        assert_eq!(parse(text), ListenCounters { overflows: 12, drops: 15, syncookies_sent: 7 });
        assert_eq!(parse(""), ListenCounters::default());
    }
}
