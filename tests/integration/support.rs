//! Helpers shared by the integration tests.

use std::path::Path;
use std::process::{Command, Output};

/// The sessim binary under test.
pub fn sessim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sessim"))
}

/// A fresh, empty temporary directory for one test (`sessim-it-<name>-<random>`), used as a
/// `Path`. Removed when dropped; kept, and named on stderr, when dropped by a failing test, for
/// inspection.
pub struct TestDir(Option<tempfile::TempDir>);

impl std::ops::Deref for TestDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.as_ref().expect("present until dropped").path()
    }
}

impl AsRef<Path> for TestDir {
    fn as_ref(&self) -> &Path {
        self
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(d) = self.0.take() {
                eprintln!("keeping {} for inspection", d.keep().display());
            }
        }
    }
}

/// A new [`TestDir`].
pub fn temp_dir(name: &str) -> TestDir {
    let d = tempfile::Builder::new()
        .prefix(&format!("sessim-it-{name}-"))
        .tempdir()
        .expect("create a temporary directory");
    TestDir(Some(d))
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
