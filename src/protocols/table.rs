//! The conversations of a capture by connection id. Ids are handed out in order and the oldest
//! go first, so a deque indexed by `id - first` finds one without hashing, once per packet.

use std::collections::VecDeque;

use super::Conversation;

/// Conversations by connection id.
#[derive(Debug, Clone, Default)]
pub struct ConversationTable {
    /// The id of the first slot.
    first_id: u32,
    /// Boxed: a connection with no payload yet costs a pointer.
    slots: VecDeque<Option<Box<Conversation>>>,
}

impl ConversationTable {
    /// The conversation of connection `id`, made by `make` when it has none; `None` for an id
    /// forgotten already.
    pub fn get_or_insert_with(&mut self, id: u32, make: impl FnOnce() -> Conversation) -> Option<&mut Conversation> {
        let index = usize::try_from(id.checked_sub(self.first_id)?).ok()?;
        if self.slots.len() <= index {
            self.slots.resize_with(index + 1, || None);
        }
        let slot = self.slots.get_mut(index)?;
        Some(slot.get_or_insert_with(|| Box::new(make())))
    }

    pub fn get(&self, id: u32) -> Option<&Conversation> {
        let index = usize::try_from(id.checked_sub(self.first_id)?).ok()?;
        self.slots.get(index)?.as_deref()
    }

    /// Takes connection `id`'s conversation out (its connection was retired).
    pub fn take(&mut self, id: u32) -> Option<Box<Conversation>> {
        let index = usize::try_from(id.checked_sub(self.first_id)?).ok()?;
        self.slots.get_mut(index)?.take()
    }

    /// Forgets the conversations of connections before `first_id` (evicted).
    pub fn forget_before(&mut self, first_id: u32) {
        while self.first_id < first_id && self.slots.pop_front().is_some() {
            self.first_id += 1;
        }
        self.first_id = self.first_id.max(first_id);
    }

    /// Bytes the conversations hold, their slots included (it visits every one).
    pub fn bytes(&self) -> usize {
        self.slots.len() * Self::SLOT_BYTES
            + self.slots.iter().flatten().map(|c| std::mem::size_of::<Conversation>() + c.heap_bytes()).sum::<usize>()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Conversation> {
        self.slots.iter_mut().filter_map(|slot| slot.as_deref_mut())
    }

    /// Bytes of one slot of the table, beside what the conversation in it holds.
    pub const SLOT_BYTES: usize = std::mem::size_of::<Option<Box<Conversation>>>();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_find_their_conversations_and_evicted_ones_are_gone() {
        let mut table = ConversationTable::default();
        assert!(table.get_or_insert_with(3, Conversation::default).is_some());
        assert!(table.get(3).is_some());
        assert!(table.get(2).is_none(), "no conversation made for 2");
        table.forget_before(3);
        assert!(table.get(3).is_some());
        table.forget_before(4);
        assert!(table.get(3).is_none());
        assert!(table.get_or_insert_with(3, Conversation::default).is_none(), "3 was forgotten");
        assert!(table.get_or_insert_with(5, Conversation::default).is_some());
    }
}
