//! `sessim` binary: see `sessim --help` and the README.

/// Huge pages for the large tables: see [`sessim::alloc`].
#[global_allocator]
static GLOBAL: sessim::alloc::HugePageAlloc = sessim::alloc::HugePageAlloc;

fn main() -> std::process::ExitCode {
    sessim::cli::main_exit()
}
