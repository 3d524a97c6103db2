//! Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4).

/// Signed distance from `b` to `a` in sequence space: positive when `a` is after `b`.
pub fn seq_diff(a: u32, b: u32) -> i32 {
    // Reinterpreting the wrapped difference as i32 is the RFC's comparison rule.
    a.wrapping_sub(b) as i32
}

/// `a` is strictly after `b`.
pub fn seq_gt(a: u32, b: u32) -> bool {
    seq_diff(a, b) > 0
}

/// `a` is at or after `b`.
pub fn seq_ge(a: u32, b: u32) -> bool {
    seq_diff(a, b) >= 0
}

/// `a` is strictly before `b`.
pub fn seq_lt(a: u32, b: u32) -> bool {
    seq_diff(a, b) < 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_wrap() {
        assert!(seq_gt(5, u32::MAX - 5));
        assert!(seq_lt(u32::MAX - 5, 5));
        assert_eq!(seq_diff(2, u32::MAX), 3);
        assert!(seq_ge(7, 7));
    }
}
