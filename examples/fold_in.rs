//! Users who arrive after training, measured on an ml-100k fold: a seeded random choice of test
//! users loses every training row; the graph and the other training rows are imported (with the
//! links) and a model is trained; then the chosen users' training rows arrive through
//! [`Engine::add_interactions`] and each user's top-20 (without their training items) is ranked
//! three ways, all scored on their test items with [`kgrec::metrics::evaluate`]:
//!
//! - fold-in: the model as trained, which folds the newcomers in (`ListSource::FoldedIn`);
//! - popularity: what they got before fold-in, the most popular items they do not have (`pop`
//!   trained on the same store);
//! - retrain: the model trained again on the store with their rows (they are trained users).
//!
//! It also times the fold-in (a request of a folded-in user) against the retrain, and prints the
//! means ± standard errors over the seeds of the choice as `docs/benchmarks.md` shows them.
//!
//! ```text
//! cargo run --release --example fold_in -- --folds ../shared/datasets/ml-100k/folds \
//!     --users 100 --seeds 0,1,2,3,4 --models cke,als
//! ```

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::bail;
use clap::Parser;
use kgrec::interactions::{ItemLink, RawInteraction, parse_file, parse_link_file};
use kgrec::kg::ImportOptions;
use kgrec::metrics::{Evaluation, by_user, evaluate};
use kgrec::serving::ListSource;
use kgrec::{Engine, ModelSpec, Overrides, RecommendRequest, TrainRequest};
use rand::SeedableRng;
use rand::seq::SliceRandom;

/// The length of every list.
const K: usize = 20;
/// The metrics of the summary table.
const KEYS: [&str; 4] = ["ndcg@10", "map@10", "recall@20", "hit@10"];

#[derive(Parser, Debug)]
struct Args {
    /// Folder with fold{k}/{train,test}.tsv.
    #[arg(long, default_value = "../shared/datasets/ml-100k/folds")]
    folds: PathBuf,
    /// The fold.
    #[arg(long, default_value_t = 0)]
    fold: usize,
    /// The knowledge graph.
    #[arg(long, default_value = "../shared/datasets/ml-100k/kg-dbpedia.nt")]
    kg: PathBuf,
    /// The item links (`item_id<TAB>iri`).
    #[arg(long, default_value = "../shared/datasets/ml-100k/link-dbpedia.tsv")]
    link: PathBuf,
    /// How many test-set users arrive after training.
    #[arg(long, default_value_t = 100)]
    users: usize,
    /// Seeds of the choice of users, one run each.
    #[arg(long, value_delimiter = ',', default_value = "0,1,2,3,4")]
    seeds: Vec<u64>,
    /// Learners (default parameters) to fold in with and to retrain.
    #[arg(long, value_delimiter = ',', default_value = "cke,als")]
    models: Vec<String>,
    /// The seed of every training.
    #[arg(long, default_value_t = 0)]
    train_seed: u64,
}

/// The training and test rows of one fold, the links and the graph file.
struct Data {
    train: Vec<RawInteraction>,
    test: Vec<RawInteraction>,
    links: Vec<ItemLink>,
    kg: PathBuf,
}

/// The newcomers of one seed: who they are, their training rows and what they are scored on.
struct Newcomers {
    users: Vec<String>,
    rows: Vec<RawInteraction>,
    base: Vec<RawInteraction>,
    test: HashMap<String, HashSet<String>>,
    train: HashMap<String, HashSet<String>>,
}

/// The lists of the newcomers from the current model and how long each request took.
struct Ranked {
    recs: HashMap<String, Vec<String>>,
    ms: Vec<f64>,
    sources: HashMap<&'static str, usize>,
}

/// One (seed, learner) run.
struct Run {
    fold_in: Evaluation,
    popularity: Evaluation,
    retrain: Evaluation,
    fit_s: f64,
    add_s: f64,
    bind_s: f64,
    fold_in_ms: f64,
    retrain_s: f64,
    trained_ms: f64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = args.folds.join(format!("fold{}", args.fold));
    let files = [
        dir.join("train.tsv"),
        dir.join("test.tsv"),
        args.kg.clone(),
        args.link.clone(),
    ];
    if let Some(missing) = files.iter().find(|f| !f.exists()) {
        println!(
            "skipping: {} not found (the ml-100k folds, graph and links are not here; give \
             --folds, --kg and --link)",
            missing.display()
        );
        return Ok(());
    }
    if args.users == 0 || args.seeds.is_empty() || args.models.is_empty() {
        bail!("give --users of at least 1, a seed and a model");
    }
    let data = Data {
        train: parse_file(&files[0], None)?.rows,
        test: parse_file(&files[1], None)?.rows,
        links: parse_link_file(&args.link)?,
        kg: args.kg.clone(),
    };

