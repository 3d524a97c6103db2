//! pcapng's blocks: the section header, interface descriptions, and the three kinds of packet
//! block, each length checked before anything is held.

use super::*;

impl<R: Read> CaptureReader<R> {
    fn big_endian(&self) -> bool {
        matches!(self.format, Format::PcapNg { big_endian: true, .. })
    }

    /// Reads the rest of a section header block at `start`, whose type and length words
    /// (`length`, in the byte order that the block's magic then tells) are already consumed.
    pub(super) fn section_header(&mut self, start: u64, length: [u8; 4]) -> Result<(), ReadError> {
        let mut magic = [0u8; 4];
        self.exact(&mut magic, "a pcapng section header")?;
        let big_endian = match u32::from_le_bytes(magic) {
            PCAPNG_BYTE_ORDER => false,
            m if m.swap_bytes() == PCAPNG_BYTE_ORDER => true,
            _ => {
                let message = "a section header without the byte-order magic 1A2B3C4D".to_string();
                return Err(ReadError::BadBlock { offset: start, message });
            }
        };
        let length = if big_endian { u32::from_be_bytes(length) } else { u32::from_le_bytes(length) };
        if length < 28 || !length.is_multiple_of(4) || length > MAX_BLOCK_LEN {
            return Err(ReadError::BadBlock { offset: start, message: format!("a section header of {length} bytes") });
        }
        // Version, section length and options are not needed.
        self.skip(u64::from(length) - 12, "a pcapng section header")?;
        self.format = Format::PcapNg { big_endian, interfaces: Vec::new() };
        Ok(())
    }

