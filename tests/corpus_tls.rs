//! TLS as tshark reads it, on the corpus's captures with a ClientHello: the SNI and the ALPN list
//! each ClientHello offers, also where TLS begins inside another protocol (STARTTLS in SMTP, IMAP,
//! POP3, XMPP, LDAP, MySQL, FTP; a CONNECT tunnel). The four missed are printed: an SSLv2-style
//! hello, and three inside encapsulations tcpladder does not decode (PPPoE, Geneve, GTP).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use tcpladder::protocols::{MessageKind, TlsWhat};

use super::corpus_dir;
use super::http::load;

/// The corpus's captures in which tshark finds a ClientHello (`tshark -Y tls.handshake.type==1`).
const TLS_CAPTURES: &[&str] = &[
    "wireshark/test/captures/rsasnakeoil2.pcap",
    "zeek/Traces/ftp/ftp-auth-tls.pcap",
    "zeek/Traces/globus-url-copy.pcap",
    "zeek/Traces/http/connect-with-header.pcap",
    "zeek/Traces/ldap/ldap-starttls.pcap",
    "zeek/Traces/modbus/modbus-and-non-modbus-p502.pcap",
    "zeek/Traces/mysql/encrypted.pcap",
    "zeek/Traces/mysql/tls-12-amazon-rds.pcap",
    "zeek/Traces/mysql/tls-13-amazon-rds.pcap",
    "zeek/Traces/pppoe-over-qinq.pcap",
    "zeek/Traces/smtp.pcap",
    "zeek/Traces/tls/imap-starttls.pcap",
    "zeek/Traces/tls/openjdk-25.0.2-zeek.org.pcap",
    "zeek/Traces/tls/pop3-starttls.pcap",
    "zeek/Traces/tls/tls-conn-with-extensions.pcap",
    "zeek/Traces/tls/xmpp-starttls.pcap",
    "zeek/Traces/tunnels/geneve-47101.pcap",
    "zeek/Traces/tunnels/gtp/gtp6_gtp_0x32.pcap",
];

fn tshark(path: &Path) -> BTreeMap<u32, (String, String)> {
    let output = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args(["-Y", "tls.handshake.type==1", "-T", "fields", "-E", "separator=/t"])
        .args(["-e", "frame.number", "-e", "tls.handshake.extensions_server_name"])
        .args(["-e", "tls.handshake.extensions_alpn_str"])
        .output()
        .expect("tshark runs (CI installs it)");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('\t').collect();
            let frame = cells.first()?.parse().ok()?;
            let cell = |i: usize| cells.get(i).copied().unwrap_or_default().to_string();
            Some((frame, (cell(1), cell(2))))
        })
        .collect()
}

#[test]
fn client_hellos_agree_with_tshark_on_the_corpus() {
    let corpus = corpus_dir();
    let (mut found, mut sni, mut alpn, mut total) = (0, 0, 0, 0);
    let mut differences = Vec::new();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-captures");
    let paths = TLS_CAPTURES
        .iter()
        .map(|capture| (capture.to_string(), corpus.join(capture)))
        .chain(["tls-handshake.pcap", "tls-alert.pcap"].map(|name| (format!("sample {name}"), samples.join(name))));
    for (capture, path) in paths {
        let capture = capture.as_str();
        let engine = load(&path).unwrap_or_else(|| panic!("{capture} reads"));
        let ours: BTreeMap<u32, (String, String)> = engine
            .connections()
            .iter()
            .filter_map(|c| engine.conversation(c.id))
            .flat_map(|conversation| conversation.messages().iter())
            .filter_map(|message| match &message.kind {
                MessageKind::Tls(head) if head.what == TlsWhat::ClientHello => {
                    Some((message.head_frame, (head.sni.clone().unwrap_or_default(), head.alpn.join(","))))
                }
                _ => None,
            })
            .collect();
        for (frame, (their_sni, their_alpn)) in tshark(&path) {
            total += 1;
            let Some((our_sni, our_alpn)) = ours.get(&frame) else {
                differences.push(format!("{capture} frame {frame}: no ClientHello found"));
                continue;
            };
            found += 1;
            sni += u32::from(*our_sni == their_sni);
            alpn += u32::from(*our_alpn == their_alpn);
            if (our_sni, our_alpn) != (&their_sni, &their_alpn) {
                differences.push(format!(
                    "{capture} frame {frame}: ours {our_sni:?} {our_alpn:?}, tshark {their_sni:?} {their_alpn:?}"
                ));
            }
        }
    }
    println!("\nTLS ClientHellos against tshark on {} captures of the corpus and 2 samples:", TLS_CAPTURES.len());
    println!("ClientHello found {found} of {total}; SNI agrees {sni} of {found}; ALPN agrees {alpn} of {found}");
    for difference in &differences {
        println!("  {difference}");
    }
    assert!(total >= 21, "tshark found {total} ClientHellos: the captures are not what this test expects");
    assert_eq!((sni, alpn), (found, found), "where a ClientHello is found, its SNI and ALPN agree");
    assert!(found * 100 >= total * MIN_FOUND_PERCENT, "{found} of {total} ClientHellos found");
}

/// ClientHellos found at least this often (17 of 21 today).
const MIN_FOUND_PERCENT: u32 = 75;
