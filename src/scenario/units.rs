//! Typed config values with units: durations (`"7s"`, `"250ms"`, `"30m"`, via `humantime`) and
//! sizes (`"4KiB"`, `"64MiB"`, `"512B"`, via `parse-size`). A bare number is rejected so that a
//! unit is never guessed.

use serde::{de, Deserialize, Deserializer};
use std::fmt;

/// A duration from the config, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Duration(pub u64);

impl Duration {
    /// From a string like `"7s"`, `"1h 30m"`, `"250ms"`, `"100us"`, `"0s"`.
    ///
    /// # Errors
    /// A message saying what was expected when the text is not a duration or overflows u64 ns.
    pub fn parse(s: &str) -> Result<Self, String> {
        let d = humantime::parse_duration(s.trim()).map_err(|e| {
            format!("expected a duration with a unit like \"7s\", \"250ms\", \"30m\", got \"{s}\" ({e})")
        })?;
        u64::try_from(d.as_nanos())
            .map(Duration)
            .map_err(|_| format!("duration \"{s}\" is too long"))
    }
    /// Nanoseconds.
    pub fn ns(self) -> u64 {
        self.0
    }
    /// Seconds as f64.
    pub fn secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}",
            humantime::format_duration(std::time::Duration::from_nanos(self.0))
        )
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string with a unit like \"7s\", \"250ms\" or \"30m\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Duration, E> {
                Duration::parse(s).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A size from the config, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Size(pub u64);

impl Size {
    /// From a string like `"4KiB"`, `"64MiB"`, `"512B"`, `"1.5 KB"` (KB = 1000, KiB = 1024).
    ///
    /// # Errors
    /// A message saying what was expected when the text is not a size.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if !t.ends_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(format!(
                "expected a size with a unit like \"4KiB\" or \"512B\", got \"{s}\""
            ));
        }
        parse_size::parse_size(t).map(Size).map_err(|e| {
            format!("expected a size with a unit like \"4KiB\" or \"512B\", got \"{s}\" ({e})")
        })
    }
    /// Bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size string with a unit like \"4KiB\" or \"512B\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Size, E> {
                Size::parse(s).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parses_units_and_rejects_bare_numbers() {
        assert_eq!(Duration::parse("7s").unwrap().ns(), 7_000_000_000);
        assert_eq!(Duration::parse("250ms").unwrap().ns(), 250_000_000);
        assert_eq!(Duration::parse("100us").unwrap().ns(), 100_000);
        assert_eq!(Duration::parse("30m").unwrap().ns(), 1_800_000_000_000);
        assert!(Duration::parse("7").is_err());
        assert!(Duration::parse("seven s").is_err());
        assert_eq!(Size::parse("4KiB").unwrap().bytes(), 4096);
        assert_eq!(Size::parse("64MiB").unwrap().bytes(), 64 << 20);
        assert_eq!(Size::parse("512B").unwrap().bytes(), 512);
        assert!(Size::parse("4096").is_err());
        assert!(Size::parse("4 parsecs").is_err());
    }
}
