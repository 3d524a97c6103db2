//! The order every view of the socket table prints.

use super::socket::Socket;

/// By state (in RFC order), then local address, then peer: the order every view prints (the
/// inode after them makes the order total). The sort is the stable one, which merges runs
/// already in order: the kernel's table comes as sorted runs (see `sock_diag`).
pub fn sort(sockets: &mut [Socket]) {
    sockets.sort_by_key(|s| (s.state, address_key(s.local), address_key(s.peer), s.inode));
}

/// An address as a number that orders as `SocketAddr` does (IPv4 before IPv6, then the address,
/// then the port), cheaper to compare.
fn address_key(address: std::net::SocketAddr) -> (bool, u128, u16) {
    match address {
        std::net::SocketAddr::V4(v4) => (false, u128::from(u32::from(*v4.ip())), v4.port()),
        std::net::SocketAddr::V6(v6) => (true, u128::from(*v6.ip()), v6.port()),
    }
}
