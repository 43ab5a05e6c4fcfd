#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::gradients::{
    Ctx, Scratch, SparseGrad, chunk_gradient, loss_and_coefs, projection_penalty,
};
use super::init::init_model;
use super::sampling::corruption_probabilities;
use super::*;
use crate::embed::dataset::Dataset;
use crate::embed::eval::{FilterIndex, evaluate};
use crate::embed::model::{KgeModel, Matrix, ModelKind, Norm, Side};
use crate::ids::{EntityId, RelationId, Triple};

fn t(h: u32, r: u32, tl: u32) -> Triple {
    Triple::new(EntityId(h), RelationId(r), EntityId(tl))
}

/// The loss of one positive with the given side and negatives, straight from the model.
fn reference_loss(model: &KgeModel, loss: Loss, pos: Triple, side: Side, negs: &[u32]) -> f64 {
    let w = model.space_dim();
    let (anchor, target) = match side {
        Side::Tail => (pos.head, pos.tail),
        Side::Head => (pos.tail, pos.head),
    };
    let mut q = vec![0.0; w];
    model.query(side, anchor, pos.relation, &mut q);
    let mut buf = vec![0.0; w];
    let d_pos = model.dist(&q, model.candidate(target, pos.relation, &mut buf));
    let dist: Vec<f32> = negs
        .iter()
        .map(|&e| {
            let mut b = vec![0.0; w];
            model.dist(&q, model.candidate(EntityId(e), pos.relation, &mut b))
        })
        .collect();
    let valid: Vec<bool> = negs.iter().map(|&e| e != target.0).collect();
    let mut coef = vec![0.0; negs.len()];
    let mut l = f64::from(loss_and_coefs(loss, d_pos, &dist, &valid, &mut coef).0);
    if model.projection.is_some() {
        for e in [anchor.0, target.0].iter().chain(negs) {
            let mut b = vec![0.0; w];
            l += f64::from(
                projection_penalty(model.candidate(EntityId(*e), pos.relation, &mut b)).0,
            );
        }
    }
    l
}

fn dense(g: &SparseGrad, rows: usize, width: usize) -> Vec<f32> {
    let mut out = vec![0.0; rows * width];
    if width == 0 {
        return out;
    }
    for (&r, d) in g.rows.iter().zip(g.data.chunks_exact(width)) {
        for (o, v) in out[r as usize * width..].iter_mut().zip(d) {
            *o += v;
        }
    }
    out
}

#[test]
fn large_graphs_get_the_settings_validated_on_fb15k_237() {
    let small = KgeParams::tuned("transe").unwrap();
    assert_eq!(KgeParams::tuned_for("transe", 135), Some(small.clone()));
    let large = KgeParams::tuned_for("transe", 14_541).unwrap();
    assert_eq!(large.dim, 256);
    assert_eq!(large.negatives, 64);
    assert_eq!(large.valid_max, 3000);
    assert_eq!(large.epochs, 150);
    assert_eq!(
        large.loss,
        Loss::SelfAdversarial {
            gamma: 9.0,
            temperature: 1.0
        }
    );
    large.check().unwrap();
    let rotate = KgeParams::tuned_for("rotate", LARGE_GRAPH_ENTITIES).unwrap();
    assert_eq!((rotate.dim, rotate.lr_decays, rotate.patience), (256, 2, 2));
    rotate.check().unwrap();
    // TransR was not validated on a large graph: its settings stay.
    assert_eq!(
        KgeParams::tuned_for("transr", 50_000),
        KgeParams::tuned("transr")
    );
}

#[test]
fn tuned_defaults_exist_for_every_model_and_validate() {
    for (name, kind) in [
        ("transe", "transe"),
        ("RotatE", "rotate"),
        ("transr", "transr"),
    ] {
        let p = KgeParams::tuned(name).unwrap();
        assert_eq!(p.kind.name(), kind);
        assert!(
            p.validate_every > 0,
            "{name}: early stopping needs validation"
        );
        p.check().unwrap();
    }
    assert!(KgeParams::tuned("distmult").is_none());
    // TransR follows the tuned entity dimension unless rel_dim is set.
    let p = KgeParams::tuned("transr").unwrap().dim(12);
    assert_eq!(
        p.kind,
        ModelKind::TransR {
            norm: Norm::L1,
            rel_dim: 12
        }
    );
}

