//! The kernel's socket table over sock_diag netlink (`inet_diag`, what `ss` reads): every TCP
//! socket of both families in one dump each, with queues, timers, owner uid and inode.

use std::net::SocketAddr;
use std::time::Duration;

use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP};
use netlink_packet_sock_diag::inet::{self, ExtensionFlags, InetRequest, SocketId, StateFlags};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_sys::{protocols::NETLINK_SOCK_DIAG, Socket as NetlinkSocket, SocketAddr as NetlinkAddr};

use super::error::HostError;
use super::socket::{state_of_kernel, Socket, Timer};

/// Bytes read per recv: a dump answers in batches of about this size, as `ss` reads them.
const RECEIVE_BUFFER: usize = 64 * 1024;
/// Where `idiag_expires` lies in a response (after the netlink header, the family, state, timer
/// and retransmit bytes, and the 48-byte socket id): the crate drops it for TIME_WAIT sockets.
const EXPIRES_OFFSET: usize = 16 + 4 + 48;

/// Every TCP socket, IPv4 then IPv6.
pub fn sockets() -> Result<Vec<Socket>, HostError> {
    let mut socket = NetlinkSocket::new(NETLINK_SOCK_DIAG).map_err(HostError::Netlink)?;
    socket.bind_auto().map_err(HostError::Netlink)?;
    socket.connect(&NetlinkAddr::new(0, 0)).map_err(HostError::Netlink)?;
    let mut out = Vec::new();
    let mut buffer = vec![0u8; RECEIVE_BUFFER];
    for family in [AF_INET, AF_INET6] {
        dump(&socket, family, &mut buffer, &mut out)?;
    }
    Ok(out)
}

fn dump(socket: &NetlinkSocket, family: u8, buffer: &mut [u8], out: &mut Vec<Socket>) -> Result<(), HostError> {
    let socket_id = if family == AF_INET { SocketId::new_v4() } else { SocketId::new_v6() };
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    let request = SockDiagMessage::InetRequest(InetRequest {
        family,
        protocol: IPPROTO_TCP,
        extensions: ExtensionFlags::empty(),
        states: StateFlags::all(),
        socket_id,
    });
    let mut packet = NetlinkMessage::new(header, request.into());
    packet.finalize();
    let mut bytes = vec![0u8; packet.buffer_len()];
    packet.serialize(&mut bytes);
    socket.send(&bytes, 0).map_err(HostError::Netlink)?;
    loop {
        let size = socket.recv(&mut &mut buffer[..], 0).map_err(HostError::Netlink)?;
        let mut batch = buffer.get(..size).unwrap_or_default();
        while !batch.is_empty() {
            let message = <NetlinkMessage<SockDiagMessage>>::deserialize(batch)
                .map_err(|err| HostError::Malformed(err.to_string()))?;
            let length = usize::try_from(message.header.length).unwrap_or(usize::MAX);
            match message.payload {
                NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(response)) => {
                    let expires = batch
                        .get(EXPIRES_OFFSET..EXPIRES_OFFSET + 4)
                        .map_or(0, |raw| u32::from_ne_bytes(raw.try_into().unwrap_or_default()));
                    out.extend(socket_of(&response.header, expires));
                }
                NetlinkPayload::Done(_) => return Ok(()),
                NetlinkPayload::Error(error) => {
                    return Err(HostError::Netlink(error.to_io()));
                }
                // Noop, Overrun, and kinds this dump does not send.
                _ => {}
            }
            if length == 0 {
                break;
            }
            // Messages lie on 4-byte boundaries.
            batch = batch.get(length.next_multiple_of(4)..).unwrap_or_default();
        }
    }
}

fn socket_of(header: &inet::InetResponseHeader, expires_ms: u32) -> Option<Socket> {
    let id = &header.socket_id;
    let millis = |d: &Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let timer = header.timer.as_ref().map(|timer| match timer {
        inet::Timer::Retransmit(left, retries) => Timer::Retransmit { remaining_ms: millis(left), retries: *retries },
        inet::Timer::KeepAlive(left) => Timer::KeepAlive { remaining_ms: millis(left) },
        inet::Timer::TimeWait => Timer::TimeWait { remaining_ms: u64::from(expires_ms) },
        inet::Timer::Probe(left) => Timer::Probe { remaining_ms: millis(left), retries: 0 },
    });
    Some(Socket {
        state: state_of_kernel(header.state)?,
        local: SocketAddr::new(id.source_address, id.source_port),
        peer: SocketAddr::new(id.destination_address, id.destination_port),
        recv_q: header.recv_queue,
        send_q: header.send_queue,
        timer,
        inode: u64::from(header.inode),
        uid: header.uid,
        pid: None,
    })
}
