#![no_main]
//! See tcpladder::fuzzing::ladder: the body is shared with the test suite.

libfuzzer_sys::fuzz_target!(|data: &[u8]| tcpladder::fuzzing::ladder(data));
