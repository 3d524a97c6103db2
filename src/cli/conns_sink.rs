//! Where `conns` writes its rows while the capture is still being read: each connection's row
//! as soon as the connection has ended and been retired from the engine, so a capture of
//! millions of short connections never holds them all. JSON Lines go out in the order the
//! connections ended; the other formats in id order, each row waiting only for the rows of
//! connections begun before it and still open.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Context as _;

use tcpladder::analysis::chains::Link;
use tcpladder::engine::Engine;
use tcpladder::engine::Retired;
use tcpladder::summary::retire::{RetiredConnection, Retirer};
use tcpladder::summary::zeek_log::{self, CONN_FIELDS, TCPLADDER_FIELDS};
use tcpladder::summary::{ConnRow, RowsOf};

use super::conns::{table_header, table_line, ConnsFormat};
use super::spill::{Spilled, Waiting};

/// Rendered rows held in memory, at most, while they wait for an earlier connection's
/// (`TCPLADDER_SPILL_BYTES` sets another bound, for the tests).
fn spill_bytes() -> usize {
    std::env::var("TCPLADDER_SPILL_BYTES").ok().and_then(|b| b.parse().ok()).unwrap_or(16 << 20)
}

/// The rows of one `conns` run, and the outputs they go to.
pub(super) struct RowSink {
    format: ConnsFormat,
    /// One output, or with `--format zeek -o DIR` two: `conn.log` and `tcpladder.log`.
    outputs: Vec<Box<dyn Write>>,
    /// Rows waiting for an earlier connection's, or for their links (a JSON row of a possible
    /// end of a proxy's chain, rendered with none), by id.
    pending: BTreeMap<u32, Waiting>,
    /// Bytes of the rendered rows in `pending`; past `spill_at` they go to `spilled`.
    pending_bytes: usize,
    spill_at: usize,
    spilled_rows: u64,
    spilled: Spilled,
    headers_written: bool,
    rows_written: u64,
    /// `None` when every connection is held to the end (`--hold-all`).
    retirer: Option<Retirer>,
}

impl RowSink {
    pub(super) fn new(format: ConnsFormat, outputs: Vec<Box<dyn Write>>, retire: bool) -> Self {
        let retirer = retire.then(Retirer::default);
        Self {
            format,
            outputs,
            pending: BTreeMap::new(),
            pending_bytes: 0,
            spill_at: spill_bytes(),
            spilled_rows: 0,
            spilled: Spilled::default(),
            headers_written: false,
            rows_written: 0,
            retirer,
        }
    }

    /// Retires the connections whose rows are final and writes every row now known in order.
    pub(super) fn take_retired(&mut self, engine: &mut Engine) -> anyhow::Result<()> {
        let Some(retirer) = &mut self.retirer else { return Ok(()) };
        let retired = retirer.retire(engine);
        if retired.is_empty() {
            return Ok(());
        }
        self.write_headers(engine)?;
        let capture_end = engine.capture_end_nanos();
        let json = matches!(self.format, ConnsFormat::Json | ConnsFormat::Jsonl);
        for RetiredConnection { retired: Retired { connection, conversation }, awaits_links } in retired {
            // Nothing later changes a retired connection's row but its links: it is final at any
            // capture end.
            let row = ConnRow::new(&connection, conversation.as_deref(), capture_end);
            let waiting = Waiting {
                texts: self.render(&connection, conversation.as_deref(), &row)?,
                awaits_links: awaits_links && json,
            };
            if let (true, Some(conversation), Some(retirer)) = (waiting.awaits_links, &conversation, &mut self.retirer)
            {
                retirer.keep_for_links(&connection, conversation);
            }
            if self.format == ConnsFormat::Jsonl && !waiting.awaits_links {
                self.write(&waiting.texts)?;
            } else {
                self.pending_bytes += waiting.texts.iter().map(String::len).sum::<usize>();
                self.pending.insert(connection.id, waiting);
            }
        }
        while let Some(texts) = self.next_waiting(Some(engine.oldest_held_id()), None)? {
            self.write(&texts)?;
        }
        if self.pending_bytes > self.spill_at {
            self.spilled_rows += self.pending.len() as u64;
            self.pending_bytes = 0;
            self.spilled.spill(std::mem::take(&mut self.pending).into_iter())?;
        }
        Ok(())
    }

