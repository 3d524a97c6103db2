//! The capture helper: the only tcpladder program that needs `cap_net_raw` (see
//! `tcpladder::capture::helper`). It reads one interface and streams a pcap to stdout.

fn main() -> std::process::ExitCode {
    tcpladder::capture::helper::helper_main(std::env::args())
}