    pub(super) fn next_pcapng(&mut self) -> Result<Option<Packet<'_>>, ReadError> {
        loop {
            let start = self.offset;
            // Fast path: a whole packet block in the read buffer is read in place.
            let big_endian = self.big_endian();
            let head = self.input.fill_at_least(8).ok().and_then(|buffered| {
                let kind = u32_at(buffered, 0, big_endian);
                let length = u32_at(buffered, 4, big_endian);
                let packet = buffered.len() >= 8
                    && matches!(kind, PCAPNG_OBSOLETE_PACKET | PCAPNG_SIMPLE_PACKET | PCAPNG_ENHANCED_PACKET)
                    && length >= 12
                    && length.is_multiple_of(4)
                    && length <= MAX_PACKET_LEN + 64;
                packet.then_some((kind, length))
            });
            let whole = head.filter(|&(_, length)| {
                self.input.fill_at_least(length as usize).is_ok_and(|buffered| {
                    buffered.len() >= length as usize && u32_at(buffered, length as usize - 4, big_endian) == length
                })
            });
            if let (Some((kind, length)), Format::PcapNg { interfaces, .. }) = (whole, &self.format) {
                let body = self.input.buffer().get(8..length as usize - 4).unwrap_or_default();
                let context = BlockContext { big_endian, interfaces, last_ts: self.last_ts, packet: self.packets + 1 };
                let parsed = parse_packet_block(kind, body, &context, start)?;
                self.pending = length as usize;
                self.offset += u64::from(length);
                self.last_ts = parsed.ts_nanos;
                self.packets += 1;
                let data = body.get(parsed.data).unwrap_or_default();
                let (ts_nanos, link, original_len) = (parsed.ts_nanos, parsed.link, parsed.original_len);
                let block = Some(self.input.block());
                return Ok(Some(Packet { ts_nanos, link, data, original_len, offset: start, block }));
            }
            let mut head = [0u8; 8];
            match self.fill(&mut head)? {
                0 => return Ok(None),
                n if n < 8 => return Err(ReadError::Truncated { what: "a pcapng block header", offset: start }),
                _ => {}
            }
            let big_endian = self.big_endian();
            let kind = u32_at(&head, 0, big_endian);
            if kind == PCAPNG_SECTION_HEADER {
                // The type reads the same in both byte orders; the new section may use the other.
                self.section_header(start, [head[4], head[5], head[6], head[7]])?;
                continue;
            }
            let length = u32_at(&head, 4, big_endian);
            if length < 12 || !length.is_multiple_of(4) {
                let message = format!("block type {kind:#x} claims {length} bytes (at least 12, a multiple of 4)");
                return Err(ReadError::BadBlock { offset: start, message });
            }
            let is_packet = matches!(kind, PCAPNG_OBSOLETE_PACKET | PCAPNG_SIMPLE_PACKET | PCAPNG_ENHANCED_PACKET);
            let cap = if is_packet { MAX_PACKET_LEN + 64 } else { MAX_BLOCK_LEN };
            if length > cap {
                let message = format!("block type {kind:#x} claims {length} bytes; the largest accepted is {cap}");
                return Err(ReadError::BadBlock { offset: start, message });
            }
            let body_len = length as usize - 12;
            match kind {
                PCAPNG_INTERFACE_DESCRIPTION
                | PCAPNG_INTERFACE_STATISTICS
                | PCAPNG_OBSOLETE_PACKET
                | PCAPNG_SIMPLE_PACKET
                | PCAPNG_ENHANCED_PACKET => self.read_body(body_len, "a pcapng block")?,
                _ => self.skip(body_len as u64, "a pcapng block")?,
            }
            let mut trailer = [0u8; 4];
            self.exact(&mut trailer, "a pcapng block's trailing length")?;
            if u32_at(&trailer, 0, big_endian) != length {
                let message =
                    format!("block type {kind:#x}: its trailing length differs from its leading {length} bytes");
                return Err(ReadError::BadBlock { offset: start, message });
            }
            match kind {
                PCAPNG_INTERFACE_DESCRIPTION => self.interface(start)?,
                PCAPNG_INTERFACE_STATISTICS => self.statistics(),
                PCAPNG_OBSOLETE_PACKET | PCAPNG_SIMPLE_PACKET | PCAPNG_ENHANCED_PACKET => {
                    return self.packet_block(kind, start).map(Some)
                }
                _ => {}
            }
        }
    }

    /// An interface statistics block: its `isb_ifdrop`, when given, replaces that interface's
    /// earlier count (the counts are cumulative). A malformed one is ignored: it is only a hint.
    fn statistics(&mut self) {
        let big_endian = self.big_endian();
        let body = &self.buffer;
        let interface = u32_at(body, 0, big_endian);
        let mut at = 12;
        while at + 4 <= body.len() {
            let code = u16_at(body, at, big_endian);
            let len = usize::from(u16_at(body, at + 2, big_endian));
            let value = body.get(at + 4..at + 4 + len).unwrap_or_default();
            match code {
                0 => break,
                PCAPNG_ISB_IFDROP if value.len() == 8 => {
                    let drops = if big_endian {
                        u64::from_be_bytes(value.try_into().unwrap_or_default())
                    } else {
                        u64::from_le_bytes(value.try_into().unwrap_or_default())
                    };
                    self.interface_drops.insert(interface, drops);
                }
                _ => {}
            }
            at += 4 + len.next_multiple_of(4);
        }
    }

    fn interface(&mut self, start: u64) -> Result<(), ReadError> {
        let big_endian = self.big_endian();
        let body = &self.buffer;
        if body.len() < 8 {
            return Err(ReadError::BadBlock { offset: start, message: "an interface description too short".into() });
        }
        let link = LinkType::from_dlt(i32::from(u16_at(body, 0, big_endian)));
        let snaplen = u32_at(body, 4, big_endian);
        let mut interface = Interface { link, snaplen, resolution: (false, 6), offset_seconds: 0 };
        let mut at = 8;
        while at + 4 <= body.len() {
            let code = u16_at(body, at, big_endian);
            let len = usize::from(u16_at(body, at + 2, big_endian));
            let value = body.get(at + 4..at + 4 + len).unwrap_or_default();
            match (code, value) {
                (0, _) => break,
                (9, [resolution]) => interface.resolution = (resolution & 0x80 != 0, resolution & 0x7f),
                (14, [..]) if value.len() == 8 => interface.offset_seconds = i64_at(value, 0, big_endian),
                _ => {}
            }
            at += 4 + len.next_multiple_of(4);
        }
        if let Format::PcapNg { interfaces, .. } = &mut self.format {
            // An interface per block; a file naming more than a million is damage, not a capture.
            if interfaces.len() >= 1 << 20 {
                return Err(ReadError::BadBlock { offset: start, message: "more than 2^20 interfaces".into() });
            }
            interfaces.push(interface);
        }
        Ok(())
    }

    fn packet_block(&mut self, kind: u32, start: u64) -> Result<Packet<'_>, ReadError> {
        let Format::PcapNg { big_endian, interfaces } = &self.format else {
            return Err(ReadError::BadBlock { offset: start, message: "a pcapng block in a pcap file".into() });
        };
        let context =
            BlockContext { big_endian: *big_endian, interfaces, last_ts: self.last_ts, packet: self.packets + 1 };
        let parsed = parse_packet_block(kind, &self.buffer, &context, start)?;
        self.last_ts = parsed.ts_nanos;
        self.packets += 1;
        let data = self.buffer.get(parsed.data).unwrap_or_default();
        Ok(Packet {
            ts_nanos: parsed.ts_nanos,
            link: parsed.link,
            data,
            original_len: parsed.original_len,
            offset: start,
            block: None,
        })
    }
}