    let mut runs: HashMap<String, Vec<Run>> = HashMap::new();
    for &seed in &args.seeds {
        let newcomers = choose(&data, args.users, seed)?;
        for model in &args.models {
            let run = run(&data, &newcomers, model, args.train_seed)?;
            println!(
                "seed {seed} {model}: nDCG@10 fold-in {:.4} popularity {:.4} retrain {:.4}; \
                 fit {:.2} s, add {:.3} s, bind {:.3} s, fold-in request {:.3} ms (median), retrain \
                 {:.2} s, trained request {:.3} ms",
                metric(&run.fold_in, "ndcg@10"),
                metric(&run.popularity, "ndcg@10"),
                metric(&run.retrain, "ndcg@10"),
                run.fit_s,
                run.add_s,
                run.bind_s,
                run.fold_in_ms,
                run.retrain_s,
                run.trained_ms,
            );
            runs.entry(model.clone()).or_default().push(run);
        }
    }
    summarise(&args, &runs);
    Ok(())
}

/// `args.users` distinct test users chosen with `seed` (from the sorted test users), their rows
/// split off the training rows.
fn choose(data: &Data, n: usize, seed: u64) -> anyhow::Result<Newcomers> {
    let all: BTreeSet<&str> = data.test.iter().map(|r| r.user.as_str()).collect();
    if all.len() < n {
        bail!("--users {n}: the test file has only {} users", all.len());
    }
    let mut users: Vec<String> = all.into_iter().map(str::to_owned).collect();
    users.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    users.truncate(n);
    let chosen: HashSet<&str> = users.iter().map(String::as_str).collect();
    let (rows, base): (Vec<RawInteraction>, Vec<RawInteraction>) = data
        .train
        .iter()
        .cloned()
        .partition(|r| chosen.contains(r.user.as_str()));
    let pairs = |rows: &[RawInteraction]| {
        by_user(
            rows.iter()
                .filter(|r| chosen.contains(r.user.as_str()))
                .map(|r| (r.user.clone(), r.item.clone())),
        )
    };
    Ok(Newcomers {
        test: pairs(&data.test),
        train: pairs(&rows),
        users,
        rows,
        base,
    })
}

/// Trains `model` without the newcomers, adds them, and scores fold-in, popularity and retrain.
fn run(data: &Data, new: &Newcomers, model: &str, train_seed: u64) -> anyhow::Result<Run> {
    let tmp = tempfile::tempdir()?;
    let engine = Engine::create(&tmp.path().join("data"))?;
    engine.import_kg(
        std::slice::from_ref(&data.kg),
        &ImportOptions::default(),
        &mut |_| {},
    )?;
    engine.add_interactions(new.base.clone(), data.links.clone())?;
    let fit_s = train(&engine, model, train_seed)?;

    let start = Instant::now();
    engine.add_interactions(new.rows.clone(), Vec::new())?;
    let add_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    engine.served()?;
    let bind_s = start.elapsed().as_secs_f64();
    let fold_in = rank(&engine, &new.users)?;
    expect_source(&fold_in, "folded-in", model)?;

    train(&engine, "pop", train_seed)?;
    let popularity = rank(&engine, &new.users)?;
    expect_source(&popularity, "model", "pop")?;

    let retrain_s = train(&engine, model, train_seed)?;
    engine.served()?;
    let retrain = rank(&engine, &new.users)?;
    expect_source(&retrain, "model", model)?;

    let score = |r: &Ranked, what: &str| {
        let e = evaluate(
            &r.recs,
            &new.test,
            Some(&new.train),
            &HashSet::new(),
            &[10, 20],
        );
        if e.train_leaks + e.duplicates > 0 || e.users_with_list != e.users {
            bail!(
                "{model} {what}: {} training items and {} repeats in the lists, {} of {} users \
                 with a list",
                e.train_leaks,
                e.duplicates,
                e.users_with_list,
                e.users
            );
        }
        Ok(e)
    };
    Ok(Run {
        fold_in: score(&fold_in, "fold-in")?,
        popularity: score(&popularity, "popularity")?,
        retrain: score(&retrain, "retrain")?,
        fit_s,
        add_s,
        bind_s,
        fold_in_ms: median(&fold_in.ms),
        retrain_s,
        trained_ms: median(&retrain.ms),
    })
}

/// Trains `model` (default parameters) and returns the wall time of the training.
fn train(engine: &Engine, model: &str, seed: u64) -> anyhow::Result<f64> {
    let request = TrainRequest {
        spec: ModelSpec::new(model, &Overrides::default())?,
        seed,
        keep: 3,
        ..TrainRequest::default()
    };
    let start = Instant::now();
    engine.train(&request, &mut |_| {}, &AtomicBool::new(false))?;
    Ok(start.elapsed().as_secs_f64())
}

