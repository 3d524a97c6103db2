//! The sockets of this machine at one moment, with their owners, and what could not be seen.

use std::collections::BTreeMap;

use super::counters::ListenCounters;
use super::processes::Process;
use super::socket::Socket;

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

/// The socket table and the kernel's counters, without owners: what a refresh reads each time
/// (45–70 ms for 50,000 sockets here, nearly all of it the kernel's dump), while the walk of
/// every process's descriptors that finds the owners ([`processes::owners`]) costs about four
/// times that (185–260 ms) and may run less often.
#[derive(Debug, Clone)]
pub struct Table {
    pub sockets: Vec<Socket>,
    pub source: Source,
    pub counters: ListenCounters,
}
