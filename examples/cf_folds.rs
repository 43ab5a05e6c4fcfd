//! Fits implicit ALS, BPR-MF and popularity on the ml-100k folds (or on a validation split carved
//! from fold0's train), writes each fold's top-K batch file, scores it with `kgrec::metrics`, and
//! prints fit and recommend wall times. The hyper-parameter defaults are the library's, which were
//! chosen with `--validate` (never on the test files).
//!
//! ```text
//! cargo run --release --example cf_folds -- --folds ../shared/datasets/ml-100k/folds --out-dir target/cf-folds
//! cargo run --release --example cf_folds -- --validate --models als --als-factors 32
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use kgrec::cf::{
    Als, Bpr, InteractionMatrix, Popularity, Recommender, recommend_named, write_batch,
};
use kgrec::interactions::{Format, parse_file};
use kgrec::metrics::{by_user, evaluate};
use rand::SeedableRng;
use rand::seq::SliceRandom;

#[derive(Parser, Debug)]
struct Args {
    /// Folder with fold{k}/{train,test}.tsv.
    #[arg(long, default_value = "../shared/datasets/ml-100k/folds")]
    folds: PathBuf,
    /// Folds to run.
    #[arg(long, value_delimiter = ',', default_value = "0,1,2,3,4")]
    fold: Vec<usize>,
    /// Models to fit: als, bpr, pop.
    #[arg(long, value_delimiter = ',', default_value = "als,bpr")]
    models: Vec<String>,
    /// Instead of the test files, hold out 10% of each user's fold0 train rows and score on those.
    #[arg(long)]
    validate: bool,
    /// Where the batch files go.
    #[arg(long, default_value = "target/cf-folds")]
    out_dir: PathBuf,
    #[arg(short, default_value_t = 20)]
    k: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, default_value_t = 16)]
    als_factors: usize,
    #[arg(long, default_value_t = 30.0)]
    als_reg: f32,
    #[arg(long, default_value_t = 4.0)]
    als_alpha: f32,
    #[arg(long, default_value_t = 15)]
    als_iters: usize,
    #[arg(long, default_value_t = 64)]
    bpr_factors: usize,
    #[arg(long, default_value_t = 0.02)]
    bpr_lr: f32,
    #[arg(long, default_value_t = 0.02)]
    bpr_reg: f32,
    #[arg(long, default_value_t = 300)]
    bpr_iters: usize,
}

/// (user, item) rows with external ids.
type Pairs = Vec<(String, String)>;

fn pairs(path: &Path) -> Pairs {
    let parsed = parse_file(path, Some(Format::Tsv)).unwrap_or_else(|e| panic!("{e}"));
    parsed.rows.into_iter().map(|r| (r.user, r.item)).collect()
}

