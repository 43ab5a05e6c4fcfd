//! `kgrec kge train --tune BUDGET`: the graph embeddings' search spaces and the scoring of a
//! draw on a link-prediction benchmark's validation split (`valid.txt`, the filtered MRR the
//! fit's early stopping already computes). The search is [`super::search_space`], the same as
//! `kgrec tune`'s; the starting point (the defaults' trial) is `kge train`'s size-aware
//! defaults (`KgeParams::tuned_for`).

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use kgrec_kg::embed::{self, KgeParams, RunError, TrainError, TrainOptions};

use super::{Evaluate, Search, SearchResult, TrialReport, search_space};
use crate::error::{Error, Result};
use crate::learners::space::{Param, Range};
use crate::learners::{KgeKnobs, Knob, Overrides};

/// The space of every graph embedding, its loss's margin given.
const fn space_with(margin: Param) -> [Param; 6] {
    [
        Param {
            knob: Knob::Dim,
            range: Range::LogInt(16, 256),
        },
        Param {
            knob: Knob::Negatives,
            range: Range::LogInt(4, 128),
        },
        margin,
        Param {
            knob: Knob::Lr,
            range: Range::Log(1e-4, 3e-2),
        },
        Param {
            knob: Knob::Epochs,
            range: Range::LogInt(50, 400),
        },
        Param {
            knob: Knob::Patience,
            range: Range::LogInt(1, 6),
        },
    ]
}

/// TransE and RotatE: the self-adversarial loss, its margin γ searched.
const GAMMA_SPACE: [Param; 6] = space_with(Param {
    knob: Knob::Gamma,
    range: Range::Log(2.0, 24.0),
});

/// TransR: the margin-ranking loss, its margin searched.
const MARGIN_SPACE: [Param; 6] = space_with(Param {
    knob: Knob::Margin,
    range: Range::Log(0.5, 8.0),
});

/// The search space of graph-embedding model `model` (`transe`, `rotate`, `transr`), less the
/// knobs `explicit` gives (flags win over draws, so drawing them would waste trials).
pub fn kge_space(model: &str, explicit: &KgeKnobs, patience_given: bool) -> Result<Vec<Param>> {
    let space: &[Param] = match model.to_ascii_lowercase().as_str() {
        "transe" | "rotate" => &GAMMA_SPACE,
        "transr" => &MARGIN_SPACE,
        _ => {
            return Err(Error::BadInput(format!(
                "--model {model}: no such graph-embedding model (expected transe, rotate or transr)"
            )));
        }
    };
    let given = |k: Knob| match k {
        Knob::Dim => explicit.dim.is_some(),
        Knob::Negatives => explicit.negatives.is_some(),
        // Either margin flag picks the loss: a given one fixes both.
        Knob::Gamma | Knob::Margin => explicit.gamma.is_some() || explicit.margin.is_some(),
        Knob::Lr => explicit.lr.is_some(),
        Knob::Epochs => explicit.epochs.is_some(),
        Knob::Patience => patience_given,
        _ => false,
    };
    Ok(space.iter().copied().filter(|p| !given(p.knob)).collect())
}

/// The knobs of `draw` (with `epochs`, successive halving's shorter fit, when given) with
/// `explicit` (the flags) laid over it.
pub fn knobs_over(draw: &Overrides, epochs: Option<usize>, explicit: &KgeKnobs) -> KgeKnobs {
    KgeKnobs {
        dim: explicit.dim.or(draw.dim),
        rel_dim: explicit.rel_dim,
        epochs: explicit.epochs.or(epochs).or(draw.epochs),
        negatives: explicit.negatives.or(draw.negatives),
        batch_size: explicit.batch_size,
        lr: explicit.lr.or(draw.lr),
        gamma: explicit.gamma.or(draw.gamma),
        margin: explicit.margin.or(draw.margin),
        norm: explicit.norm,
    }
}

