//! Zeek's `conn.log`, for `conns --format zeek`: the TSV with its `#separator`, `#fields` and
//! `#types` header lines and Zeek's field names, so `zeek-cut`, Zui (Brim), RITA and anything that
//! reads Zeek logs read tcpladder's; and `tcpladder.log`, keyed by the same `uid`, with what Zeek
//! does not say (each side's final TCP state, the diagnoses).

use crate::analysis::zeek_summary;
use crate::protocols::{Conversation, Protocol};
use crate::tcp::{Connection, Direction};
use crate::wire::Side;

use super::{secs, ConnRow};

/// `conn.log`'s columns, as Zeek names and types them.
pub const CONN_FIELDS: [(&str, &str); 21] = [
    ("ts", "time"),
    ("uid", "string"),
    ("id.orig_h", "addr"),
    ("id.orig_p", "port"),
    ("id.resp_h", "addr"),
    ("id.resp_p", "port"),
    ("proto", "enum"),
    ("service", "string"),
    ("duration", "interval"),
    ("orig_bytes", "count"),
    ("resp_bytes", "count"),
    ("conn_state", "string"),
    ("local_orig", "bool"),
    ("local_resp", "bool"),
    ("missed_bytes", "count"),
    ("history", "string"),
    ("orig_pkts", "count"),
    ("orig_ip_bytes", "count"),
    ("resp_pkts", "count"),
    ("resp_ip_bytes", "count"),
    ("tunnel_parents", "set[string]"),
];

/// `tcpladder.log`'s columns: what tcpladder adds to each `conn.log` row.
pub const TCPLADDER_FIELDS: [(&str, &str); 7] = [
    ("ts", "time"),
    ("uid", "string"),
    ("client_state", "string"),
    ("server_state", "string"),
    ("mid_stream", "bool"),
    ("handshake_rtt", "interval"),
    ("diagnoses", "set[string]"),
];

/// Zeek's mark for a field without a value.
const UNSET: &str = "-";

/// The header lines Zeek writes before a log's rows; `open` is the time it was written
/// (`2026-12-03-09-41-00`).
pub fn header(path: &str, fields: &[(&str, &str)], open: &str) -> String {
    let names: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
    let types: Vec<&str> = fields.iter().map(|(_, kind)| *kind).collect();
    format!(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t{path}\n#open\t{open}\n\
         #fields\t{}\n#types\t{}\n",
        names.join("\t"),
        types.join("\t")
    )
}

/// The line Zeek ends a log with.
pub fn footer(close: &str) -> String {
    format!("#close\t{close}\n")
}

/// A connection's `uid`: Zeek's are random; these are made from the connection's id, endpoints
/// and first packet, so the same file gives the same uids every time, and the two logs join.
pub fn uid(connection: &Connection) -> String {
    // FNV-1a: stable across runs and platforms, unlike the standard library's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let key = format!("{}|{}|{}|{}", connection.id, connection.client, connection.server, connection.first_ts_nanos());
    for byte in key.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut uid = String::from("C");
    for _ in 0..11 {
        uid.extend(DIGITS.get((hash % 62) as usize).map(|&digit| char::from(digit)));
        hash /= 62;
    }
    uid
}

/// Zeek's name for the protocol found inside the connection, or `None` for none known.
pub fn service(conversation: Option<&Conversation>) -> Option<&'static str> {
    let protocol = conversation?.messages().iter().map(|m| m.protocol).find(|p| *p != Protocol::Unknown)?;
    Some(match protocol {
        Protocol::Http10 | Protocol::Http11 => "http",
        Protocol::Http2 => "http2",
        Protocol::Tls => "ssl",
        Protocol::Dns => "dns",
        Protocol::Redis => "redis",
        Protocol::Unknown => return None,
    })
}

/// Bytes at the IP layer a side sent: each packet's IP and TCP headers and its whole payload
/// (as its IP total length says, however much of it the capture kept). IPv4 options and IPv6
/// extension headers are not kept per segment, so they are not counted.
pub fn ip_bytes(connection: &Connection, side: Side) -> u64 {
    let ip_header: u64 = if connection.client.is_ipv4() { 20 } else { 40 };
    connection
        .segments
        .iter()
        .filter(|s| s.dir == Direction::sent_by(side))
        .map(|s| ip_header + 20 + connection.options_of(s).len() as u64 + u64::from(s.payload_len))
        .sum()
}