/// Analytic gradients of `chunk_gradient` against central finite differences, for every
/// model, both corrupted sides and both losses (self-adversarial at temperature 0, where the
/// held-constant weights are exactly uniform, so the analytic gradient is the true one).
#[test]
fn gradients_match_finite_differences() {
    let kinds = [
        ModelKind::TransE { norm: Norm::L1 },
        ModelKind::TransE { norm: Norm::L2 },
        ModelKind::RotatE,
        ModelKind::TransR {
            norm: Norm::L2,
            rel_dim: 3,
        },
    ];
    let losses = [
        Loss::SelfAdversarial {
            gamma: 2.0,
            temperature: 0.0,
        },
        Loss::MarginRanking { margin: 20.0 },
    ];
    let data = Dataset::from_triples(6, 2, vec![t(0, 1, 2)], vec![], vec![]).unwrap();
    for kind in kinds {
        for loss in losses {
            for (side, head_prob) in [(Side::Tail, 0.0), (Side::Head, 1.0)] {
                let p = KgeParams::new(kind).dim(4).loss(loss).negatives(3);
                let p = match kind {
                    ModelKind::TransR { .. } => p.rel_dim(3),
                    _ => p,
                };
                let mut rng = ChaCha8Rng::seed_from_u64(3);
                let mut model = init_model(&p, 6, 2, &mut rng);
                if let Some(proj) = &mut model.projection {
                    for v in proj.as_mut_slice() {
                        *v += rng.random_range(-0.5..0.5);
                    }
                    // Long enough entities that the projection-norm penalty is active.
                    for v in model.entity.as_mut_slice() {
                        *v *= 3.0;
                    }
                }
                let hp = [head_prob; 2];
                let ctx = Ctx {
                    p: &p,
                    head_prob: &hp,
                    train_filter: None,
                    num_entities: 6,
                };
                let mut s = Scratch::new(&model, &p);
                let g = chunk_gradient(
                    &ctx,
                    &model,
                    &model.rotation_table(),
                    &data,
                    &[0],
                    1.0,
                    &mut rng,
                    &mut s,
                );
                let negs = s.negs.clone();
                let pos = data.train[0];
                let l0 = reference_loss(&model, loss, pos, side, &negs);
                if model.projection.is_some() {
                    // The soft ‖M_r e‖ ≤ 1 penalty is part of what is checked.
                    let mut b = vec![0.0; 3];
                    assert!(projection_penalty(model.candidate(pos.tail, pos.relation, &mut b)).1);
                }
                assert!((g.loss - l0).abs() < 1e-4, "{kind:?} {loss:?} {side:?}");
                let analytic = [
                    dense(&g.entity, 6, model.entity.cols()),
                    dense(&g.relation, 2, model.relation.cols()),
                    dense(
                        &g.projection,
                        2,
                        model.projection.as_ref().map_or(0, Matrix::cols),
                    ),
                ];
                for (which, grad) in analytic.iter().enumerate() {
                    for (i, &a) in grad.iter().enumerate() {
                        let eps = 1e-2;
                        let at = |delta: f32| {
                            let mut m = model.clone();
                            let params = match which {
                                0 => m.entity.as_mut_slice(),
                                1 => m.relation.as_mut_slice(),
                                _ => m.projection.as_mut().unwrap().as_mut_slice(),
                            };
                            params[i] += delta;
                            reference_loss(&m, loss, pos, side, &negs)
                        };
                        let numeric = (at(eps) - at(-eps)) / (2.0 * f64::from(eps));
                        assert!(
                            (numeric - f64::from(a)).abs() < 2e-2 * (1.0 + numeric.abs()),
                            "{kind:?} {loss:?} {side:?} param {which}[{i}]: analytic {a} numeric {numeric}"
                        );
                    }
                }
            }
        }
    }
}

/// 40 entities on a line; relation r moves a head r + 1 steps (a pattern translations can
/// learn), plus 30 random noise triples; shuffled, 10 % valid, 10 % test.
fn random_graph(seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut triples: Vec<Triple> = (0..40u32)
        .flat_map(|h| {
            (0..3u32)
                .filter(move |r| h + r + 1 < 40)
                .map(move |r| t(h, r, h + r + 1))
        })
        .collect();
    for _ in 0..30 {
        triples.push(t(
            rng.random_range(0..40),
            rng.random_range(0..3),
            rng.random_range(0..40),
        ));
    }
    triples.sort();
    triples.dedup();
    triples.shuffle(&mut rng);
    let n = triples.len() / 10;
    let test = triples.split_off(triples.len() - n);
    let valid = triples.split_off(triples.len() - n);
    Dataset::from_triples(40, 3, triples, valid, test).unwrap()
}

fn fit_with_threads(p: &CheckedParams, data: &Dataset, seed: u64, threads: usize) -> FitResult {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        p.fit(data, &mut ChaCha8Rng::seed_from_u64(seed), &mut |_| {})
            .unwrap()
    })
}

#[test]
fn same_seed_same_model_for_any_thread_count() {
    let data = random_graph(1);
    for params in [
        TransE::params().filtered_negatives(true),
        RotatE::params().adagrad(0.05),
        TransR::params().dim(8).rel_dim(4),
    ] {
        let p = params
            .dim(8)
            .epochs(3)
            .batch_size(64)
            .chunk_size(8)
            .negatives(4)
            .check()
            .unwrap();
        let a = fit_with_threads(&p, &data, 42, 1);
        let b = fit_with_threads(&p, &data, 42, 2);
        let c = fit_with_threads(&p, &data, 42, 2);
        assert_eq!(a.model, b.model, "{:?}", p.kind());
        assert_eq!(b.model, c.model);
        assert_eq!(
            a.epochs.iter().map(|e| e.loss).collect::<Vec<_>>(),
            b.epochs.iter().map(|e| e.loss).collect::<Vec<_>>()
        );
        let other = fit_with_threads(&p, &data, 43, 2);
        assert_ne!(a.model, other.model);
    }
}