    /// The next waiting row before `before` (any for `None`), from memory or the runs on disk.
    /// While reading (`rows` is `None`) a row that awaits its links stops the rows after it;
    /// once read, its links come from `rows`.
    fn next_waiting(
        &mut self,
        before: Option<u32>,
        rows: Option<&mut RowsOf<'_>>,
    ) -> anyhow::Result<Option<Vec<String>>> {
        let in_memory = self.pending.first_key_value().map(|(id, waiting)| (*id, waiting.awaits_links));
        let on_disk = self.spilled.first();
        let Some((next, awaits_links)) = in_memory.into_iter().chain(on_disk).min() else { return Ok(None) };
        if before.is_some_and(|before| next >= before) || (awaits_links && rows.is_none()) {
            return Ok(None);
        }
        let waiting = if on_disk.is_some_and(|(id, _)| id == next) {
            self.spilled.pop()?.map(|(_, waiting)| waiting)
        } else {
            let waiting = self.pending.remove(&next);
            self.pending_bytes -= waiting.iter().flat_map(|w| &w.texts).map(String::len).sum::<usize>();
            waiting
        };
        let Some(Waiting { mut texts, awaits_links }) = waiting else { return Ok(None) };
        if let (true, Some(rows), Some(text)) = (awaits_links, rows, texts.first_mut()) {
            *text = self.with_links(std::mem::take(text), &rows.take_links(next))?;
        }
        Ok(Some(texts))
    }

    /// A JSON row rendered without links (its last field), with `links` in their place.
    fn with_links(&self, text: String, links: &[Link]) -> anyhow::Result<String> {
        if links.is_empty() {
            return Ok(text);
        }
        let (empty, rendered, end) = match self.format {
            ConnsFormat::Jsonl => ("\"links\":[]}\n", serde_json::to_string(links)?, "}\n"),
            // Inside an object inside the array: the links' own lines two levels in.
            ConnsFormat::Json => {
                let pretty = serde_json::to_string_pretty(links)?;
                ("\"links\": []\n  }", pretty.lines().collect::<Vec<_>>().join("\n    "), "\n  }")
            }
            ConnsFormat::Table | ConnsFormat::Zeek => return Ok(text),
        };
        let Some(before) = text.strip_suffix(empty) else {
            anyhow::bail!("a row waiting for its links does not end with them: {text}");
        };
        let name = if self.format == ConnsFormat::Jsonl { "\"links\":" } else { "\"links\": " };
        Ok(format!("{before}{name}{rendered}{end}"))
    }

    /// Writes the rows of the connections held at the end among those still waiting, in id
    /// order, and the formats' closing lines.
    pub(super) fn finish(mut self, engine: &Engine) -> anyhow::Result<()> {
        self.write_headers(engine)?;
        let mut retirer = self.retirer.take();
        let mut rows = match &mut retirer {
            Some(retirer) => retirer.rows(engine),
            None => tcpladder::summary::rows_of(engine),
        };
        // JSON Lines write the rows that awaited their links first, then those held.
        if self.format == ConnsFormat::Jsonl {
            self.write_pending_before(None, &mut rows)?;
        }
        while let Some(row) = rows.next() {
            self.write_pending_before(Some(row.id), &mut rows)?;
            let Some(connection) = engine.connection(row.id) else { continue };
            let texts = self.render(connection, engine.conversation(row.id), &row)?;
            self.write(&texts)?;
        }
        self.write_pending_before(None, &mut rows)?;
        let close = zeek_log::log_time(engine.capture_end_nanos());
        match self.format {
            ConnsFormat::Json if self.rows_written == 0 => self.write_all(0, "[]\n")?,
            ConnsFormat::Json => self.write_all(0, "\n]\n")?,
            ConnsFormat::Zeek => {
                for index in 0..self.outputs.len() {
                    self.write_all(index, &zeek_log::footer(&close))?;
                }
            }
            ConnsFormat::Table | ConnsFormat::Jsonl => {}
        }
        for output in &mut self.outputs {
            output.flush()?;
        }
        if self.spilled_rows > 0 {
            eprintln!(
                "tcpladder: note: {} rows waited in temporary files for an earlier connection still open",
                self.spilled_rows
            );
        }
        Ok(())
    }

