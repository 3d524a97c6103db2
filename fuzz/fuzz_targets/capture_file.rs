#![no_main]
//! See tcpladder::fuzzing::capture_file: the body is shared with the test suite.

libfuzzer_sys::fuzz_target!(|data: &[u8]| tcpladder::fuzzing::capture_file(data));