/// The best validation MRR of `params` trained on `opts`'s benchmark (`None` when `stop` ended
/// the fit first). Nothing is written, test.txt is not read.
pub fn validation_mrr(
    opts: &TrainOptions,
    params: KgeParams,
    stop: &AtomicBool,
) -> Result<Option<f64>> {
    let opts = TrainOptions {
        params,
        out_dir: None,
        evaluate_test: false,
        ..opts.clone()
    };
    match embed::train_benchmark_until(&opts, &mut |_| {}, stop) {
        Ok(report) => Ok(Some(report.best_valid_mrr.unwrap_or(f64::NEG_INFINITY))),
        Err(RunError::Train(TrainError::Cancelled)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// What `kge train --tune` asks.
#[derive(Debug, Clone)]
pub struct KgeTuneRequest<'a> {
    /// `transe`, `rotate` or `transr`.
    pub model: &'a str,
    /// The space ([`kge_space`]).
    pub space: &'a [Param],
    /// Wall time of the search (the defaults' trial always runs in full).
    pub budget: Duration,
    /// At most this many draws besides the defaults.
    pub trials: Option<usize>,
    /// How the space is searched.
    pub search: Search,
    /// Seed of the draws (the fits take `opts.seed`).
    pub seed: u64,
}

/// Searches `request.space` on `opts`'s benchmark: every draw becomes parameters through
/// `params_of` (`kge train`'s flags laid over it), is trained on train.txt and scored by its best
/// validation MRR on valid.txt. The defaults (an empty draw) are the first trial.
pub fn tune_kge(
    request: &KgeTuneRequest<'_>,
    opts: &TrainOptions,
    params_of: &dyn Fn(&Overrides, Option<usize>) -> Result<KgeParams>,
    report: &mut dyn FnMut(&TrialReport<'_>),
    cancel: &AtomicBool,
) -> Result<SearchResult> {
    if params_of(&Overrides::default(), None)?.validates() {
        let mut evaluate = |draw: &Overrides, epochs: Option<usize>, stop: &AtomicBool| {
            validation_mrr(opts, params_of(draw, epochs)?, stop)
        };
        let evaluate: &mut Evaluate<'_> = &mut evaluate;
        return search_space(
            request.model,
            request.space,
            request.search,
            request.budget,
            request.trials,
            request.seed,
            evaluate,
            report,
            cancel,
        );
    }
    Err(Error::BadInput(
        "kge train --tune scores each draw by its validation MRR: --validate-every 0 turns \
         validation off; give a positive number or leave it out"
            .to_owned(),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn flags_given_leave_the_space_and_win_over_draws() {
        let none = KgeKnobs::default();
        let full = kge_space("transe", &none, false).unwrap();
        let knobs: Vec<Knob> = full.iter().map(|p| p.knob).collect();
        assert_eq!(
            knobs,
            [
                Knob::Dim,
                Knob::Negatives,
                Knob::Gamma,
                Knob::Lr,
                Knob::Epochs,
                Knob::Patience
            ]
        );
        assert!(
            kge_space("TransR", &none, false)
                .unwrap()
                .iter()
                .any(|p| p.knob == Knob::Margin)
        );
        let explicit = KgeKnobs {
            dim: Some(20),
            margin: Some(2.0),
            ..KgeKnobs::default()
        };
        let left: Vec<Knob> = kge_space("rotate", &explicit, true)
            .unwrap()
            .iter()
            .map(|p| p.knob)
            .collect();
        assert_eq!(left, [Knob::Negatives, Knob::Lr, Knob::Epochs]);
        let draw = Overrides {
            dim: Some(64),
            negatives: Some(8),
            gamma: Some(3.0),
            epochs: Some(100),
            ..Overrides::default()
        };
        let k = knobs_over(&draw, Some(12), &explicit);
        assert_eq!(
            (k.dim, k.negatives, k.gamma, k.margin, k.epochs),
            (Some(20), Some(8), Some(3.0), Some(2.0), Some(12))
        );
        assert!(kge_space("distmult", &none, false).is_err());
    }

    #[test]
    fn kge_knobs_print_as_kge_train_flags() {
        let draw = Overrides {
            dim: Some(32),
            negatives: Some(16),
            gamma: Some(6.0),
            patience: Some(2),
            ..Overrides::default()
        };
        assert_eq!(
            draw.flags(),
            "--dim 32 --negatives 16 --gamma 6 --patience 2"
        );
    }
}
