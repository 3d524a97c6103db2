//! What a package installs beside the binaries, generated from the command line's own definition
//! so it never drifts from it: a man page per command (clap_mangen) and completions for bash, zsh
//! and fish (clap_complete).

use std::path::Path;

use anyhow::Context as _;
use clap::CommandFactory as _;
use clap_complete::Shell;

use super::Cli;

/// Writes `dir/man/*.1` and `dir/completions/{tcpladder.bash,_tcpladder,tcpladder.fish}`.
pub fn write(dir: &Path) -> anyhow::Result<()> {
    let man = dir.join("man");
    let completions = dir.join("completions");
    for made in [&man, &completions] {
        std::fs::create_dir_all(made).with_context(|| format!("creating {}", made.display()))?;
    }
    let command = Cli::command();
    clap_mangen::generate_to(command.clone(), &man)
        .with_context(|| format!("writing man pages to {}", man.display()))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let mut command = command.clone();
        clap_complete::generate_to(shell, &mut command, "tcpladder", &completions)
            .with_context(|| format!("writing {shell} completions to {}", completions.display()))?;
    }
    Ok(())
}
