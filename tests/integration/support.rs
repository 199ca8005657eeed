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

/// Waits until the resume journal `store` (`.sessim-runs.jsonl`: a header line, then one line
/// per finished run) records at least `runs` finished runs, or 120 s have passed.
pub fn wait_for_runs(store: &Path, runs: usize) {
    let t0 = std::time::Instant::now();
    loop {
        let lines = std::fs::read_to_string(store)
            .map(|s| s.lines().count())
            .unwrap_or(0);
        if lines > runs || t0.elapsed().as_secs() > 120 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Finished runs recorded in the resume journal `store` (its lines minus the header).
pub fn finished_runs(store: &Path) -> usize {
    std::fs::read_to_string(store).unwrap().lines().count() - 1
}
