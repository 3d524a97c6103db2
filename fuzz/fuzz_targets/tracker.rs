#![no_main]
//! See tcpladder::fuzzing::tracker: the body is shared with the test suite.

libfuzzer_sys::fuzz_target!(|data: &[u8]| tcpladder::fuzzing::tracker(data));