/// Small self-adversarial TransE validated every 2 epochs with patience 2.
fn validated_transe(lr: f32, epochs: usize) -> KgeParams {
    TransE::params()
        .dim(16)
        .self_adversarial(4.0, 1.0)
        .entity_constraint(RowConstraint::None)
        .adam(lr)
        .batch_size(16)
        .chunk_size(4)
        .epochs(epochs)
        .validate_every(2)
        .patience(2)
}

#[test]
fn early_stopping_keeps_the_best_validated_model() {
    let data = random_graph(2);
    let p = validated_transe(0.02, 40).check().unwrap();
    let mut seen = Vec::new();
    let fit = p
        .fit(&data, &mut ChaCha8Rng::seed_from_u64(5), &mut |e| {
            seen.push(*e)
        })
        .unwrap();
    assert_eq!(seen, fit.epochs);
    let mrrs: Vec<f64> = fit.epochs.iter().filter_map(|e| e.valid_mrr).collect();
    let best = mrrs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(fit.best_valid_mrr, Some(best));
    let filter = FilterIndex::new(data.all_triples());
    assert_eq!(evaluate(&fit.model, &data.valid, &filter).both.mrr, best);
    if fit.epochs.len() < 40 {
        // Stopped early: the last `patience` validations did not improve.
        assert!(mrrs[mrrs.len() - 2..].iter().all(|&m| m < best));
    }
}

#[test]
fn plateau_decay_continues_where_early_stopping_would_end() {
    let data = random_graph(2);
    let p = validated_transe(0.05, 200);
    let run = |p: KgeParams| {
        p.check()
            .unwrap()
            .fit(&data, &mut ChaCha8Rng::seed_from_u64(5), &mut |_| {})
            .unwrap()
    };
    let plain = run(p.clone());
    let decayed = run(p.clone().lr_decays(1));
    let n = plain.epochs.len();
    assert!(
        n < 200,
        "the plain run must stop early for this test to mean anything"
    );
    // Identical up to the plateau (same seed, same steps), then it goes on at a tenth of
    // the learning rate for at least `patience` more validations.
    let trace = |f: &FitResult, k: usize| -> Vec<(usize, f64, Option<f64>)> {
        f.epochs[..k]
            .iter()
            .map(|e| (e.epoch, e.loss, e.valid_mrr))
            .collect()
    };
    assert_eq!(trace(&plain, n), trace(&decayed, n));
    assert!(decayed.epochs.len() >= n + 4);
    assert!(decayed.best_valid_mrr >= plain.best_valid_mrr);
    // A second run of the decayed schedule gives the same model.
    assert_eq!(run(p.lr_decays(1)).model, decayed.model);
}

#[test]
fn check_rejects_bad_params() {
    assert!(TransE::params().dim(0).check().is_err());
    assert!(TransE::params().adam(-1.0).check().is_err());
    assert!(TransE::params().margin(f32::NAN).check().is_err());
    assert!(
        RotatE::params()
            .self_adversarial(9.0, -1.0)
            .check()
            .is_err()
    );
    assert!(TransE::params().chunk_size(0).check().is_err());
    assert!(TransR::params().rel_dim(0).check().is_err());
    assert!(TransE::params().check().is_ok());
    for name in ["transe", "RotatE", "transr"] {
        let p = KgeParams::named(name).unwrap().check().unwrap();
        assert_eq!(p.kind().name(), name.to_ascii_lowercase());
    }
    assert!(KgeParams::named("distmult").is_none());
}

#[test]
fn bernoulli_prefers_corrupting_the_many_side() {
    // Relation 0 is one-to-many (one head, three tails): tph = 3, hpt = 1 → corrupt heads 3/4.
    let data = Dataset::from_triples(
        4,
        1,
        vec![t(0, 0, 1), t(0, 0, 2), t(0, 0, 3)],
        vec![],
        vec![],
    )
    .unwrap();
    assert_eq!(
        corruption_probabilities(&data, Sampler::Bernoulli),
        vec![0.75]
    );
    assert_eq!(corruption_probabilities(&data, Sampler::Uniform), vec![0.5]);
}

#[test]
fn constraints_hold_after_training() {
    let data = random_graph(3);
    let fit = |p: KgeParams| {
        p.dim(8)
            .epochs(2)
            .batch_size(64)
            .check()
            .unwrap()
            .fit(&data, &mut ChaCha8Rng::seed_from_u64(1), &mut |_| {})
            .unwrap()
    };
    let squared_norm = |row: &[f32]| row.iter().map(|v| v * v).sum::<f32>();
    let transe = fit(TransE::params());
    for e in 0..40 {
        assert!((squared_norm(transe.model.entity.row(e)).sqrt() - 1.0).abs() < 1e-4);
    }
    let transr = fit(TransR::params().rel_dim(4));
    for m in [&transr.model.entity, &transr.model.relation] {
        for r in 0..m.rows() {
            assert!(squared_norm(m.row(r)) <= 1.0 + 1e-4);
        }
    }
}
