//! The two ends of a connection. The client is the side that sent the first SYN (or, when the
//! handshake was not captured, the side a heuristic chose); everything kept per side is a
//! [`PerSide`], indexed by [`Side`], so no code spells a side as 0, 1 or a string.

use std::ops::{Index, IndexMut};

use serde::Serialize;

/// One end of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Client,
    Server,
}

impl Side {
    /// Both sides, client first.
    pub const BOTH: [Side; 2] = [Side::Client, Side::Server];

    /// The other end.
    pub fn other(self) -> Self {
        match self {
            Self::Client => Self::Server,
            Self::Server => Self::Client,
        }
    }

    /// "client" or "server".
    pub fn name(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Server => "server",
        }
    }
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One value for each side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct PerSide<T> {
    pub client: T,
    pub server: T,
}

impl<T> PerSide<T> {
    pub const fn new(client: T, server: T) -> Self {
        Self { client, server }
    }

    /// Each side's value made from the side.
    pub fn from_fn(mut make: impl FnMut(Side) -> T) -> Self {
        Self { client: make(Side::Client), server: make(Side::Server) }
    }

    /// Each side's value changed by `change`.
    pub fn map<U>(self, mut change: impl FnMut(T) -> U) -> PerSide<U> {
        PerSide { client: change(self.client), server: change(self.server) }
    }

    /// (side, value), client first.
    pub fn iter(&self) -> impl Iterator<Item = (Side, &T)> {
        [(Side::Client, &self.client), (Side::Server, &self.server)].into_iter()
    }

    /// Both values, client first.
    pub fn into_array(self) -> [T; 2] {
        [self.client, self.server]
    }
}

impl<T> Index<Side> for PerSide<T> {
    type Output = T;
    fn index(&self, side: Side) -> &T {
        match side {
            Side::Client => &self.client,
            Side::Server => &self.server,
        }
    }
}

impl<T> IndexMut<Side> for PerSide<T> {
    fn index_mut(&mut self, side: Side) -> &mut T {
        match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_side_has_its_own_value() {
        let mut counts = PerSide::new(1, 2);
        counts[Side::Server] += 10;
        assert_eq!(counts[Side::Client], 1);
        assert_eq!(counts[Side::Server], 12);
        assert_eq!(Side::Client.other(), Side::Server);
        assert_eq!(counts.map(|n| n * 2).into_array(), [2, 24]);
        assert_eq!(serde_json::to_string(&Side::Server).ok().as_deref(), Some("\"server\""));
    }
}