/// One `conn.log` row for `connection`.
pub fn conn_line(connection: &Connection, conversation: Option<&Conversation>) -> String {
    let zeek = zeek_summary(connection);
    let (client, server) = (&connection.sides.client, &connection.sides.server);
    let nanos = zeek.last_ts_nanos - connection.first_ts_nanos();
    // Zeek leaves duration and sizes unset for a connection of one instant.
    let (duration, orig_bytes, resp_bytes) = if nanos > 0 {
        (format!("{:.6}", secs(nanos)), zeek.bytes.client.to_string(), zeek.bytes.server.to_string())
    } else {
        (UNSET.to_string(), UNSET.to_string(), UNSET.to_string())
    };
    let missed = conversation.map_or(0, |c| c.hole_bytes(Side::Client) + c.hole_bytes(Side::Server));
    let cells = [
        format!("{:.6}", secs(connection.first_ts_nanos())),
        uid(connection),
        connection.client.ip().to_string(),
        connection.client.port().to_string(),
        connection.server.ip().to_string(),
        connection.server.port().to_string(),
        "tcp".to_string(),
        service(conversation).unwrap_or(UNSET).to_string(),
        duration,
        orig_bytes,
        resp_bytes,
        zeek.conn_state.to_string(),
        UNSET.to_string(),
        UNSET.to_string(),
        missed.to_string(),
        if zeek.history.is_empty() { UNSET.to_string() } else { zeek.history },
        client.packets.to_string(),
        ip_bytes(connection, Side::Client).to_string(),
        server.packets.to_string(),
        ip_bytes(connection, Side::Server).to_string(),
        UNSET.to_string(),
    ];
    let mut line = cells.join("\t");
    line.push('\n');
    line
}

/// One `tcpladder.log` row: the row `conns` prints, keyed by the connection's `uid`.
pub fn tcpladder_line(connection: &Connection, row: &ConnRow) -> String {
    let mut codes: Vec<&str> = row.diagnoses.iter().map(|d| d.code.name()).collect();
    codes.dedup();
    format!(
        "{:.6}\t{}\t{}\t{}\t{}\t{}\t{}\n",
        row.first_ts,
        uid(connection),
        row.client_state.name(),
        row.server_state.name(),
        if row.mid_stream { "T" } else { "F" },
        row.handshake_rtt.map_or(UNSET.to_string(), |rtt| format!("{rtt:.6}")),
        if codes.is_empty() { "(empty)".to_string() } else { codes.join(",") },
    )
}

/// A time as Zeek's `#open` and `#close` lines write it, in UTC: `2026-12-03-09-41-00`.
pub fn log_time(ts_nanos: i64) -> String {
    let seconds = ts_nanos.div_euclid(1_000_000_000);
    let (days, of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days: days since 1970-01-01 to a proleptic Gregorian date.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}-{:02}-{:02}-{:02}", of_day / 3_600, of_day % 3_600 / 60, of_day % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_times_are_utc_calendar_dates() {
        assert_eq!(log_time(0), "1970-01-01-00-00-00");
        // 2000-02-29 12:34:56 UTC, a leap day.
        assert_eq!(log_time(951_827_696 * 1_000_000_000), "2000-02-29-12-34-56");
        assert_eq!(log_time(1_796_290_000 * 1_000_000_000), "2026-12-03-09-26-40");
    }

    #[test]
    fn the_header_names_and_types_every_field() {
        let header = header("conn", &CONN_FIELDS, "x");
        let fields = header.lines().find_map(|l| l.strip_prefix("#fields\t")).unwrap_or_default();
        let types = header.lines().find_map(|l| l.strip_prefix("#types\t")).unwrap_or_default();
        assert_eq!(fields.split('\t').count(), 21);
        assert_eq!(types.split('\t').count(), 21);
        assert!(
            fields.starts_with("ts\tuid\tid.orig_h\tid.orig_p") && fields.ends_with("resp_ip_bytes\ttunnel_parents")
        );
        assert!(header.starts_with("#separator \\x09\n"));
    }
}
