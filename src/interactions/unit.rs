//! The unit of an interaction file's numeric timestamps (`--time-unit`). kgrec stores seconds
//! since 1970; a file in milliseconds is converted as it is read, so that a store never holds
//! (and never compares) both. `auto` reads milliseconds when every numeric timestamp of the
//! file is 10¹¹ or more (after the year 5138 as seconds), and refuses a file that mixes both.
//! ISO 8601 dates are dates whatever the unit.

use std::fmt;
use std::str::FromStr;

/// How numeric timestamps are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimeUnit {
    /// Milliseconds when every numeric timestamp looks like them, else seconds.
    #[default]
    Auto,
    /// Seconds since 1970, kept as they are.
    Seconds,
    /// Milliseconds since 1970, stored as seconds (rounded down).
    Milliseconds,
}

impl TimeUnit {
    /// The name `--time-unit` takes.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Seconds => "s",
            Self::Milliseconds => "ms",
        }
    }
}

impl fmt::Display for TimeUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `--time-unit` that is none of `auto`, `s`, `ms`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("time unit {0:?}: expected auto, s (seconds) or ms (milliseconds)")]
pub struct UnknownTimeUnit(String);

impl FromStr for TimeUnit {
    type Err = UnknownTimeUnit;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "s" | "sec" | "secs" | "second" | "seconds" => Ok(Self::Seconds),
            "ms" | "millis" | "millisecond" | "milliseconds" => Ok(Self::Milliseconds),
            _ => Err(UnknownTimeUnit(s.to_owned())),
        }
    }
}

/// Milliseconds since 1970 as the seconds kgrec stores (rounded down, so a time before 1970
/// stays before it).
pub fn millis_to_seconds(t: i64) -> i64 {
    t.div_euclid(1000)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_parse_and_print_back() {
        for unit in [TimeUnit::Auto, TimeUnit::Seconds, TimeUnit::Milliseconds] {
            assert_eq!(unit.name().parse::<TimeUnit>(), Ok(unit));
        }
        assert_eq!("MS".parse::<TimeUnit>(), Ok(TimeUnit::Milliseconds));
        let err = "minutes".parse::<TimeUnit>().unwrap_err().to_string();
        assert!(err.contains("expected auto, s (seconds) or ms"), "{err}");
    }

    #[test]
    fn milliseconds_round_down_to_seconds() {
        assert_eq!(millis_to_seconds(1_672_563_563_999), 1_672_563_563);
        assert_eq!(millis_to_seconds(-1), -1);
        assert_eq!(millis_to_seconds(0), 0);
    }
}
