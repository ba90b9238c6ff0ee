//! `vendorwatch gen-dist DIR` (hidden): the man pages (`clap_mangen`, one page per subcommand)
//! and shell completions (`clap_complete`: bash, zsh, fish) made from the command line's own
//! definition, for the Debian package (`scripts/package.sh`), so they never drift from it.

use std::path::Path;

use clap::Command;
use clap_complete::Shell;

use crate::exit::{EXIT_FATAL, EXIT_OK};

/// Write `DIR/man/*.1` and `DIR/completions/{vendorwatch.bash,_vendorwatch,vendorwatch.fish}`.
pub fn generate(cmd: Command, dir: &Path) -> i32 {
    match write_all(cmd, dir) {
        Ok(n) => {
            eprintln!("vendorwatch: {n} file(s) written under {}", dir.display());
            EXIT_OK
        }
        Err(e) => {
            eprintln!("vendorwatch: {}: {e}", dir.display());
            EXIT_FATAL
        }
    }
}

fn write_all(cmd: Command, dir: &Path) -> std::io::Result<usize> {
    // Hidden subcommands (this one) stay out of the pages and completions.
    let mut cmd = cmd.mut_subcommand("gen-dist", |s| s.hide(true));
    cmd.build();
    let man = dir.join("man");
    let completions = dir.join("completions");
    std::fs::create_dir_all(&man)?;
    std::fs::create_dir_all(&completions)?;
    clap_mangen::generate_to(cmd.clone(), &man)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut cmd, "vendorwatch", &completions)?;
    }
    let count = |d: &Path| std::fs::read_dir(d).map(|e| e.count()).unwrap_or(0);
    Ok(count(&man) + count(&completions))
}
