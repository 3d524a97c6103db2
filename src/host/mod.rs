//! This machine's TCP sockets as its kernel sees them: the socket table (sock_diag netlink, as
//! `ss` reads it, or `/proc/net/tcp{,6}` where netlink is not there), the process holding each
//! socket (`/proc/PID/fd`), each such process's open files against its limit, and the counters of
//! connections listeners lost. Linux only; elsewhere [`snapshot`] says so.

pub mod census;
pub mod counters;
pub mod proc_net;
pub mod processes;
pub mod row;
#[cfg(target_os = "linux")]
mod sock_diag;
pub mod socket;

use std::collections::BTreeMap;
use std::path::Path;

pub use census::{by_process, listeners, states, ByProcess, Listener};
pub use counters::ListenCounters;
pub use processes::{owners, Owners, Process};
pub use row::{parse_state, rows, SocketFilter, SocketRow};
pub use socket::{endpoint, Socket, Timer};

/// Why the socket table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("the kernel's socket table (sock_diag netlink) could not be read: {0}")]
    Netlink(std::io::Error),
    #[error("the kernel answered the socket dump with a message that does not parse: {0}")]
    Malformed(String),
    #[error("{path} could not be read: {source}")]
    Proc { path: String, source: std::io::Error },
    #[error(
        "the kernel's socket table is read on Linux only (on macOS `netstat -an -p tcp` and `lsof -iTCP` show it; \
         on Windows `netstat -ano`)"
    )]
    Unsupported,
}

/// Where the socket table came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    SockDiag,
    /// `/proc/net/tcp{,6}`: a listener's backlog is not there.
    ProcNet,
}

/// The sockets of this machine at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Sorted by state, then local address, then peer.
    pub sockets: Vec<Socket>,
    /// The processes holding sockets, by pid.
    pub processes: BTreeMap<u32, Process>,
    pub counters: ListenCounters,
    pub source: Source,
    /// Processes whose descriptors could not be read: another user's, without privilege.
    pub hidden_processes: u32,
}

impl Snapshot {
    /// What this snapshot cannot show and how to see it, or `None` when it shows everything.
    pub fn unseen(&self) -> Option<String> {
        if self.hidden_processes == 0 {
            return None;
        }
        let unowned = self.sockets.iter().filter(|s| s.inode != 0 && s.pid.is_none()).count();
        Some(format!(
            "{} processes of other users could not be looked at, so {unowned} sockets show no process. To see \
             them, run as root (`sudo tcpladder sockets`) or give tcpladder the capabilities `ss -p` needs: \
             `sudo setcap cap_sys_ptrace,cap_dac_read_search+ep $(command -v tcpladder)`.",
            self.hidden_processes
        ))
    }

    pub fn process_of(&self, socket: &Socket) -> Option<&Process> {
        self.processes.get(&socket.pid?)
    }
}

/// Reads this machine's sockets now: the table, the owners, the counters.
pub fn snapshot() -> Result<Snapshot, HostError> {
    snapshot_under(Path::new("/proc"))
}

/// [`snapshot`], reading processes and counters under `proc_root`.
pub fn snapshot_under(proc_root: &Path) -> Result<Snapshot, HostError> {
    let table = read_table(proc_root)?;
    Ok(join(table, &processes::owners(proc_root)))
}

/// The socket table and the kernel's counters, without owners: what a refresh reads each time
/// (a few ms for 50,000 sockets), while the walk of every process's descriptors that finds the
/// owners ([`processes::owners`]) costs ten times that and may run less often.
#[derive(Debug, Clone)]
pub struct Table {
    pub sockets: Vec<Socket>,
    pub source: Source,
    pub counters: ListenCounters,
}

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
    Snapshot {
        sockets,
        processes: owners.processes.iter().map(|(pid, process)| (*pid, process.clone())).collect(),
        counters,
        source,
        hidden_processes: owners.hidden,
    }
}

/// By state (in RFC order), then local address, then peer: the order every view prints.
pub fn sort(sockets: &mut [Socket]) {
    sockets.sort_by_key(|s| (s.state, s.local, s.peer));
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
