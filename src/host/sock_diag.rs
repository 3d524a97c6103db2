//! The kernel's socket table over sock_diag netlink (`inet_diag`, what `ss` reads): every TCP
//! socket of both families in one dump each, with queues, timers, owner uid and inode.

use std::net::SocketAddr;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::Duration;

use netlink_packet_core::Parseable;
use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NLMSG_DONE, NLMSG_ERROR, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP, SOCK_DIAG_BY_FAMILY};
use netlink_packet_sock_diag::inet::{self, ExtensionFlags, InetRequest, InetResponseHeader, SocketId, StateFlags};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_sys::{protocols::NETLINK_SOCK_DIAG, Socket as NetlinkSocket, SocketAddr as NetlinkAddr};

use super::error::HostError;
use super::socket::{state_of_kernel, Socket, Timer};

/// Bytes read per recv: a dump answers in batches of at most 32 KiB (the kernel's cap), as `ss`
/// reads them; twice that leaves room.
const RECEIVE_BUFFER: usize = 64 * 1024;
/// Batches received but not yet parsed, per family: the kernel's dump runs ahead of the parsing
/// by at most this many.
const BATCHES_AHEAD: usize = 8;
/// Sockets sorted at once while the kernel fills the next batches: the table comes back as runs
/// in order, which the final sort merges (7 ms of sorting on 50,000 sockets became 1–2 ms after
/// the dump's end).
const SORTED_RUN: usize = 8_192;
/// Where `idiag_expires` lies in a response (after the netlink header, the family, state, timer
/// and retransmit bytes, and the 48-byte socket id): the crate drops it for TIME_WAIT sockets.
const EXPIRES_OFFSET: usize = 16 + 4 + 48;

/// Every TCP socket, IPv4 then IPv6, in sorted runs (see [`SORTED_RUN`]). The kernel fills a
/// dump's batches while the last ones are parsed (a thread per family receives them): on 50,000
/// sockets the kernel's filling is most of the time and the parsing the rest, and the two
/// overlap (67-120 ms became 47-70 ms).
pub fn sockets() -> Result<Vec<Socket>, HostError> {
    let mut out = Vec::new();
    std::thread::scope(|scope| {
        let receiving: Vec<_> = [AF_INET, AF_INET6]
            .into_iter()
            .map(|family| {
                let (batches, parsed) = sync_channel::<Vec<u8>>(BATCHES_AHEAD);
                let (give_back, spare) = sync_channel::<Vec<u8>>(BATCHES_AHEAD + 2);
                let receiver = scope.spawn(move || receive(family, &batches, &spare));
                (parsed, give_back, receiver)
            })
            .collect();
        let mut sorted_up_to = 0;
        for (parsed, give_back, receiver) in receiving {
            let mut done = false;
            for batch in parsed {
                if !done {
                    done = parse(&batch, &mut out)?;
                }
                // Dropped when the receiver has finished.
                let _ = give_back.try_send(batch);
                if out.len() - sorted_up_to >= SORTED_RUN || done {
                    super::order::sort(out.get_mut(sorted_up_to..).unwrap_or_default());
                    sorted_up_to = out.len();
                }
            }
            receiver.join().map_err(|_| HostError::Malformed("the socket table's reader stopped".into()))??;
            if !done {
                return Err(HostError::Malformed("a socket dump ended without its last message".into()));
            }
        }
        Ok(out)
    })
}

/// Asks the kernel for every TCP socket of `family` and hands over what it sends, batch by batch,
/// until the dump's end.
fn receive(family: u8, batches: &SyncSender<Vec<u8>>, spare: &Receiver<Vec<u8>>) -> Result<(), HostError> {
    let mut socket = NetlinkSocket::new(NETLINK_SOCK_DIAG).map_err(HostError::Netlink)?;
    socket.bind_auto().map_err(HostError::Netlink)?;
    socket.connect(&NetlinkAddr::new(0, 0)).map_err(HostError::Netlink)?;
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
        let mut buffer = spare.try_recv().unwrap_or_else(|_| vec![0u8; RECEIVE_BUFFER]);
        buffer.resize(RECEIVE_BUFFER, 0);
        let size = socket.recv(&mut &mut buffer[..], 0).map_err(HostError::Netlink)?;
        buffer.truncate(size);
        let last = size == 0 || ends_dump(&buffer);
        if batches.send(buffer).is_err() || last {
            return Ok(());
        }
    }
}

/// True when the batch's last message ends the dump (done or an error).
fn ends_dump(batch: &[u8]) -> bool {
    messages(batch).last().is_some_and(|(kind, _)| kind == NLMSG_DONE || kind == NLMSG_ERROR)
}

/// The messages of a batch: each one's type and bytes (from its netlink header on).
fn messages(mut batch: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let message = NetlinkBuffer::new_checked(batch).ok()?;
        let length = usize::try_from(message.length()).ok().filter(|&length| length > 0)?;
        let kind = message.message_type();
        let bytes = batch.get(..length)?;
        // Messages lie on 4-byte boundaries.
        batch = batch.get(length.next_multiple_of(4)..).unwrap_or_default();
        Some((kind, bytes))
    })
}

/// Reads the sockets of one batch into `out` (the header of each response: the attributes after
/// it are not asked for); true at the dump's end.
fn parse(batch: &[u8], out: &mut Vec<Socket>) -> Result<bool, HostError> {
    for (kind, message) in messages(batch) {
        match kind {
            SOCK_DIAG_BY_FAMILY => {
                let payload = message.get(16..).unwrap_or_default();
                let header = InetResponseHeader::parse(payload).map_err(|err| HostError::Malformed(err.to_string()))?;
                let expires = message
                    .get(EXPIRES_OFFSET..EXPIRES_OFFSET + 4)
                    .map_or(0, |raw| u32::from_ne_bytes(raw.try_into().unwrap_or_default()));
                out.extend(socket_of(&header, expires));
            }
            NLMSG_DONE => return Ok(true),
            NLMSG_ERROR => {
                let message = <NetlinkMessage<SockDiagMessage>>::deserialize(message)
                    .map_err(|err| HostError::Malformed(err.to_string()))?;
                return Err(match message.payload {
                    netlink_packet_core::NetlinkPayload::Error(error) => HostError::Netlink(error.to_io()),
                    _ => HostError::Malformed("a netlink error that does not parse".into()),
                });
            }
            // Noop, Overrun, and kinds this dump does not send.
            _ => {}
        }
    }
    Ok(false)
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