/// What a packet block's body is read against.
struct BlockContext<'a> {
    big_endian: bool,
    interfaces: &'a [Interface],
    last_ts: i64,
    /// The number the packet will have.
    packet: u64,
}

/// A packet block's fields; `data` indexes its body.
struct ParsedPacket {
    ts_nanos: i64,
    link: LinkType,
    data: std::ops::Range<usize>,
    original_len: u32,
}

/// Reads the body of an enhanced (6), simple (3) or obsolete (2) packet block.
fn parse_packet_block(kind: u32, body: &[u8], context: &BlockContext, start: u64) -> Result<ParsedPacket, ReadError> {
    let big_endian = context.big_endian;
    let bad = |message: String| ReadError::BadPacket { packet: context.packet, offset: start, message };
    let (interface_id, ts_units, captured, original_len, data_at) = match kind {
        PCAPNG_ENHANCED_PACKET | PCAPNG_OBSOLETE_PACKET if body.len() >= 20 => {
            let units = (u64::from(u32_at(body, 4, big_endian)) << 32) | u64::from(u32_at(body, 8, big_endian));
            let interface = if kind == PCAPNG_ENHANCED_PACKET {
                u32_at(body, 0, big_endian)
            } else {
                u32::from(u16_at(body, 0, big_endian))
            };
            (interface, Some(units), u32_at(body, 12, big_endian), u32_at(body, 16, big_endian), 20)
        }
        PCAPNG_SIMPLE_PACKET if body.len() >= 4 => {
            let original = u32_at(body, 0, big_endian);
            let room = u32::try_from(body.len() - 4).unwrap_or(u32::MAX);
            (0, None, original.min(room), original, 4)
        }
        _ => return Err(bad(format!("a packet block of type {kind} too short ({} bytes)", body.len()))),
    };
    let Some(interface) = context.interfaces.get(interface_id as usize).copied() else {
        let described = context.interfaces.len();
        return Err(bad(format!("names interface {interface_id}, but the section describes {described}")));
    };
    let captured =
        if kind == PCAPNG_SIMPLE_PACKET && interface.snaplen > 0 { captured.min(interface.snaplen) } else { captured };
    let data = data_at..data_at + captured as usize;
    if data.end > body.len() {
        return Err(bad(format!("claims {captured} captured bytes, more than its block holds")));
    }
    let ts_nanos = match ts_units {
        Some(units) => units_to_nanos(units, interface.resolution)
            .saturating_add(interface.offset_seconds.saturating_mul(1_000_000_000)),
        None => context.last_ts,
    };
    Ok(ParsedPacket { ts_nanos, link: interface.link, data, original_len })
}
