//! Rows that wait, in id order, behind a connection still open, moved to unnamed temporary files
//! once they pass a bound: a capture with one connection open from start to end (a database
//! pool's, a monitor's) would otherwise hold every later row as text until it ends. Each file is
//! one sorted run; rows come back by merging the runs' heads.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, Write};

use anyhow::Context as _;

/// A rendered row waiting: a text per output, and whether its links are still to be filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Waiting {
    pub(super) texts: Vec<String>,
    pub(super) awaits_links: bool,
}

/// One row and its connection's id.
pub(super) type Texts = (u32, Waiting);

/// The sorted runs written so far.
#[derive(Default)]
pub(super) struct Spilled {
    runs: Vec<Run>,
    /// Each run's next id, smallest first.
    heads: BinaryHeap<Reverse<(u32, usize)>>,
}

struct Run {
    reader: BufReader<File>,
    /// The next row of the run, read ahead.
    head: Option<Texts>,
}

impl Spilled {
    /// Writes `rows` (in id order) to a new run.
    pub(super) fn spill(&mut self, rows: impl Iterator<Item = Texts>) -> anyhow::Result<()> {
        let mut file = BufWriter::new(tempfile::tempfile().context("making a temporary file for waiting rows")?);
        for (id, Waiting { texts, awaits_links }) in rows {
            file.write_all(&id.to_le_bytes())?;
            file.write_all(&[u8::from(awaits_links), u8::try_from(texts.len()).unwrap_or(u8::MAX)])?;
            for text in texts.iter().take(usize::from(u8::MAX)) {
                file.write_all(&u32::try_from(text.len()).unwrap_or(u32::MAX).to_le_bytes())?;
                file.write_all(text.as_bytes())?;
            }
        }
        let mut file =
            file.into_inner().map_err(std::io::IntoInnerError::into_error).context("writing waiting rows")?;
        file.rewind()?;
        let mut reader = BufReader::new(file);
        let head = read_row(&mut reader)?;
        if let Some((id, _)) = &head {
            self.heads.push(Reverse((*id, self.runs.len())));
        }
        self.runs.push(Run { reader, head });
        Ok(())
    }

    /// The smallest id waiting in the runs, and whether its row awaits its links.
    pub(super) fn first(&self) -> Option<(u32, bool)> {
        let Reverse((id, index)) = self.heads.peek()?;
        let awaits = self.runs.get(*index).and_then(|run| run.head.as_ref()).is_some_and(|(_, w)| w.awaits_links);
        Some((*id, awaits))
    }

    /// Takes the row with the smallest id.
    pub(super) fn pop(&mut self) -> anyhow::Result<Option<Texts>> {
        let Some(Reverse((_, index))) = self.heads.pop() else { return Ok(None) };
        let Some(run) = self.runs.get_mut(index) else { return Ok(None) };
        let next = read_row(&mut run.reader)?;
        if let Some((id, _)) = &next {
            self.heads.push(Reverse((*id, index)));
        }
        Ok(std::mem::replace(&mut run.head, next))
    }
}

fn read_row(reader: &mut impl Read) -> anyhow::Result<Option<Texts>> {
    let mut id = [0u8; 4];
    match reader.read_exact(&mut id) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e).context("reading waiting rows back"),
    }
    let mut flags_and_count = [0u8; 2];
    reader.read_exact(&mut flags_and_count)?;
    let [awaits, count] = flags_and_count;
    let mut texts = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let mut len = [0u8; 4];
        reader.read_exact(&mut len)?;
        let mut bytes = vec![0u8; u32::from_le_bytes(len) as usize];
        reader.read_exact(&mut bytes)?;
        texts.push(String::from_utf8(bytes).context("reading waiting rows back")?);
    }
    Ok(Some((u32::from_le_bytes(id), Waiting { texts, awaits_links: awaits != 0 })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_come_back_merged_in_id_order() {
        let mut spilled = Spilled::default();
        let row = |id: u32| (id, Waiting { texts: vec![format!("row {id}"), String::new()], awaits_links: id == 4 });
        spilled.spill([1, 4, 9].into_iter().map(row)).unwrap();
        spilled.spill([2, 3, 10].into_iter().map(row)).unwrap();
        let mut ids = Vec::new();
        while let Some((id, waiting)) = spilled.pop().unwrap() {
            assert_eq!(waiting, row(id).1);
            ids.push(id);
            assert_eq!(spilled.first().is_some_and(|(_, awaits)| awaits), id == 3, "after {id}");
        }
        assert_eq!(ids, [1, 2, 3, 4, 9, 10]);
        assert_eq!(spilled.first(), None);
    }
}