/// Each user's top-`K` from the current model, one request at a time.
fn rank(engine: &Engine, users: &[String]) -> anyhow::Result<Ranked> {
    let mut out = Ranked {
        recs: HashMap::with_capacity(users.len()),
        ms: Vec::with_capacity(users.len()),
        sources: HashMap::new(),
    };
    for user in users {
        let start = Instant::now();
        let recs = engine.recommend(&RecommendRequest::new(user, K))?;
        out.ms.push(start.elapsed().as_secs_f64() * 1e3);
        let source = match recs.source {
            ListSource::Model => "model",
            ListSource::FoldedIn => "folded-in",
            ListSource::Popularity => "popularity",
        };
        *out.sources.entry(source).or_default() += 1;
        out.recs.insert(
            user.clone(),
            recs.items.into_iter().map(|i| i.item).collect(),
        );
    }
    Ok(out)
}

/// Every list of `ranked` rests on `source`.
fn expect_source(ranked: &Ranked, source: &str, model: &str) -> anyhow::Result<()> {
    if ranked.sources.len() != 1 || !ranked.sources.contains_key(source) {
        bail!(
            "{model}: expected every list to be {source}, got {:?}",
            ranked.sources
        );
    }
    Ok(())
}

fn metric(e: &Evaluation, key: &str) -> f64 {
    e.get(key).unwrap_or(f64::NAN)
}

/// The median (the upper one of an even count), robust to a request slowed by other processes.
fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

/// `mean ± standard error` (the sample deviation over √n), or the value alone for one run;
/// `signed` writes the sign of the mean.
fn mean_se(xs: &[f64], digits: usize, signed: bool) -> String {
    let m = mean(xs);
    let m = if signed {
        format!("{m:+.digits$}").replace('-', "−")
    } else {
        format!("{m:.digits$}")
    };
    if xs.len() < 2 {
        return m;
    }
    let var = xs.iter().map(|x| (x - mean(xs)).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
    let se = (var / xs.len() as f64).sqrt();
    format!("{m} ± {se:.digits$}")
}

/// The tables of `docs/benchmarks.md`: quality of the three lists, paired differences, times.
fn summarise(args: &Args, runs: &HashMap<String, Vec<Run>>) {
    let seeds = args
        .seeds
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    println!(
        "\n{} users of fold{} arriving after training, seeds {seeds} of the choice, training \
         seed {}, top-{K}; mean ± standard error over the seeds (request times: the median \
         of each run)\n",
        args.users, args.fold, args.train_seed
    );
    println!("| model | list | {} |", KEYS.join(" | "));
    println!("|---|---|{}", "---|".repeat(KEYS.len()));
    let row = |label: &str, list: &str, evals: Vec<&Evaluation>| {
        let cells: Vec<String> = KEYS
            .iter()
            .map(|k| {
                let xs: Vec<f64> = evals.iter().map(|e| metric(e, k)).collect();
                mean_se(&xs, 4, false)
            })
            .collect();
        println!("| {label} | {list} | {} |", cells.join(" | "));
    };
    // Popularity is the same lists in every learner's run (the same store): shown once.
    if let Some(rs) = args.models.first().and_then(|m| runs.get(m)) {
        row(
            "—",
            "popularity (before fold-in)",
            rs.iter().map(|r| &r.popularity).collect(),
        );
    }
    for model in &args.models {
        let Some(rs) = runs.get(model) else { continue };
        row(model, "fold-in", rs.iter().map(|r| &r.fold_in).collect());
        row(model, "retrain", rs.iter().map(|r| &r.retrain).collect());
    }

    println!("\n| model | difference | {} |", KEYS.join(" | "));
    println!("|---|---|{}", "---|".repeat(KEYS.len()));
    for model in &args.models {
        let Some(rs) = runs.get(model) else { continue };
        for (what, other) in [
            (
                "fold-in − popularity",
                (|r: &Run| &r.popularity) as fn(&Run) -> &Evaluation,
            ),
            ("fold-in − retrain", |r: &Run| &r.retrain),
        ] {
            let cells: Vec<String> = KEYS
                .iter()
                .map(|k| {
                    let xs: Vec<f64> = rs
                        .iter()
                        .map(|r| metric(&r.fold_in, k) - metric(other(r), k))
                        .collect();
                    mean_se(&xs, 4, true)
                })
                .collect();
            println!("| {model} | {what} | {} |", cells.join(" | "));
        }
    }

    println!(
        "\n| model | fit without them (s) | add their rows (s) | first request after the add \
         (binds store and model, s) | request of a folded-in user (median ms) | retrain with them (s) \
         | request of a trained user (median ms) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for model in &args.models {
        let Some(rs) = runs.get(model) else { continue };
        let col = |f: fn(&Run) -> f64, digits: usize| {
            mean_se(&rs.iter().map(f).collect::<Vec<_>>(), digits, false)
        };
        println!(
            "| {model} | {} | {} | {} | {} | {} | {} |",
            col(|r| r.fit_s, 2),
            col(|r| r.add_s, 3),
            col(|r| r.bind_s, 3),
            col(|r| r.fold_in_ms, 3),
            col(|r| r.retrain_s, 2),
            col(|r| r.trained_ms, 3),
        );
    }
}
