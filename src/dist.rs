//! `vendorwatch gen-dist DIR` (for packaging, outside the documented command line): the man pages (`clap_mangen`, one page per subcommand)
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
    // Not built here: clap_mangen builds it without the `help` subcommands (no pages for
    // them).
    let mut cmd = cmd;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_completions_cover_every_subcommand_and_option() {
        let dir = std::env::temp_dir().join(format!("vw-gen-dist-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(generate(crate::cli::command(), &dir), EXIT_OK);
        let read = |p: &str| std::fs::read_to_string(dir.join(p)).unwrap_or_default();
        for page in [
            "vendorwatch.1",
            "vendorwatch-scan.1",
            "vendorwatch-config-check.1",
        ] {
            assert!(read(&format!("man/{page}")).contains(".TH"), "{page}");
        }
        let live = read("man/vendorwatch-live.1");
        assert!(
            live.contains("config") && live.contains("suppress\\-window"),
            "{live}"
        );
        assert!(
            !dir.join("man/vendorwatch-help.1").exists(),
            "no pages for `help`"
        );
        let bash = read("completions/vendorwatch.bash");
        assert!(bash.contains("--suppress-window") && bash.contains("--config"));
        assert!(read("completions/_vendorwatch").contains("#compdef vendorwatch"));
        assert!(read("completions/vendorwatch.fish").contains("complete -c vendorwatch"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
