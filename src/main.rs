//! `sessim` binary: see `sessim --help` and the README.
fn main() -> std::process::ExitCode {
    sessim::cli::main_exit()
}
