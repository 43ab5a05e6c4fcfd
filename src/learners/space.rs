//! Search spaces: every learner declares, beside its knobs, the range the tuner (`crate::tune`)
//! draws each knob from. A draw is an [`Overrides`], so a tuned learner is built exactly as
//! `train --dim 32 --reg 12.5` would build it ([`super::ModelSpec::new`]), and explicit flags can
//! be laid over a tuned draw ([`Overrides::over`]).

use super::{Knob, Overrides};
use rand::Rng;

/// How one knob is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Range {
    /// A real number, log-uniform in `[lo, hi]` (regularisation, learning rates, weights).
    Log(f32, f32),
    /// A real number, uniform in `[lo, hi]`.
    Linear(f32, f32),
    /// 0 (that part of the model off) with probability `zero`, else log-uniform in `[lo, hi]`:
    /// the graph weights, so that the tuner can turn a graph down that does not pay.
    LogOrZero {
        /// Smallest non-zero value.
        lo: f32,
        /// Largest value.
        hi: f32,
        /// Probability of 0.
        zero: f64,
    },
    /// An integer, log-uniform in `[lo, hi]` (dimensions, epochs).
    LogInt(usize, usize),
    /// One of these names (categorical choices).
    Choice(&'static [&'static str]),
    /// Not given (the learner's own default) with probability `unset`, else a draw of `of`: a
    /// knob whose absence is itself a choice (`--cold-scale` absent: cold items at their
    /// nearest items).
    OrUnset {
        /// Probability of leaving the knob out.
        unset: f64,
        /// The range of a given value.
        of: &'static Range,
    },
    /// A draw of the range, drawn only when the draw holds no value of the knob (earlier in the
    /// space): two knobs of which the learner takes one.
    Without(Knob, &'static Range),
}

/// One knob of a learner's search space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Param {
    /// The knob.
    pub knob: Knob,
    /// How it is drawn.
    pub range: Range,
}

/// A drawn value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// A real number.
    Real(f32),
    /// An integer.
    Int(usize),
    /// A name.
    Name(&'static str),
    /// Not given: the learner's default.
    Unset,
}

impl Range {
    /// A value from this range.
    pub fn draw(&self, rng: &mut impl Rng) -> Value {
        let log_uniform = |rng: &mut dyn rand::RngCore, lo: f64, hi: f64| -> f64 {
            let (a, b) = (lo.max(f64::MIN_POSITIVE).ln(), hi.max(lo).ln());
            (a + (b - a) * rng.random::<f64>()).exp()
        };
        match *self {
            Self::Log(lo, hi) => Value::Real(log_uniform(rng, lo.into(), hi.into()) as f32),
            Self::Linear(lo, hi) => Value::Real(lo + (hi - lo).max(0.0) * rng.random::<f32>()),
            Self::LogOrZero { lo, hi, zero } => {
                if rng.random::<f64>() < zero {
                    Value::Real(0.0)
                } else {
                    Value::Real(log_uniform(rng, lo.into(), hi.into()) as f32)
                }
            }
            Self::LogInt(lo, hi) => {
                let lo = lo.max(1);
                let v = log_uniform(rng, lo as f64, hi.max(lo) as f64 + 0.999).floor();
                Value::Int((v as usize).clamp(lo, hi.max(lo)))
            }
            Self::Choice(names) => match names.len() {
                0 => Value::Name(""),
                n => Value::Name(names[rng.random_range(0..n)]),
            },
            Self::OrUnset { unset, of } => match rng.random::<f64>() < unset {
                true => Value::Unset,
                false => of.draw(rng),
            },
            Self::Without(_, of) => of.draw(rng),
        }
    }
}

