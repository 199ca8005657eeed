// The exponential ziggurat's constants and table generator. Included (`include!`) by both
// `build.rs`, which writes the tables into the binary as constants, and `kernel/rng.rs`, whose
// unit test checks those constants against this generator bit for bit. Plain items only: no
// module path, no `use`, so the text compiles in both places.

/// Ziggurat for the standard exponential: 256 layers of area [`ZIG_EXP_V`], the base layer
/// ending at [`ZIG_EXP_R`] (Marsaglia & Tsang 2000, Table 1).
#[allow(dead_code)]
const ZIG_EXP_R: f64 = 7.697_117_470_131_05;
#[allow(dead_code)]
const ZIG_EXP_V: f64 = 0.003949659822581557;

/// The exponential ziggurat tables: layer edges `x` (decreasing, `x[256] = 0`) and the density
/// there, `f = exp(-x)`, computed with `libm` (the same bits on every platform).
#[allow(dead_code)]
fn zig_exp_tables() -> ([f64; 257], [f64; 257]) {
    let mut x = [0.0; 257];
    x[0] = ZIG_EXP_V * libm::exp(ZIG_EXP_R);
    x[1] = ZIG_EXP_R;
    for i in 1..256 {
        x[i + 1] = -libm::log(ZIG_EXP_V / x[i] + libm::exp(-x[i]));
    }
    x[256] = 0.0;
    let mut f = [0.0; 257];
    for i in 0..257 {
        f[i] = libm::exp(-x[i]);
    }
    (x, f)
}