    /// The table's header and Zeek's header lines, once, when the capture's first packet time is
    /// known.
    fn write_headers(&mut self, engine: &Engine) -> anyhow::Result<()> {
        if std::mem::replace(&mut self.headers_written, true) {
            return Ok(());
        }
        let open = zeek_log::log_time(engine.capture_span().0);
        match self.format {
            ConnsFormat::Table => self.write_all(0, &table_header()),
            ConnsFormat::Zeek => {
                self.write_all(0, &zeek_log::header("conn", &CONN_FIELDS, &open))?;
                if self.outputs.len() > 1 {
                    self.write_all(1, &zeek_log::header("tcpladder", &TCPLADDER_FIELDS, &open))?;
                }
                Ok(())
            }
            ConnsFormat::Json | ConnsFormat::Jsonl => Ok(()),
        }
    }

    fn render(
        &self,
        connection: &tcpladder::tcp::Connection,
        conversation: Option<&tcpladder::protocols::Conversation>,
        row: &ConnRow,
    ) -> anyhow::Result<Vec<String>> {
        Ok(match self.format {
            ConnsFormat::Table | ConnsFormat::Jsonl | ConnsFormat::Json => self.render_row(row)?,
            ConnsFormat::Zeek => {
                let mut texts = vec![zeek_log::conn_line(connection, conversation)];
                if self.outputs.len() > 1 {
                    texts.push(zeek_log::tcpladder_line(connection, row));
                }
                texts
            }
        })
    }

    /// Once read: writes the waiting rows of connections before `id` (all of them for `None`),
    /// with their links found among all connections.
    fn write_pending_before(&mut self, id: Option<u32>, rows: &mut RowsOf<'_>) -> anyhow::Result<()> {
        while let Some(texts) = self.next_waiting(id, Some(rows))? {
            self.write(&texts)?;
        }
        Ok(())
    }

    /// A row in the formats that need nothing but the row (a Zeek row needs its connection,
    /// [`Self::render`], and never waits for links: Zeek's logs have none).
    fn render_row(&self, row: &ConnRow) -> anyhow::Result<Vec<String>> {
        Ok(vec![match self.format {
            ConnsFormat::Jsonl => serde_json::to_string(row).context("writing JSON")? + "\n",
            // One element of a pretty array, as serde_json indents it inside `[` and `]`.
            ConnsFormat::Json => {
                let object = serde_json::to_string_pretty(row).context("writing JSON")?;
                object.lines().map(|line| format!("  {line}")).collect::<Vec<_>>().join("\n")
            }
            ConnsFormat::Table | ConnsFormat::Zeek => table_line(row),
        }])
    }

    fn write(&mut self, texts: &[String]) -> anyhow::Result<()> {
        if self.format == ConnsFormat::Json {
            self.write_all(0, if self.rows_written == 0 { "[\n" } else { ",\n" })?;
        }
        for (index, text) in texts.iter().enumerate() {
            self.write_all(index, text)?;
        }
        self.rows_written += 1;
        Ok(())
    }

    fn write_all(&mut self, index: usize, text: &str) -> anyhow::Result<()> {
        let Some(output) = self.outputs.get_mut(index) else { return Ok(()) };
        output.write_all(text.as_bytes()).context("writing the rows")
    }
}
