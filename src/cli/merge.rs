//! `tcpladder merge A B`: two captures of the same traffic from two vantage points, their
//! segments matched and B's clock offset against A's estimated; with `-o`, both written into one
//! pcapng file with B's clock corrected.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use tcpladder::analysis::merge::merge;

use anyhow::Context as _;
use tcpladder::ladder::two_views::TwoViews;
use tcpladder::ladder::Numbering;
use tcpladder::render::two_views_text::render_two_views;

use super::files::{exit_code, find_connection, load};
use super::Reading;

/// What `merge` was asked to print and write.
#[derive(Clone, Copy)]
pub(super) struct MergeRequest<'a> {
    pub(super) output: Option<&'a Path>,
    pub(super) json: bool,
    pub(super) conn: Option<u32>,
}

pub(super) fn merge_command(
    a: &Path,
    b: &Path,
    request: MergeRequest<'_>,
    config: Reading,
) -> anyhow::Result<ExitCode> {
    let MergeRequest { output, json, conn } = request;
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
    if let Some(id) = conn {
        let connection = find_connection(&first, a, id)?;
        let Some(&(other, _)) = merged.vantage.get(&id) else {
            anyhow::bail!("connection {id} of {} was not seen in {} in both directions", a.display(), b.display());
        };
        let other = find_connection(&second, b, other)?;
        let views = TwoViews::new(connection, other, &merged).context("the connection's segments did not match")?;
        out.write_all(render_two_views(connection, other, &views, Numbering::Relative).as_bytes())?;
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
