//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The sessim binary under test.
pub fn sessim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sessim"))
}

/// A fresh, empty temporary directory unique to this test.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sessim-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs sessim with `args` in `cwd`.
pub fn run_in(cwd: &Path, args: &[&str]) -> Output {
    sessim()
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("spawn sessim")
}