impl Range {
    /// A value near `value` (a draw of this range): log-normal steps of `scale` (a share of the
    /// range's width, in log units for the log ranges), clamped to the range; a zero stays
    /// zero or, now and then, takes a value of the range; a name stays, now and then changes.
    /// `None` (the learner's default, outside the space's terms): a fresh draw.
    pub fn near(&self, value: Option<Value>, scale: f64, rng: &mut impl Rng) -> Value {
        let gauss = |rng: &mut dyn rand::RngCore| -> f64 {
            // Box-Muller.
            let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
            let u2: f64 = rng.random();
            (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        };
        let log_step = |rng: &mut dyn rand::RngCore, v: f64, lo: f64, hi: f64| -> f64 {
            let width = (hi.max(lo) / lo.max(f64::MIN_POSITIVE)).ln();
            (v.max(lo).ln() + gauss(rng) * scale * width)
                .exp()
                .clamp(lo, hi)
        };
        match (*self, value) {
            // Absent stays absent, now and then takes a value; a value now and then goes.
            (Self::OrUnset { of, .. }, None | Some(Value::Unset)) => {
                match rng.random::<f64>() < scale {
                    true => of.draw(rng),
                    false => Value::Unset,
                }
            }
            (Self::OrUnset { unset, of }, value) => match rng.random::<f64>() < unset * scale {
                true => Value::Unset,
                false => of.near(value, scale, rng),
            },
            (Self::Without(_, of), value) => of.near(value, scale, rng),
            (_, None) => self.draw(rng),
            (Self::Log(lo, hi), Some(Value::Real(v))) => {
                Value::Real(log_step(rng, v.into(), lo.into(), hi.into()) as f32)
            }
            (Self::Linear(lo, hi), Some(Value::Real(v))) => {
                let step = gauss(rng) * scale * f64::from(hi - lo);
                Value::Real((f64::from(v) + step).clamp(lo.into(), hi.into()) as f32)
            }
            (Self::LogOrZero { lo, hi, zero }, Some(Value::Real(v))) => {
                if v == 0.0 {
                    match rng.random::<f64>() < zero {
                        true => self.draw(rng),
                        false => Value::Real(0.0),
                    }
                } else if rng.random::<f64>() < zero * scale {
                    Value::Real(0.0)
                } else {
                    Value::Real(log_step(rng, v.into(), lo.into(), hi.into()) as f32)
                }
            }
            (Self::LogInt(lo, hi), Some(Value::Int(v))) => {
                let n = log_step(rng, v as f64, lo.max(1) as f64, hi.max(lo) as f64).round();
                Value::Int((n as usize).clamp(lo.max(1), hi.max(lo)))
            }
            (Self::Choice(_), Some(Value::Name(name))) => match rng.random::<f64>() < scale {
                true => self.draw(rng),
                false => Value::Name(name),
            },
            // A value of another kind than the range's: a fresh draw.
            _ => self.draw(rng),
        }
    }
}

/// Rounds a real draw to 3 significant digits: trials tables read better, and nothing tuned
/// depends on the fourth digit.
fn round3(v: f32) -> f32 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f32.powi(2 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

impl Overrides {
    /// Sets `knob` to `value` (a value of the wrong kind for the knob is ignored: the spaces
    /// below are checked by `every_space_draws_valid_specs`).
    pub fn set(&mut self, knob: Knob, value: Value) {
        let real = match value {
            Value::Real(v) => Some(round3(v)),
            _ => None,
        };
        let int = match value {
            Value::Int(v) => Some(v),
            _ => None,
        };
        let name = match value {
            Value::Name(v) => Some(v.to_owned()),
            _ => None,
        };
        match knob {
            Knob::KgWeight => self.kg_weight = real.or(self.kg_weight),
            Knob::NeighbourWeight => self.neighbour_weight = real.or(self.neighbour_weight),
            Knob::Attention => self.attention = name.or(self.attention.take()),
            Knob::ColdScale => self.cold_scale = real.or(self.cold_scale),
            Knob::ColdNeighbours => self.cold_neighbours = int.or(self.cold_neighbours),
            Knob::Dim => self.dim = int.or(self.dim),
            Knob::Epochs => self.epochs = int.or(self.epochs),
            Knob::Reg => self.reg = real.or(self.reg),
            Knob::Alpha => self.alpha = real.or(self.alpha),
            Knob::Confidence => self.confidence = name.or(self.confidence.take()),
            Knob::Lr => self.lr = real.or(self.lr),
            Knob::RegScale => self.reg_scale = real.or(self.reg_scale),
            Knob::IdfPower => self.idf_power = real.or(self.idf_power),
            Knob::ColdPlacement => self.cold_placement = name.or(self.cold_placement.take()),
            Knob::Neighbours => self.neighbours = int.or(self.neighbours),
            Knob::TwoHop => self.two_hop = real.or(self.two_hop),
            Knob::RelationBalance => self.relation_balance = real.or(self.relation_balance),
            Knob::GraphPrior => self.graph_prior = real.or(self.graph_prior),
            Knob::TextWeight => self.text_weight = real.or(self.text_weight),
            Knob::Similarity => self.similarity = name.or(self.similarity.take()),
            Knob::Shrink => self.shrink = real.or(self.shrink),
            Knob::Negatives => self.negatives = int.or(self.negatives),
            Knob::Gamma => self.gamma = real.or(self.gamma),
            Knob::Margin => self.margin = real.or(self.margin),
            Knob::Patience => self.patience = int.or(self.patience),
            Knob::Head => self.head = name.or(self.head.take()),
        }
    }

    /// `knob`'s value, if given, as a draw of `range` would hold it.
    pub fn get(&self, knob: Knob, range: &Range) -> Option<Value> {
        let real = |v: Option<f32>| v.map(Value::Real);
        let int = |v: Option<usize>| v.map(Value::Int);
        let name = |v: &Option<String>| {
            let v = v.as_deref()?;
            let names = match range {
                Range::Choice(names)
                | Range::OrUnset {
                    of: Range::Choice(names),
                    ..
                }
                | Range::Without(_, Range::Choice(names)) => names,
                _ => return None,
            };
            names.iter().find(|n| **n == v).map(|n| Value::Name(n))
        };
        match knob {
            Knob::KgWeight => real(self.kg_weight),
            Knob::NeighbourWeight => real(self.neighbour_weight),
            Knob::Attention => name(&self.attention),
            Knob::ColdScale => real(self.cold_scale),
            Knob::ColdNeighbours => int(self.cold_neighbours),
            Knob::Dim => int(self.dim),
            Knob::Epochs => int(self.epochs),
            Knob::Reg => real(self.reg),
            Knob::Alpha => real(self.alpha),
            Knob::Confidence => name(&self.confidence),
            Knob::Lr => real(self.lr),
            Knob::RegScale => real(self.reg_scale),
            Knob::IdfPower => real(self.idf_power),
            Knob::ColdPlacement => name(&self.cold_placement),
            Knob::Neighbours => int(self.neighbours),
            Knob::TwoHop => real(self.two_hop),
            Knob::RelationBalance => real(self.relation_balance),
            Knob::GraphPrior => real(self.graph_prior),
            Knob::TextWeight => real(self.text_weight),
            Knob::Similarity => name(&self.similarity),
            Knob::Shrink => real(self.shrink),
            Knob::Negatives => int(self.negatives),
            Knob::Gamma => real(self.gamma),
            Knob::Margin => real(self.margin),
            Knob::Patience => int(self.patience),
            Knob::Head => name(&self.head),
        }
    }

    /// A draw near `parent` in `space` ([`Range::near`] for every knob).
    pub fn near(parent: &Overrides, space: &[Param], scale: f64, rng: &mut impl Rng) -> Self {
        let mut o = Self::default();
        for p in space {
            let value = p.range.near(parent.get(p.knob, &p.range), scale, rng);
            if o.drawn(&p.range) {
                o.set(p.knob, value);
            }
        }
        o
    }

    /// A draw from `space`.
    pub fn draw(space: &[Param], rng: &mut impl Rng) -> Self {
        let mut o = Self::default();
        for p in space {
            let value = p.range.draw(rng);
            if o.drawn(&p.range) {
                o.set(p.knob, value);
            }
        }
        o
    }

    /// Whether a knob of `range` is drawn given what these overrides hold so far (a
    /// [`Range::Without`] only when its other knob is not given). The value is drawn either way,
    /// so the draws after it do not depend on it.
    fn drawn(&self, range: &Range) -> bool {
        match range {
            Range::Without(other, _) => !self.given(*other),
            _ => true,
        }
    }

    /// These overrides with every knob `explicit` gives replaced by its value: flags laid over
    /// a tuned draw.
    pub fn over(&self, explicit: &Overrides) -> Self {
        Self {
            dim: explicit.dim.or(self.dim),
            epochs: explicit.epochs.or(self.epochs),
            reg: explicit.reg.or(self.reg),
            alpha: explicit.alpha.or(self.alpha),
            confidence: explicit.confidence.clone().or(self.confidence.clone()),
            lr: explicit.lr.or(self.lr),
            kg_weight: explicit.kg_weight.or(self.kg_weight),
            neighbour_weight: explicit.neighbour_weight.or(self.neighbour_weight),
            attention: explicit.attention.clone().or(self.attention.clone()),
            // The two cold rules exclude each other: the one given replaces the other.
            cold_scale: match explicit.cold_neighbours {
                Some(_) => explicit.cold_scale,
                None => explicit.cold_scale.or(self.cold_scale),
            },
            cold_neighbours: match explicit.cold_scale {
                Some(_) => explicit.cold_neighbours,
                None => explicit.cold_neighbours.or(self.cold_neighbours),
            },
            // λ is one quantity: an explicit λ or multiple replaces the tuned one, whichever
            // form the tuner used.
            reg_scale: match (explicit.reg, explicit.reg_scale) {
                (Some(_), None) => None,
                (_, given) => given.or(self.reg_scale),
            },
            idf_power: explicit.idf_power.or(self.idf_power),
            cold_placement: explicit
                .cold_placement
                .clone()
                .or(self.cold_placement.clone()),
            neighbours: explicit.neighbours.or(self.neighbours),
            two_hop: explicit.two_hop.or(self.two_hop),
            relation_balance: explicit.relation_balance.or(self.relation_balance),
            graph_prior: explicit.graph_prior.or(self.graph_prior),
            text_weight: explicit.text_weight.or(self.text_weight),
            similarity: explicit.similarity.clone().or(self.similarity.clone()),
            shrink: explicit.shrink.or(self.shrink),
            negatives: explicit.negatives.or(self.negatives),
            gamma: explicit.gamma.or(self.gamma),
            margin: explicit.margin.or(self.margin),
            patience: explicit.patience.or(self.patience),
            head: explicit.head.clone().or(self.head.clone()),
        }
    }

    /// Whether no knob is given.
    pub fn is_empty(&self) -> bool {
        Knob::ALL.iter().all(|k| !self.given(*k))
    }

    /// The given knobs as `--flag value` words, in [`Knob::ALL`] order (`--dim 32 --reg 12.5`).
    pub fn flags(&self) -> String {
        let value = |k: Knob| -> Option<String> {
            Some(match k {
                Knob::KgWeight => self.kg_weight?.to_string(),
                Knob::NeighbourWeight => self.neighbour_weight?.to_string(),
                Knob::Attention => self.attention.clone()?,
                Knob::ColdScale => self.cold_scale?.to_string(),
                Knob::ColdNeighbours => self.cold_neighbours?.to_string(),
                Knob::Dim => self.dim?.to_string(),
                Knob::Epochs => self.epochs?.to_string(),
                Knob::Reg => self.reg?.to_string(),
                Knob::Alpha => self.alpha?.to_string(),
                Knob::Confidence => self.confidence.clone()?,
                Knob::Lr => self.lr?.to_string(),
                Knob::RegScale => self.reg_scale?.to_string(),
                Knob::IdfPower => self.idf_power?.to_string(),
                Knob::ColdPlacement => self.cold_placement.clone()?,
                Knob::Neighbours => self.neighbours?.to_string(),
                Knob::TwoHop => self.two_hop?.to_string(),
                Knob::RelationBalance => self.relation_balance?.to_string(),
                Knob::GraphPrior => self.graph_prior?.to_string(),
                Knob::TextWeight => self.text_weight?.to_string(),
                Knob::Similarity => self.similarity.clone()?,
                Knob::Shrink => self.shrink?.to_string(),
                Knob::Negatives => self.negatives?.to_string(),
                Knob::Gamma => self.gamma?.to_string(),
                Knob::Margin => self.margin?.to_string(),
                Knob::Patience => self.patience?.to_string(),
                Knob::Head => self.head.clone()?,
            })
        };
        Knob::ALL
            .iter()
            .filter_map(|k| Some(format!("{} {}", k.flag(), value(*k)?)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The `--confidence` values a catalogue without a stored rating can tell apart: `rating`
/// would fit what `binary` fits, and a draw of it would read as a choice of ratings.
pub const CONFIDENCE_WITHOUT_RATINGS: [&str; 2] = ["binary", "count"];

/// `space` for a catalogue without a stored rating: `--confidence` is drawn from
/// [`CONFIDENCE_WITHOUT_RATINGS`].
pub fn without_ratings(space: Vec<Param>) -> Vec<Param> {
    space
        .into_iter()
        .map(|p| match (p.knob, p.range) {
            (Knob::Confidence, Range::Choice(_)) => Param {
                knob: p.knob,
                range: Range::Choice(&CONFIDENCE_WITHOUT_RATINGS),
            },
            _ => p,
        })
        .collect()
}

/// Which knob is the tuner's resource (successive halving gives the survivors more of it).
pub const RESOURCE: Knob = Knob::Epochs;

/// ALS: dimension, regularisation, confidence slope and values, sweeps.
pub const ALS: &[Param] = &[
    Param {
        knob: Knob::Dim,
        range: Range::LogInt(8, 128),
    },
    Param {
        knob: Knob::Reg,
        range: Range::Log(0.3, 1000.0),
    },
    Param {
        knob: Knob::Alpha,
        range: Range::Log(0.3, 50.0),
    },
    Param {
        knob: Knob::Confidence,
        range: Range::Choice(&crate::cf::Value::NAMES),
    },
    Param {
        knob: Knob::Epochs,
        range: Range::LogInt(5, 30),
    },
];

/// svd and svdpp: dimension, learning rate, regularisation (factors and biases), epochs, and
/// the graph prior's weight (0: off, so that the tuner can turn down a graph that does not pay)
/// and its nearest items.
pub const RATING: &[Param] = &[
    Param {
        knob: Knob::Dim,
        range: Range::LogInt(8, 128),
    },
    Param {
        knob: Knob::Lr,
        range: Range::Log(0.002, 0.03),
    },
    Param {
        knob: Knob::Reg,
        range: Range::Log(0.005, 0.3),
    },
    Param {
        knob: Knob::Epochs,
        range: Range::LogInt(10, 100),
    },
    Param {
        knob: Knob::KgWeight,
        range: Range::LogOrZero {
            lo: 0.3,
            hi: 30.0,
            zero: 0.2,
        },
    },
    Param {
        knob: Knob::Neighbours,
        range: Range::LogInt(5, 40),
    },
];

/// BPR: dimension, learning rate, regularisation, epochs.
pub const BPR: &[Param] = &[
    Param {
        knob: Knob::Dim,
        range: Range::LogInt(16, 128),
    },
    Param {
        knob: Knob::Lr,
        range: Range::Log(0.002, 0.1),
    },
    Param {
        knob: Knob::Reg,
        range: Range::Log(0.0001, 0.1),
    },
    Param {
        knob: Knob::Epochs,
        range: Range::LogInt(30, 300),
    },
];

/// ncf: the head, dimension, learning rate, regularisation, epochs and the graph's weight.
pub const NCF: &[Param] = &[
    Param {
        knob: Knob::Head,
        range: Range::Choice(&["dot", "gmf", "mlp", "neumf"]),
    },
    Param {
        knob: Knob::Dim,
        range: Range::LogInt(16, 128),
    },
    Param {
        knob: Knob::Lr,
        range: Range::Log(0.001, 0.02),
    },
    Param {
        knob: Knob::Reg,
        range: Range::Log(0.0001, 0.1),
    },
    Param {
        knob: Knob::Epochs,
        range: Range::LogInt(10, 80),
    },
    Param {
        knob: Knob::KgWeight,
        range: Range::LogOrZero {
            lo: 0.1,
            hi: 3.0,
            zero: 0.25,
        },
    },
];

/// cke: ALS's space (the same ranges, so that its graph-off corner holds every draw of `als`)
/// and the graph's two prior weights (0: that prior off; both 0: plain ALS), and the
/// neighbourhood's place in the score.
pub const CKE: &[Param] = &[
    Param {
        knob: Knob::Dim,
        range: Range::LogInt(8, 128),
    },
    Param {
        knob: Knob::Reg,
        range: Range::Log(0.3, 1000.0),
    },
    Param {
        knob: Knob::Alpha,
        range: Range::Log(0.3, 50.0),
    },
    Param {
        knob: Knob::Confidence,
        range: Range::Choice(&crate::cf::Value::NAMES),
    },
    Param {
        knob: Knob::Epochs,
        range: Range::LogInt(5, 30),
    },
    Param {
        knob: Knob::KgWeight,
        range: Range::LogOrZero {
            lo: 0.1,
            hi: 100.0,
            zero: 0.2,
        },
    },
    Param {
        knob: Knob::NeighbourWeight,
        range: Range::LogOrZero {
            lo: 0.1,
            hi: 100.0,
            zero: 0.2,
        },
    },
    Param {
        knob: Knob::Attention,
        range: Range::Choice(&["none", "uniform"]),
    },
];

/// cke's cold-item rule, searched when the validation holds items out whole (the catalogue's
/// items without interactions look new): the nearest items' placement (`--cold-scale` absent)
/// with 1 to 30 of them, or the entity's embedding scaled by `--cold-scale` (0: cold items off,
/// never placed). The graph weights of [`CKE`], 0 among them, decide with it.
pub const CKE_COLD: &[Param] = &[
    Param {
        knob: Knob::ColdScale,
        range: Range::OrUnset {
            unset: 0.5,
            of: &Range::LogOrZero {
                lo: 0.25,
                hi: 2.0,
                zero: 0.2,
            },
        },
    },
    Param {
        knob: Knob::ColdNeighbours,
        range: Range::Without(Knob::ColdScale, &Range::LogInt(1, 30)),
    },
];

/// EASE: λ relative to the data.
pub const EASE: &[Param] = &[Param {
    knob: Knob::RegScale,
    range: Range::Log(3.0, 1000.0),
}];

/// kg-ease: λ, the graph's weight (0: plain EASE) and the idf exponent.
pub const KG_EASE: &[Param] = &[
    Param {
        knob: Knob::RegScale,
        range: Range::Log(3.0, 1000.0),
    },
    Param {
        knob: Knob::KgWeight,
        range: Range::LogOrZero {
            lo: 0.05,
            hi: 3.0,
            zero: 0.2,
        },
    },
    Param {
        knob: Knob::IdfPower,
        range: Range::Linear(0.0, 1.0),
    },
];

/// itemknn, userknn: the kernel, the neighbours kept (a count, not a share of the catalogue)
/// and the shrinkage.
pub const KNN: &[Param] = &[
    Param {
        knob: Knob::Similarity,
        range: Range::Choice(&crate::knn::Similarity::NAMES),
    },
    Param {
        knob: Knob::Neighbours,
        range: Range::LogInt(10, 800),
    },
    Param {
        knob: Knob::Shrink,
        range: Range::LogOrZero {
            lo: 1.0,
            hi: 300.0,
            zero: 0.2,
        },
    },
];

/// `tfidf`: the neighbours each item keeps.
pub const TFIDF: &[Param] = &[Param {
    knob: Knob::Neighbours,
    range: Range::LogInt(10, 800),
}];

/// Nothing to tune (popularity, and the graph embeddings until `kge train --tune`).
pub const NONE: &[Param] = &[];

/// The catalogue size the dimension rule was set at: ml-100k's items (1,682), where the
/// learners' default dimensions and their ranges were chosen and the tuner chose 16 to 43
/// dimensions for ALS on the 5 folds (`docs/tuning.md`).
pub const REFERENCE_ITEMS: usize = 1682;

/// How fast the dimension grows with the catalogue's items: `(items / REFERENCE_ITEMS)^0.75`.
/// Set from two catalogues: ml-100k (1,682 items, ALS's default 16 within the tuned folds'
/// range) and the sparse synthetic one (24,843 items, 60,000 users; on a validation carve of its
/// training file ALS scored nDCG@10 0.0286 at 16 dimensions, 0.2074 at 95, 0.2133 at 128, 0.2146
/// at 192): 16 · 14.8^0.75 ≈ 120. A square root would give 62, short of what it wants.
pub const DIM_EXPONENT: f64 = 0.75;

/// The largest size-aware dimension (a default or a first trial): an ALS fit costs about
/// `(users + items) · d²` per sweep, and 128 was within 1 % of 192 on the synthetic catalogue's
/// validation rows.
pub const DIM_CAP: usize = 128;

/// The largest upper end of a size-aware dimension range.
pub const DIM_RANGE_CAP: usize = 256;

/// How many times its reference dimension a catalogue of `items` items (with interactions)
/// wants: 1 up to [`REFERENCE_ITEMS`], then `(items / REFERENCE_ITEMS)^`[`DIM_EXPONENT`].
pub fn dim_scale(items: usize) -> f64 {
    (items.max(1) as f64 / REFERENCE_ITEMS as f64)
        .powf(DIM_EXPONENT)
        .max(1.0)
}

/// A learner's dimension for a catalogue of `items` items: its `default` (chosen on ml-100k)
/// times [`dim_scale`], at most [`DIM_CAP`] (or the default, when that is larger); the default
/// itself up to ml-100k's size.
pub fn sized_dim(default: usize, items: usize) -> usize {
    let scaled = (default as f64 * dim_scale(items)).round() as usize;
    scaled.clamp(default, DIM_CAP.max(default))
}

/// `space` for a catalogue of `items` items, for a learner whose default dimension is
/// `default`: the dimension's range `[lo, hi]` becomes `[max(lo, min(lo·s, d/2)), max(hi,
/// min(2d, DIM_RANGE_CAP))]` with `s` = [`dim_scale`] and `d` = [`sized_dim`], so that its
/// log-centre is about `d`; unchanged up to ml-100k's size (`s` = 1). Other knobs are kept.
pub fn sized_space(space: Vec<Param>, default: usize, items: usize) -> Vec<Param> {
    let (s, d) = (dim_scale(items), sized_dim(default, items));
    if d == default {
        return space;
    }
    space
        .into_iter()
        .map(|p| match (p.knob, p.range) {
            (Knob::Dim, Range::LogInt(lo, hi)) => {
                let lo = lo.max(((lo as f64 * s).round() as usize).min(d / 2));
                let hi = hi.max((2 * d).min(DIM_RANGE_CAP));
                Param {
                    knob: p.knob,
                    range: Range::LogInt(lo, hi.max(lo)),
                }
            }
            _ => p,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::learners::{LEARNERS, ModelSpec};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Without a stored rating, `--confidence rating` is never drawn (it fits what binary
    /// fits); the other knobs keep their ranges.
    #[test]
    fn without_ratings_no_rating_confidence_is_drawn() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for space in [ALS, CKE] {
            let plain = without_ratings(space.to_vec());
            assert_eq!(plain.len(), space.len());
            for (p, q) in plain.iter().zip(space) {
                assert_eq!(p.knob, q.knob);
                if p.knob != Knob::Confidence {
                    assert_eq!(p.range, q.range);
                    continue;
                }
                let drawn: Vec<Value> = (0..200).map(|_| p.range.draw(&mut rng)).collect();
                assert!(drawn.iter().all(|v| *v != Value::Name("rating")));
                assert!(drawn.contains(&Value::Name("count")));
            }
        }
    }

    /// cke's graph-off corner is ALS (`fused` tests): its space holds every draw of ALS's, so
    /// tuning cke can find whatever tuning ALS finds.
    #[test]
    fn cke_space_holds_als_space() {
        for als in ALS {
            let cke = CKE.iter().find(|p| p.knob == als.knob).unwrap();
            assert_eq!(cke.range, als.range, "{:?}", als.knob);
        }
    }

    #[test]
    fn every_space_draws_valid_specs() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for learner in &LEARNERS {
            for knob in learner.tuning_space(true, true).iter().map(|p| p.knob) {
                assert!(
                    learner.knobs.contains(&knob),
                    "{}: {} is in its space but not among its knobs",
                    learner.name,
                    knob.flag()
                );
            }
            for _ in 0..200 {
                let draw = Overrides::draw(&learner.tuning_space(true, true), &mut rng);
                ModelSpec::new(learner.name, &draw)
                    .unwrap_or_else(|e| panic!("{}: {} -> {e}", learner.name, draw.flags()));
            }
        }
    }

    fn dim_range(space: &[Param]) -> (usize, usize) {
        match space.iter().find(|p| p.knob == Knob::Dim).map(|p| p.range) {
            Some(Range::LogInt(lo, hi)) => (lo, hi),
            other => panic!("{other:?}"),
        }
    }

    /// The size-aware dimension is the default up to ml-100k's items, grows with the items
    /// (never shrinks), and stops at the cap; the sparse synthetic catalogue's 24,843 items
    /// give ALS about 120.
    #[test]
    fn the_sized_dimension_grows_with_the_items_from_the_default() {
        for default in [16, 20, 50, 64] {
            for items in [1, 498, 1000, 1650, REFERENCE_ITEMS] {
                assert_eq!(sized_dim(default, items), default, "{items} items");
            }
            let mut last = default;
            for items in (1..400).map(|k| k * 250) {
                let d = sized_dim(default, items);
                assert!(d >= last, "{default}: {items} items gave {d} after {last}");
                assert!(d <= DIM_CAP.max(default));
                last = d;
            }
            assert_eq!(last, DIM_CAP.max(default));
        }
        assert!((115..=125).contains(&sized_dim(16, 24_843)));
        assert!(sized_dim(16, 3_000) > 16 && sized_dim(16, 3_000) < 32);
        assert_eq!(dim_scale(REFERENCE_ITEMS), 1.0);
        assert!(dim_scale(2 * REFERENCE_ITEMS) > 1.6 && dim_scale(2 * REFERENCE_ITEMS) < 1.7);
    }

    /// Up to ml-100k's size every learner keeps its dimension range; above it the range's
    /// upper end grows with the items, holds the sized dimension, and its log-centre is near it.
    #[test]
    fn the_dimension_range_follows_the_catalogue() {
        for learner in &LEARNERS {
            let Some(default) = learner.default_dim() else {
                continue;
            };
            let space = learner.tuning_space(true, true);
            if !space.iter().any(|p| p.knob == Knob::Dim) {
                continue;
            }
            for items in [100, 943, 1650, REFERENCE_ITEMS] {
                assert_eq!(learner.sized_space(space.clone(), items), space);
                assert_eq!(learner.catalogue_defaults(items), Overrides::default());
            }
            let (mut last_lo, mut last_hi) = dim_range(&space);
            for items in [2_000, 5_000, 10_000, 24_843, 60_000, 1_000_000] {
                let sized = learner.sized_space(space.clone(), items);
                let (lo, hi) = dim_range(&sized);
                let d = sized_dim(default, items);
                assert_eq!(learner.catalogue_defaults(items).dim, Some(d));
                assert!(
                    lo <= d && d <= hi,
                    "{}: {d} outside [{lo}, {hi}]",
                    learner.name
                );
                assert!(lo >= last_lo && hi >= last_hi, "{}: {items}", learner.name);
                assert!(hi <= DIM_RANGE_CAP.max(dim_range(&space).1));
                // The other knobs are untouched.
                for (p, q) in sized.iter().zip(&space) {
                    assert!(p.knob == Knob::Dim || p == q);
                }
                (last_lo, last_hi) = (lo, hi);
            }
        }
        let sized = als_learner().sized_space(ALS.to_vec(), 24_843);
        let (lo, hi) = dim_range(&sized);
        let centre = ((lo * hi) as f64).sqrt();
        let d = als_learner().catalogue_defaults(24_843).dim.unwrap() as f64;
        assert!(
            (centre / d - 1.0).abs() < 0.1,
            "[{lo}, {hi}] centre {centre}, dim {d}"
        );
    }

    fn als_learner() -> &'static crate::learners::Learner {
        crate::learners::learner("als").unwrap()
    }

    #[test]
    fn the_learners_default_dimensions_are_read_from_their_specs() {
        let dim = |name: &str| crate::learners::learner(name).unwrap().default_dim();
        assert_eq!(dim("als"), Some(16));
        assert_eq!(dim("cke"), Some(16));
        assert_eq!(dim("bpr"), Some(64));
        assert_eq!(dim("ncf"), Some(64));
        assert_eq!(dim("svd"), Some(50));
        assert_eq!(dim("svdpp"), Some(20));
        // The graph embeddings size their dimension with the graph (`kge train`), not here.
        assert_eq!(dim("transe"), None);
        assert_eq!(dim("ease"), None);
        assert_eq!(dim("itemknn"), None);
    }

    #[test]
    fn draws_stay_in_range_and_log_ranges_cover_their_decades() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let range = Range::Log(0.1, 1000.0);
        let draws: Vec<f32> = (0..4000)
            .map(|_| match range.draw(&mut rng) {
                Value::Real(v) => v,
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(draws.iter().all(|v| (0.1..=1000.0).contains(v)));
        // Four decades, about a quarter of the draws each.
        for (lo, hi) in [(0.1, 1.0), (1.0, 10.0), (10.0, 100.0), (100.0, 1000.0)] {
            let share = draws.iter().filter(|v| (lo..hi).contains(*v)).count() as f64 / 4000.0;
            assert!((0.2..0.3).contains(&share), "[{lo}, {hi}): {share}");
        }
        let zeroed = Range::LogOrZero {
            lo: 1.0,
            hi: 2.0,
            zero: 0.5,
        };
        let zeros = (0..2000)
            .filter(|_| zeroed.draw(&mut rng) == Value::Real(0.0))
            .count();
        assert!((850..1150).contains(&zeros), "{zeros}");
        for _ in 0..500 {
            match Range::LogInt(5, 30).draw(&mut rng) {
                Value::Int(v) => assert!((5..=30).contains(&v)),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn draws_near_a_parent_stay_in_range_and_mostly_near_it() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let parent = Overrides {
            dim: Some(32),
            reg: Some(10.0),
            alpha: Some(2.0),
            epochs: Some(15),
            ..Overrides::default()
        };
        let mut near = 0;
        for _ in 0..500 {
            let child = Overrides::near(&parent, ALS, 0.1, &mut rng);
            let reg = child.reg.unwrap();
            assert!((0.3..=1000.0).contains(&reg));
            assert!((8..=128).contains(&child.dim.unwrap()));
            near += usize::from((3.0..30.0).contains(&reg));
        }
        assert!(near > 400, "{near} of 500 within a factor of 3");
        // A knob the parent leaves at the learner's default is drawn afresh.
        let child = Overrides::near(&Overrides::default(), ALS, 0.1, &mut rng);
        assert!(child.reg.is_some() && child.dim.is_some());
        assert_eq!(
            parent.get(Knob::Reg, &Range::Log(0.3, 1000.0)),
            Some(Value::Real(10.0))
        );
    }

    #[test]
    fn explicit_flags_win_over_a_tuned_draw() {
        let tuned = Overrides {
            dim: Some(48),
            reg_scale: Some(80.0),
            kg_weight: Some(0.5),
            ..Overrides::default()
        };
        let explicit = Overrides {
            dim: Some(8),
            reg: Some(10.0),
            ..Overrides::default()
        };
        let merged = tuned.over(&explicit);
        assert_eq!(merged.dim, Some(8));
        assert_eq!(merged.reg, Some(10.0));
        // An explicit λ replaces the tuned multiple, which would otherwise conflict with it.
        assert_eq!(merged.reg_scale, None);
        assert_eq!(merged.kg_weight, Some(0.5));
        assert_eq!(merged.flags(), "--kg-weight 0.5 --dim 8 --reg 10");
        assert!(Overrides::default().is_empty());
        assert_eq!(round3(123.456), 123.0);
        assert_eq!(round3(0.0012345), 0.00123);
    }

    #[test]
    fn the_cold_rule_is_one_of_two_and_may_be_off() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (mut scale, mut zero, mut nearest) = (0, 0, 0);
        let mut parent = Overrides::default();
        for k in 0..600 {
            let draw = match k % 2 {
                0 => Overrides::draw(CKE_COLD, &mut rng),
                _ => Overrides::near(&parent, CKE_COLD, 0.3, &mut rng),
            };
            assert!(
                draw.cold_scale.is_none() || draw.cold_neighbours.is_none(),
                "{}",
                draw.flags()
            );
            assert!(draw.cold_scale.is_some() || draw.cold_neighbours.is_some());
            scale += usize::from(draw.cold_scale.is_some_and(|s| s > 0.0));
            zero += usize::from(draw.cold_scale == Some(0.0));
            if let Some(n) = draw.cold_neighbours {
                assert!((1..=30).contains(&n));
                nearest += 1;
            }
            parent = draw;
        }
        assert!(
            scale > 100 && zero > 20 && nearest > 150,
            "{scale} {zero} {nearest}"
        );
        // Searched only when items are held out whole.
        let cke = crate::learners::learner("cke").unwrap();
        assert_eq!(cke.tuning_space(false, true), CKE);
        assert_eq!(
            cke.tuning_space(true, true).len(),
            CKE.len() + CKE_COLD.len()
        );
        // Without a graph, only the CF knobs: dimension, regularisation, alpha, confidence,
        // epochs.
        let cf: Vec<Knob> = cke
            .tuning_space(true, false)
            .iter()
            .map(|p| p.knob)
            .collect();
        assert_eq!(
            cf,
            [
                Knob::Dim,
                Knob::Reg,
                Knob::Alpha,
                Knob::Confidence,
                Knob::Epochs
            ]
        );
    }
}
