//! One TCP socket as the kernel reports it, in tcpladder's words.

use std::net::SocketAddr;

use serde::Serialize;

use crate::tcp::TcpState;

/// One TCP socket of this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    pub state: TcpState,
    pub local: SocketAddr,
    pub peer: SocketAddr,
    /// A listener: connections waiting for accept(). Any other socket: bytes received and not read.
    pub recv_q: u32,
    /// A listener: the backlog it was given (listen(2), capped by somaxconn). Any other socket:
    /// bytes sent and not acknowledged.
    pub send_q: u32,
    pub timer: Option<Timer>,
    /// The socket's inode: what ties it to the process holding it (`/proc/PID/fd/N` →
    /// `socket:[INODE]`). 0 for sockets no process holds (TIME_WAIT, an orphan in FIN_WAIT_2,
    /// a connection not accepted yet).
    pub inode: u64,
    pub uid: u32,
    /// The process holding it, when one does and could be looked at.
    pub pid: Option<u32>,
}

/// The timer the kernel runs for a socket, and how long until it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Timer {
    /// A retransmission timer (or a SYN-ACK's): `retries` sent so far.
    Retransmit {
        remaining_ms: u64,
        retries: u8,
    },
    KeepAlive {
        remaining_ms: u64,
    },
    /// How long the socket stays in TIME_WAIT.
    TimeWait {
        remaining_ms: u64,
    },
    /// A zero-window probe.
    Probe {
        remaining_ms: u64,
        retries: u8,
    },
}

impl Timer {
    /// `retransmit in 200 ms (1 retry)`, `TIME_WAIT ends in 52.0 s`.
    pub fn describe(&self) -> String {
        let retries = |n: u8| if n == 1 { " (1 retry)".to_string() } else { format!(" ({n} retries)") };
        match *self {
            Self::Retransmit { remaining_ms, retries: n } => {
                format!("retransmit in {}{}", millis(remaining_ms), retries(n))
            }
            Self::KeepAlive { remaining_ms } => format!("keepalive in {}", millis(remaining_ms)),
            Self::TimeWait { remaining_ms } => format!("TIME_WAIT ends in {}", millis(remaining_ms)),
            Self::Probe { remaining_ms, retries: n } => {
                format!("zero-window probe in {}{}", millis(remaining_ms), retries(n))
            }
        }
    }
}

fn millis(ms: u64) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1e3)
    }
}

/// The kernel's state numbers (`include/net/tcp_states.h`) in tcpladder's names. A request
/// socket (`TCP_NEW_SYN_RECV`, 12) is a connection in SYN_RECEIVED, as `ss` shows it.
pub fn state_of_kernel(number: u8) -> Option<TcpState> {
    Some(match number {
        1 => TcpState::Established,
        2 => TcpState::SynSent,
        3 | 12 => TcpState::SynReceived,
        4 => TcpState::FinWait1,
        5 => TcpState::FinWait2,
        6 => TcpState::TimeWait,
        7 => TcpState::Closed,
        8 => TcpState::CloseWait,
        9 => TcpState::LastAck,
        10 => TcpState::Listen,
        11 => TcpState::Closing,
        _ => return None,
    })
}

/// `ip:port`, IPv6 as `[addr]:port`, an IPv4 address mapped into IPv6 as IPv4, and port 0 (a
/// listener's peer) as `*`: what `ss -n` prints.
pub fn endpoint(addr: &SocketAddr) -> String {
    let port = match addr.port() {
        0 => "*".to_string(),
        port => port.to_string(),
    };
    match canonical(*addr) {
        SocketAddr::V6(v6) => format!("[{}]:{port}", v6.ip()),
        SocketAddr::V4(v4) => format!("{}:{port}", v4.ip()),
    }
}

/// An IPv4 address mapped into IPv6 (a dual-stack socket's) as the IPv4 address the wire shows.
pub fn canonical(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => v6.ip().to_ipv4_mapped().map_or(addr, |v4| SocketAddr::new(v4.into(), v6.port())),
        SocketAddr::V4(_) => addr,
    }
}

/// A socket in `state` between `local` and `peer`, with empty queues, for tests.
#[cfg(test)]
pub(crate) fn test_socket(state: TcpState, local: &str, peer: &str, pid: Option<u32>) -> Socket {
    Socket {
        state,
        local: local.parse().expect("an address"),
        peer: peer.parse().expect("an address"),
        recv_q: 0,
        send_q: 0,
        timer: None,
        inode: 1,
        uid: 0,
        pid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_state_numbers_name_the_states_ss_prints() {
        assert_eq!(state_of_kernel(8), Some(TcpState::CloseWait));
        assert_eq!(state_of_kernel(10), Some(TcpState::Listen));
        assert_eq!(state_of_kernel(12), Some(TcpState::SynReceived));
        assert_eq!(state_of_kernel(13), None);
    }

    #[test]
    fn endpoints_print_as_ss_does() {
        assert_eq!(endpoint(&"127.0.0.1:80".parse().unwrap()), "127.0.0.1:80");
        assert_eq!(endpoint(&"[::1]:443".parse().unwrap()), "[::1]:443");
        assert_eq!(endpoint(&"[::ffff:10.0.0.1]:22".parse().unwrap()), "10.0.0.1:22");
        assert_eq!(endpoint(&"0.0.0.0:0".parse().unwrap()), "0.0.0.0:*");
        assert_eq!(endpoint(&"[::]:0".parse().unwrap()), "[::]:*");
    }

    #[test]
    fn timers_read_in_words() {
        assert_eq!(Timer::TimeWait { remaining_ms: 52_000 }.describe(), "TIME_WAIT ends in 52.0 s");
        assert_eq!(Timer::Retransmit { remaining_ms: 200, retries: 1 }.describe(), "retransmit in 200 ms (1 retry)");
    }
}
