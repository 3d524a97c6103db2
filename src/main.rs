//! tcpladder's entry point: parses the command line and reports errors once, in one line.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    match cli::run(cli::Cli::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("tcpladder: {err:#}");
            ExitCode::FAILURE
        }
    }
}
