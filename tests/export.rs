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
    assert!(svg.contains(">CLOSE_WAIT</text>") && svg.contains("EPIPE (broken pipe)"), "the finding in words");
    assert!(svg.contains("write after the peer closed"), "the fatal write noted");
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

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let number = |at: usize| bytes.get(at..at + 4).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes);
    Some((number(16)?, number(20)?))
}

/// `width="…" height="…"` of an SVG's root.
fn svg_size(svg: &str) -> (f32, f32) {
    let attribute = |name: &str| -> f32 {
        let start = svg.find(&format!(" {name}=\"")).map(|i| i + name.len() + 3).unwrap_or_default();
        svg[start..].split('"').next().and_then(|v| v.parse().ok()).unwrap_or_default()
    };
    (attribute("width"), attribute("height"))
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tcpladder-{name}-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

#[test]
fn the_ladder_exports_as_png_at_the_chosen_scale() {
    let (width, height) = svg_size(&export("svg"));
    let dir = scratch("png");
    let source = sample("broken-pipe.pcap");
    for scale in ["1", "3"] {
        let out = dir.join(format!("ladder-{scale}.png"));
        let args = ["export", source.to_str().unwrap_or_default(), "--conn", "0", "--format", "png", "--scale", scale];
        let output = tcpladder(&[&args[..], &["-o", out.to_str().unwrap_or_default()]].concat());
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let factor: f32 = scale.parse().unwrap_or(1.0);
        let bytes = std::fs::read(&out).unwrap_or_default();
        assert_eq!(png_size(&bytes), Some(((width * factor).ceil() as u32, (height * factor).ceil() as u32)));
        assert!(bytes.len() > 20_000, "a ladder, not a blank page: {} bytes", bytes.len());
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn charts_export_as_svg_that_renders_and_as_png() {
    let dir = scratch("charts");
    let source = sample("zero-window.pcap");
    let source = source.to_str().unwrap_or_default();
    let required = std::env::var_os("TCPLADDER_REQUIRE_TSHARK").is_some();
    for kind in ["time-sequence", "tcptrace", "window", "throughput", "rtt", "in-flight", "states", "rates"] {
        let svg_path = dir.join(format!("{kind}.svg"));
        let output =
            tcpladder(&["chart", source, "--kind", kind, "--conn", "0", "-o", svg_path.to_str().unwrap_or_default()]);
        assert!(output.status.success(), "{kind}: {}", String::from_utf8_lossy(&output.stderr));
        let svg = std::fs::read_to_string(&svg_path).unwrap_or_default();
        assert!(!svg.contains("nothing to plot"), "{kind} has data");
        assert!(svg.contains("<polyline") || svg.contains("<circle") || svg.contains("<line x1"), "{kind}");
        match Command::new("xmllint").arg("--noout").arg(&svg_path).output() {
            Ok(out) => assert!(out.status.success(), "{kind}: {}", String::from_utf8_lossy(&out.stderr)),
            Err(_) => assert!(!required, "xmllint is required in CI"),
        }
        let png_path = dir.join(format!("{kind}.png"));
        let output = tcpladder(&[
            "chart",
            source,
            "--kind",
            kind,
            "--conn",
            "0",
            "--scale",
            "1",
            "-o",
            png_path.to_str().unwrap_or_default(),
        ]);
        assert!(output.status.success(), "{kind}: {}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(png_size(&std::fs::read(&png_path).unwrap_or_default()), Some((960, 540)), "{kind}");
    }
    let tcptrace = std::fs::read_to_string(dir.join("tcptrace.svg")).unwrap_or_default();
    assert!(tcptrace.contains("client → server zero window") && tcptrace.contains("client → server segments"));
    let states = std::fs::read_to_string(dir.join("states.svg")).unwrap_or_default();
    assert!(states.contains(">CLOSE_WAIT</text>") || states.contains(">ESTABLISHED</text>"));
    let missing = tcpladder(&["chart", source, "--kind", "rtt"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("give --conn ID"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn several_connections_export_as_one_pcapng() {
    let dir = scratch("pcapng-several");
    let out = dir.join("both.pcapng");
    let source = sample("accept-queue-full.pcap");
    let source = source.to_str().unwrap_or_default();
    let output =
        tcpladder(&["export", source, "--conn", "0,1", "--format", "pcapng", "-o", out.to_str().unwrap_or_default()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let original = tcpladder(&["conns", "--json", source]);
    let original: Vec<serde_json::Value> =
        serde_json::from_slice(&original.stdout).unwrap_or_else(|err| panic!("{err}"));
    let reread = tcpladder(&["conns", "--json", out.to_str().unwrap_or_default()]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&reread.stdout).unwrap_or_else(|err| panic!("{err}"));
    let histories = |rows: &[serde_json::Value]| rows.iter().map(|r| r["history"].to_string()).collect::<Vec<_>>();
    assert_eq!(histories(&rows), histories(&original), "both connections, each whole");
    // Drawn, the same selection is one ladder of both connections.
    let one_ladder = tcpladder(&["export", source, "--conn", "0,1", "--format", "txt"]);
    assert!(one_ladder.status.success(), "{}", String::from_utf8_lossy(&one_ladder.stderr));
    assert!(String::from_utf8_lossy(&one_ladder.stdout).starts_with("connections 0, 1: "));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_folded_data_run_names_the_messages_it_carries() {
    // 6 KB requests answered with 24 KB, over a lossy link: long runs of data segments fold.
    let path = sample("loss-request-response.pcap");
    let output = tcpladder(&["export", path.to_str().unwrap_or_default(), "--conn", "0", "--format", "mermaid"]);
    let mermaid = String::from_utf8_lossy(&output.stdout);
    let folds: Vec<&str> = mermaid.lines().filter(|line| line.contains("segments folded")).collect();
    assert!(folds.len() >= 2, "{mermaid}");
    for fold in &folds {
        assert!(fold.contains("· the rest of the "), "{fold}");
        assert!(fold.contains("the server's 24.0 KB"), "{fold}");
    }
    // Expanded, nothing is folded, so nothing is named that way.
    let expanded =
        tcpladder(&["export", path.to_str().unwrap_or_default(), "--conn", "0", "--format", "mermaid", "--expand"]);
    assert!(!String::from_utf8_lossy(&expanded.stdout).contains("segments folded"));
}
