#![no_main]
//! See tcpladder::fuzzing::decode: the body is shared with the test suite.

libfuzzer_sys::fuzz_target!(|data: &[u8]| tcpladder::fuzzing::decode(data));
