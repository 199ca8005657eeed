//! Records the git revision for manifest.toml (`unknown` outside a git checkout), and writes the
//! exponential ziggurat tables as constants (`$OUT_DIR/zig_exp.rs`, see `src/kernel/zig_gen.rs`).

include!("src/kernel/zig_gen.rs");

fn main() {
    let rev = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SESSIM_GIT_REVISION={rev}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    println!("cargo:rerun-if-changed=src/kernel/zig_gen.rs");

    // `{:?}` prints the shortest literal that parses back to the same bits (a unit test in
    // `kernel/rng.rs` checks the compiled tables against the generator bit for bit)
    let (x, f) = zig_exp_tables();
    let array = |v: &[f64; 257]| {
        let items: Vec<String> = v.iter().map(|a| format!("{a:?}")).collect();
        format!("[{}]", items.join(", "))
    };
    let out = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("zig_exp.rs");
    std::fs::write(
        out,
        format!("ZigTables {{ x: {}, f: {} }}\n", array(&x), array(&f)),
    )
    .expect("writing the ziggurat tables");
}
