//! Exports of a ladder: Mermaid and PlantUML against golden files, SVG as valid XML that renders.

use std::process::Command;

use crate::util::{sample, tcpladder};

fn export(format: &str) -> String {
    let path = sample("broken-pipe.pcap");
    let output = tcpladder(&["export", path.to_str().unwrap_or_default(), "--conn", "0", "--format", format]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).to_string()
}

fn golden(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[test]
fn mermaid_and_plantuml_match_their_golden_files() {
    assert_eq!(export("mermaid"), golden("broken-pipe.mmd"));
    assert_eq!(export("plantuml"), golden("broken-pipe.puml"));
    let mermaid = export("mermaid");
    assert!(mermaid.starts_with("sequenceDiagram\n") && mermaid.contains("S-xC: [R] seq 2"));
}

#[test]
fn svg_is_valid_xml_and_renders_a_ladder() {
    let svg = export("svg");
    assert!(svg.contains(">[R] seq 2 win 0 len 0</text>"), "labels are text");
    assert!(svg.contains(">CLOSE_WAIT</text>") && svg.contains("broken_pipe"));
    let dir = std::env::temp_dir().join(format!("tcpladder-svg-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join("ladder.svg");
    std::fs::write(&file, &svg).unwrap_or_else(|err| panic!("{err}"));
    let required = std::env::var_os("TCPLADDER_REQUIRE_TSHARK").is_some();
    match Command::new("xmllint").arg("--noout").arg(&file).output() {
        Ok(out) => assert!(out.status.success(), "xmllint: {}", String::from_utf8_lossy(&out.stderr)),
        Err(_) => assert!(!required, "xmllint is required in CI"),
    }
    let png = dir.join("ladder.png");
    match Command::new("rsvg-convert").arg(&file).arg("-o").arg(&png).output() {
        Ok(out) => {
            assert!(out.status.success(), "rsvg-convert: {}", String::from_utf8_lossy(&out.stderr));
            let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
            assert!(size > 10_000, "the rendered ladder is {size} bytes");
        }
        Err(_) => assert!(!required, "rsvg-convert is required in CI"),
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_connection_exports_as_pcapng_that_tshark_and_tcpladder_read_back() {
    let dir = std::env::temp_dir().join(format!("tcpladder-pcapng-export-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let out = dir.join("conn1.pcapng");
    let source = sample("accept-queue-full.pcap");
    let output = tcpladder(&[
        "export",
        source.to_str().unwrap_or_default(),
        "--conn",
        "1",
        "--format",
        "pcapng",
        "-o",
        out.to_str().unwrap_or_default(),
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let reread = tcpladder(&["conns", "--json", out.to_str().unwrap_or_default()]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&reread.stdout).unwrap_or_else(|err| panic!("{err}"));
    let original = tcpladder(&["conns", "--json", source.to_str().unwrap_or_default()]);
    let original: Vec<serde_json::Value> =
        serde_json::from_slice(&original.stdout).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(rows.len(), 1, "only the exported connection");
    let packets = original[1]["packets"].as_u64();
    assert_eq!((rows[0]["conn_state"].as_str(), rows[0]["packets"].as_u64()), (Some("S0"), packets));
    assert_eq!(rows[0]["history"], original[1]["history"]);
    match Command::new("tshark").arg("-r").arg(&out).output() {
        Ok(tshark) => {
            assert!(tshark.status.success(), "tshark cannot read the export");
            assert_eq!(String::from_utf8_lossy(&tshark.stdout).lines().count() as u64, packets.unwrap_or(0));
        }
        Err(_) => assert!(std::env::var_os("TCPLADDER_REQUIRE_TSHARK").is_none(), "tshark is required in CI"),
    }
    let _ = std::fs::remove_dir_all(dir);
}
