//! This machine's TCP sockets as its kernel sees them: the socket table (sock_diag netlink, as
//! `ss` reads it, or `/proc/net/tcp{,6}` where netlink is not there), the process holding each
//! socket (`/proc/PID/fd`), each such process's open files against its limit, and the counters of
//! connections listeners lost. Linux only; elsewhere [`snapshot`] says so.

pub mod census;
pub mod counters;
mod error;
pub mod order;
pub mod proc_net;
pub mod processes;
pub mod row;
mod snapshot;
#[cfg(target_os = "linux")]
mod sock_diag;
pub mod socket;

use std::path::Path;

pub use census::{by_local_port, by_process, listeners, states, ByProcess, Listener};
pub use counters::ListenCounters;
pub use error::HostError;
pub use order::sort;
pub use processes::{owners, Owners, Process};
pub use row::{parse_state, rows, SocketFilter, SocketRow};
pub use snapshot::{Snapshot, Source, Table};
pub use socket::{endpoint, Socket, Timer};

/// Reads this machine's sockets now: the table, the owners, the counters.
pub fn snapshot() -> Result<Snapshot, HostError> {
    snapshot_under(Path::new("/proc"))
}

/// [`snapshot`], reading processes and counters under `proc_root`.
pub fn snapshot_under(proc_root: &Path) -> Result<Snapshot, HostError> {
    let table = read_table(proc_root)?;
    Ok(join(table, &processes::owners(proc_root)))
}

/// The socket table and the counters now, without owners (see [`Table`]).
pub fn read_table(proc_root: &Path) -> Result<Table, HostError> {
    let (sockets, source) = table(proc_root)?;
    let netstat = std::fs::read_to_string(proc_root.join("net/netstat")).unwrap_or_default();
    Ok(Table { sockets, source, counters: counters::parse(&netstat) })
}

/// The table with each socket's owner, as `owners` knows them (a socket newer than the walk
/// shows none until the next one).
pub fn join(table: Table, owners: &processes::Owners) -> Snapshot {
    let Table { mut sockets, source, counters } = table;
    for socket in &mut sockets {
        socket.pid = owners.by_inode.get(&socket.inode).copied().filter(|_| socket.inode != 0);
    }
    sort(&mut sockets);
    // Only the processes holding a socket of this table: one in another network namespace
    // holds sockets this table does not show.
    let holders: std::collections::BTreeSet<u32> = sockets.iter().filter_map(|s| s.pid).collect();
    Snapshot {
        processes: holders.iter().filter_map(|pid| Some((*pid, owners.processes.get(pid)?.clone()))).collect(),
        sockets,
        counters,
        source,
        hidden_processes: owners.hidden,
    }
}

#[cfg(target_os = "linux")]
fn table(proc_root: &Path) -> Result<(Vec<Socket>, Source), HostError> {
    match sock_diag::sockets() {
        Ok(sockets) => Ok((sockets, Source::SockDiag)),
        Err(_) => proc_net_table(proc_root).map(|sockets| (sockets, Source::ProcNet)),
    }
}

#[cfg(not(target_os = "linux"))]
fn table(_proc_root: &Path) -> Result<(Vec<Socket>, Source), HostError> {
    Err(HostError::Unsupported)
}

/// Both `/proc/net/tcp` files.
pub fn proc_net_table(proc_root: &Path) -> Result<Vec<Socket>, HostError> {
    let mut sockets = Vec::new();
    for name in ["net/tcp", "net/tcp6"] {
        let path = proc_root.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => sockets.extend(proc_net::parse(&text)),
            // A kernel without IPv6 has no tcp6.
            Err(_) if name == "net/tcp6" => {}
            Err(source) => return Err(HostError::Proc { path: path.display().to_string(), source }),
        }
    }
    Ok(sockets)
}
