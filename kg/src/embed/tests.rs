//! End-to-end tests of the embedding pipeline on the shared benchmark folders (skipped when the
//! folders are absent, failed under `KGREC_REQUIRE_DATA=1`: [`crate::testdata`]), plus the
//! ignored release-mode benchmark used for `docs/kge-notes.md`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;

fn benchmark_dir(name: &str) -> Option<PathBuf> {
    crate::testdata::shared_dataset(&format!("kge/{name}"))
}

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Hyper-parameters from `KGE_*` environment variables, for tuning runs without recompiling.
fn params_from_env(default_model: &str) -> KgeParams {
    let model = std::env::var("KGE_MODEL").unwrap_or_else(|_| default_model.to_owned());
    let dim = env_or("KGE_DIM", 128);
    let base = match model.as_str() {
        "rotate" => RotatE::params().dim(dim),
        "transr" => TransR::params()
            .dim(dim)
            .rel_dim(env_or("KGE_REL_DIM", dim)),
        _ => TransE::params()
            .dim(dim)
            .norm(if env_or("KGE_NORM", 1) == 2 {
                Norm::L2
            } else {
                Norm::L1
            }),
    };
    let base = match std::env::var("KGE_LOSS").as_deref() {
        Ok("margin") => base.margin(env_or("KGE_MARGIN", 1.0)),
        _ => base
            .self_adversarial(env_or("KGE_GAMMA", 9.0), env_or("KGE_TEMP", 1.0))
            .entity_constraint(RowConstraint::None),
    };
    let base = match std::env::var("KGE_CONSTRAINT").as_deref() {
        Ok("sphere") => base.entity_constraint(RowConstraint::UnitSphere),
        Ok("ball") => base.entity_constraint(RowConstraint::UnitBall),
        Ok("none") => base.entity_constraint(RowConstraint::None),
        _ => base,
    };
    base.epochs(env_or("KGE_EPOCHS", 10))
        .batch_size(env_or("KGE_BATCH", 1024))
        .negatives(env_or("KGE_NEG", 32))
        .chunk_size(env_or("KGE_CHUNK", 32))
        .adam(env_or("KGE_LR", 1e-3))
        .sampler(if env_or("KGE_BERN", 1) == 1 {
            Sampler::Bernoulli
        } else {
            Sampler::Uniform
        })
        .validate_every(env_or("KGE_VALID_EVERY", 0))
        .valid_max(env_or("KGE_VALID_MAX", 0))
        .patience(env_or("KGE_PATIENCE", 3))
        .lr_decays(env_or("KGE_DECAYS", 0))
        .max_seconds(env_or("KGE_MAX_SECONDS", 0.0))
}

/// `KGE_DATASET=fb15k-237 KGE_MODEL=transe … cargo test -p kgrec-kg --release -- --ignored --nocapture kge_benchmark`
#[test]
#[ignore = "benchmark: minutes in release mode"]
fn kge_benchmark() {
    let name = std::env::var("KGE_DATASET").unwrap_or_else(|_| "fb15k-237".into());
    let Some(dir) = benchmark_dir(&name) else {
        return;
    };
    let opts = TrainOptions {
        dataset_dir: dir.clone(),
        out_dir: std::env::var("KGE_OUT").ok().map(PathBuf::from),
        params: params_from_env("transe"),
        seed: env_or("KGE_SEED", 1),
        threads: env_or("KGE_THREADS", 0),
        evaluate_test: env_or("KGE_TEST", 0) == 1,
    };
    eprintln!("{name}: {:?}", opts.params);
    let report = train_benchmark(&opts, &mut |e: &EpochReport| {
        eprintln!(
            "epoch {} loss {:.4} {:.0} triples/s {:.2} s valid_mrr {:?}",
            e.epoch,
            e.loss,
            e.triples_per_sec.unwrap_or_default(),
            e.seconds,
            e.valid_mrr
        );
    })
    .unwrap();
    eprintln!(
        "train_seconds {:.1} best_epoch {:?} best_valid_mrr {:?} eval_seconds {:?}",
        report.train_seconds, report.best_epoch, report.best_valid_mrr, report.eval_seconds
    );
    if let Some(t) = report.test {
        eprintln!("test {}", serde_json::to_string(&t).unwrap());
    }
}

#[test]
fn umls_models_learn() {
    let Some(dir) = benchmark_dir("umls") else {
        return;
    };
    let data = Dataset::load(&dir).unwrap();
    let filter = FilterIndex::new(data.all_triples());
    // Small settings picked on valid.txt so that the debug-build test stays within seconds.
    let quick = |p: KgeParams| {
        p.dim(16)
            .negatives(16)
            .batch_size(256)
            .adam(0.02)
            .epochs(15)
    };
    for params in [
        quick(
            TransE::params()
                .self_adversarial(6.0, 1.0)
                .entity_constraint(RowConstraint::None),
        ),
        quick(RotatE::params().self_adversarial(6.0, 1.0)),
        // TransR projects every candidate: smaller still, for the unoptimised test build.
        TransR::params()
            .dim(8)
            .negatives(8)
            .batch_size(256)
            .adam(0.05)
            .epochs(6),
    ] {
        let t0 = std::time::Instant::now();
        let params = params.check().unwrap();
        let fit = params
            .fit(&data, &mut ChaCha8Rng::seed_from_u64(7), &mut |_| {})
            .unwrap();
        let report = evaluate(&fit.model, &data.test, &filter);
        eprintln!(
            "umls {:?} {:.1} s {report:?}",
            params.kind(),
            t0.elapsed().as_secs_f64()
        );
        // Random ranking gives MRR ≈ 0.04 on UMLS's 135 entities.
        assert!(report.both.mrr > 0.3, "{:?} {report:?}", params.kind());
    }
}

/// `KGE_DATASET=umls KGE_MODEL_DIR=/tmp/out cargo test -p kgrec-kg --release -- --ignored --nocapture kge_eval_export`
#[test]
#[ignore = "evaluates an export named by KGE_MODEL_DIR"]
fn kge_eval_export() {
    let name = std::env::var("KGE_DATASET").unwrap_or_else(|_| "umls".into());
    let (Some(dir), Ok(model_dir)) = (benchmark_dir(&name), std::env::var("KGE_MODEL_DIR")) else {
        eprintln!("skipping: set KGE_MODEL_DIR");
        return;
    };
    let report = evaluate_export(&dir, std::path::Path::new(&model_dir)).unwrap();
    eprintln!("export {}", serde_json::to_string(&report).unwrap());
}
