//! The rating scale of a data set: the lowest and highest rating it can hold (`1:5`), declared
//! at import (`--rating-scale`) or inferred from the ratings stored. A declared scale is
//! stored with the interactions; every later rating must fall inside it, and rating
//! predictions are clipped to it.

use std::fmt;
use std::str::FromStr;

/// The closed interval `[min, max]` ratings fall in; both bounds finite, `min < max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatingScale {
    min: f32,
    max: f32,
}

// Both bounds are finite by construction (`RatingScale::new`), so equality is reflexive.
impl Eq for RatingScale {}

/// Why a scale was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rating scale {text:?}: {why} (expected MIN:MAX, e.g. 1:5)")]
pub struct BadScale {
    text: String,
    why: &'static str,
}

impl RatingScale {
    /// `[min, max]`, when both are finite and `min < max`.
    pub fn new(min: f32, max: f32) -> Option<Self> {
        (min.is_finite() && max.is_finite() && min < max).then_some(Self { min, max })
    }

    /// The lowest and highest of `ratings` (`None` without two distinct finite ratings).
    pub fn infer(ratings: impl IntoIterator<Item = f32>) -> Option<Self> {
        let (lo, hi) = ratings
            .into_iter()
            .filter(|r| r.is_finite())
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), r| {
                (lo.min(r), hi.max(r))
            });
        Self::new(lo, hi)
    }

    /// The lowest rating.
    pub fn min(self) -> f32 {
        self.min
    }

    /// The highest rating.
    pub fn max(self) -> f32 {
        self.max
    }

    /// Whether `rating` lies on the scale.
    pub fn contains(self, rating: f32) -> bool {
        (self.min..=self.max).contains(&rating)
    }

    /// `value` brought onto the scale (a NaN becomes the middle of the scale).
    pub fn clip(self, value: f32) -> f32 {
        if value.is_nan() {
            return 0.5 * (self.min + self.max);
        }
        value.clamp(self.min, self.max)
    }
}

impl fmt::Display for RatingScale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.min, self.max)
    }
}

impl FromStr for RatingScale {
    type Err = BadScale;

    fn from_str(text: &str) -> Result<Self, BadScale> {
        let bad = |why| BadScale {
            text: text.to_owned(),
            why,
        };
        let (lo, hi) = text.split_once(':').ok_or_else(|| bad("no `:`"))?;
        let number = |s: &str| s.trim().parse::<f32>().map_err(|_| bad("not a number"));
        Self::new(number(lo)?, number(hi)?).ok_or_else(|| bad("MIN must be below MAX, both finite"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_checks_and_clips() {
        let s: RatingScale = "1:5".parse().unwrap();
        assert_eq!((s.min(), s.max()), (1.0, 5.0));
        assert_eq!(s.to_string(), "1:5");
        assert_eq!("0.5:5".parse::<RatingScale>().unwrap().to_string(), "0.5:5");
        for bad in ["5", "5:1", "1:1", "a:5", "1:inf"] {
            assert!(bad.parse::<RatingScale>().is_err(), "{bad}");
        }
        assert!(s.contains(1.0) && s.contains(5.0) && !s.contains(5.5) && !s.contains(0.0));
        assert_eq!((s.clip(7.0), s.clip(-1.0), s.clip(3.2)), (5.0, 1.0, 3.2));
        assert_eq!(s.clip(f32::NAN), 3.0);
        assert_eq!(
            RatingScale::infer([3.0, 1.0, 4.0]),
            RatingScale::new(1.0, 4.0)
        );
        assert_eq!(RatingScale::infer([3.0, 3.0]), None);
    }
}