/// Holds out ⌊10%⌋ (at least one, when the user has two or more) of each user's rows, seeded.
fn validation_split(rows: Pairs, seed: u64) -> (Pairs, Pairs) {
    let mut per_user: HashMap<String, Vec<String>> = HashMap::new();
    let mut order = Vec::new();
    for (u, i) in rows {
        if !per_user.contains_key(&u) {
            order.push(u.clone());
        }
        per_user.entry(u).or_default().push(i);
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (mut train, mut valid) = (Vec::new(), Vec::new());
    for u in order {
        let mut items = per_user.remove(&u).unwrap_or_default();
        items.shuffle(&mut rng);
        let hold = if items.len() >= 2 {
            (items.len() / 10).max(1)
        } else {
            0
        };
        for (n, i) in items.into_iter().enumerate() {
            if n < hold {
                valid.push((u.clone(), i))
            } else {
                train.push((u.clone(), i))
            }
        }
    }
    (train, valid)
}

fn main() {
    let a = Args::parse();
    std::fs::create_dir_all(&a.out_dir).unwrap();
    let splits: Vec<(String, Pairs, Pairs)> = if a.validate {
        let (train, valid) = validation_split(pairs(&a.folds.join("fold0/train.tsv")), 12345);
        vec![("fold0-valid".to_owned(), train, valid)]
    } else {
        a.fold
            .iter()
            .map(|k| {
                let dir = a.folds.join(format!("fold{k}"));
                (
                    format!("fold{k}"),
                    pairs(&dir.join("train.tsv")),
                    pairs(&dir.join("test.tsv")),
                )
            })
            .collect()
    };
    println!("threads {}", rayon::current_num_threads());
    println!("split\tmodel\tfit_s\trecommend_s\tndcg@10\tmap@10\trecall@20\tfinal_loss");
    let mut sums: HashMap<String, (usize, [f64; 5])> = HashMap::new();
    for (name, train_rows, test_rows) in &splits {
        let matrix =
            InteractionMatrix::from_pairs(train_rows.iter().map(|(u, i)| (u.as_str(), i.as_str())))
                .unwrap();
        let test = by_user(test_rows.iter().map(|(u, i)| (u.clone(), i.clone())));
        let train = by_user(train_rows.iter().map(|(u, i)| (u.clone(), i.clone())));
        let mut test_users: Vec<&String> = Vec::new();
        let mut seen = HashSet::new();
        for (u, _) in test_rows {
            if seen.insert(u) {
                test_users.push(u);
            }
        }
        for model_name in &a.models {
            let mut last_loss = f64::NAN;
            let t0 = Instant::now();
            let model: Box<dyn Recommender> = match model_name.as_str() {
                "als" => Box::new(
                    Als::params()
                        .factors(a.als_factors)
                        .regularization(a.als_reg)
                        .alpha(a.als_alpha)
                        .iterations(a.als_iters)
                        .fit(&matrix, a.seed, |r| last_loss = r.loss)
                        .unwrap(),
                ),
                "bpr" => Box::new(
                    Bpr::params()
                        .factors(a.bpr_factors)
                        .learning_rate(a.bpr_lr)
                        .regularization(a.bpr_reg)
                        .iterations(a.bpr_iters)
                        .fit(&matrix, a.seed, |r| last_loss = r.loss)
                        .unwrap(),
                ),
                "pop" => Box::new(Popularity::fit(&matrix)),
                other => panic!("unknown model {other}"),
            };
            let fit_s = t0.elapsed().as_secs_f64();

            let t0 = Instant::now();
            // Users absent from train get the popularity list, as the peer script does.
            let lists = recommend_named(
                model.as_ref(),
                &matrix,
                test_users.iter().map(|u| u.as_str()),
                a.k,
            );
            let rec_s = t0.elapsed().as_secs_f64();

            let path = a.out_dir.join(format!("{name}-{model_name}.tsv"));
            write_batch(BufWriter::new(File::create(&path).unwrap()), &lists).unwrap();
            let recs: HashMap<String, Vec<String>> = lists
                .into_iter()
                .map(|r| (r.user, r.items.into_iter().map(|(i, _)| i).collect()))
                .collect();
            let e = evaluate(&recs, &test, Some(&train), &[10, 20]);
            let (at10, at20) = (e.at(10).unwrap(), e.at(20).unwrap());
            println!(
                "{name}\t{model_name}\t{fit_s:.3}\t{rec_s:.3}\t{:.4}\t{:.4}\t{:.4}\t{last_loss:.5}",
                at10.mean.ndcg, at10.mean.map, at20.mean.recall
            );
            let entry = sums.entry(model_name.clone()).or_insert((0, [0.0; 5]));
            entry.0 += 1;
            for (s, v) in entry.1.iter_mut().zip([
                fit_s,
                rec_s,
                at10.mean.ndcg,
                at10.mean.map,
                at20.mean.recall,
            ]) {
                *s += v;
            }
        }
    }
    for m in &a.models {
        if let Some((n, s)) = sums.get(m) {
            let n = *n as f64;
            println!(
                "mean\t{m}\t{:.3}\t{:.3}\t{:.4}\t{:.4}\t{:.4}",
                s[0] / n,
                s[1] / n,
                s[2] / n,
                s[3] / n,
                s[4] / n
            );
        }
    }
}
