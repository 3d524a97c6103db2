//! `tcpladder merge A B`: two captures of the same traffic from two vantage points, their
//! segments matched and B's clock offset against A's estimated; with `-o`, both written into one
//! pcapng file with B's clock corrected.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use tcpladder::analysis::merge::merge;

use super::files::{exit_code, load};
use super::Reading;

pub(super) fn merge_command(
    a: &Path,
    b: &Path,
    output: Option<&Path>,
    json: bool,
    config: Reading,
) -> anyhow::Result<ExitCode> {
    let (first, damaged_a) = load(a, config)?;
    let (second, damaged_b) = load(b, config)?;
    let merged = merge(&first, &second);
    let report = merged.report();
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer(&mut out, &report)?;
        writeln!(out)?;
    } else {
        match merged.offset_nanos {
            Some(_) => writeln!(
                out,
                "B's clock is {:+.6} s from A's (± {:.6} s): add {:.6} s to B's times. {} segments in both, {} only in A, \
                 {} only in B (lost between the two vantage points, or outside the other's capture).",
                0.0 - report.offset + 0.0,
                report.uncertainty,
                report.offset,
                report.matched,
                report.only_a,
                report.only_b
            )?,
            None => writeln!(
                out,
                "No segment was seen in both directions by both captures ({} matched): the clocks cannot be compared. \
                 Are they captures of the same connections?",
                report.matched
            )?,
        }
    }
    if let Some(output) = output {
        let written = tcpladder::capture::merge_files::write_merged(a, b, merged.offset_nanos.unwrap_or(0), output)?;
        eprintln!(
            "tcpladder: wrote {written} packets to {} (A on interface 0, B on 1, B's clock corrected)",
            output.display()
        );
    }
    Ok(exit_code(damaged_a || damaged_b))
}
