//! `/proc/net/tcp` and `/proc/net/tcp6`: the socket table as text, read where sock_diag netlink is
//! not there (an old kernel, a seccomp profile). It lacks what netlink has: a listener's backlog
//! (its Send-Q reads 0).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use super::socket::{state_of_kernel, Socket, Timer};

/// Clock ticks per second of `tm->when` (`USER_HZ`, 100 on every Linux architecture).
const TICKS_PER_SECOND: u64 = 100;

/// The sockets of one `/proc/net/tcp{,6}` file; lines that do not parse are skipped.
pub fn parse(text: &str) -> Vec<Socket> {
    text.lines().skip(1).filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Socket> {
    let mut fields = line.split_whitespace();
    let _slot = fields.next()?;
    let local = address(fields.next()?)?;
    let peer = address(fields.next()?)?;
    let state = state_of_kernel(u8::from_str_radix(fields.next()?, 16).ok()?)?;
    let (send_q, recv_q) = fields.next()?.split_once(':')?;
    let (timer, when) = fields.next()?.split_once(':')?;
    let retries = u8::try_from(u32::from_str_radix(fields.next()?, 16).ok()?).unwrap_or(u8::MAX);
    let uid = fields.next()?.parse().ok()?;
    let _timeout = fields.next()?;
    let inode = fields.next()?.parse().ok()?;
    let remaining_ms = u64::from_str_radix(when, 16).ok()? * 1_000 / TICKS_PER_SECOND;
    let timer = match timer {
        "01" => Some(Timer::Retransmit { remaining_ms, retries }),
        "02" => Some(Timer::KeepAlive { remaining_ms }),
        "03" => Some(Timer::TimeWait { remaining_ms }),
        "04" => Some(Timer::Probe { remaining_ms, retries }),
        _ => None,
    };
    Some(Socket {
        state,
        local,
        peer,
        recv_q: u32::from_str_radix(recv_q, 16).ok()?,
        send_q: u32::from_str_radix(send_q, 16).ok()?,
        timer,
        inode,
        uid,
        pid: None,
    })
}

/// `0100007F:1F90` (IPv4: one word in the kernel's byte order) or 32 hex digits (IPv6: four
/// such words), then the port.
fn address(text: &str) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |hex: &str| u32::from_str_radix(hex, 16).ok().map(u32::to_ne_bytes);
    let ip = match ip.len() {
        8 => Ipv4Addr::from(word(ip)?).into(),
        32 => {
            let mut bytes = [0u8; 16];
            for (chunk, out) in bytes.chunks_exact_mut(4).enumerate() {
                out.copy_from_slice(&word(ip.get(chunk * 8..chunk * 8 + 8)?)?);
            }
            Ipv6Addr::from(bytes).into()
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::TcpState;

    // Lines as a little-endian kernel writes them.
    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000003 00:00000000 00000000  1000        0 4242 1 0 100 0 0 10 0
   1: 0100007F:1F90 0100007F:A2B4 06 00000000:00000000 03:00001194 00000000     0        0 0 3 0
   2: garbage
";
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:01BB 00000000000000000000000001000000:D431 08 00000010:00000000 01:00000014 00000002     0        0 777 1 0
";

    #[test]
    fn proc_net_tcp_lines_read_as_ss_shows_them() {
        let sockets = parse(TCP);
        assert_eq!(sockets.len(), 2);
        let listener = &sockets[0];
        assert_eq!(listener.state, TcpState::Listen);
        assert_eq!(listener.local, "127.0.0.1:8080".parse().unwrap());
        assert_eq!((listener.recv_q, listener.uid, listener.inode), (3, 1000, 4242));
        let time_wait = &sockets[1];
        assert_eq!(time_wait.peer, "127.0.0.1:41652".parse().unwrap());
        assert_eq!(time_wait.timer, Some(Timer::TimeWait { remaining_ms: 45_000 }));
    }

    #[test]
    fn proc_net_tcp6_lines_read_as_ss_shows_them() {
        let socket = &parse(TCP6)[0];
        assert_eq!(socket.local, "[::1]:443".parse().unwrap());
        assert_eq!(socket.state, TcpState::CloseWait);
        assert_eq!(socket.send_q, 16);
        assert_eq!(socket.timer, Some(Timer::Retransmit { remaining_ms: 200, retries: 2 }));
    }
}
