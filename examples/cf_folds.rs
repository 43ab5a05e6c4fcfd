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
    Als, Bpr, IdMap, InteractionMatrix, Popularity, Recommender, recommend_named, write_batch,
};
use kgrec::ease::{EaseParams, ItemToItem, KgEaseParams, Regularization};
use kgrec::fused::{Attention, FusedParams, ItemGraph};
use kgrec::ids::{ItemId, UserId};
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
    /// Models to fit: als, bpr, pop, kgjac, cke, cke-none, cke-uniform, cke-learned, ease, kg-ease.
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
    /// Knowledge graph for `cke` (N-Triples, Turtle, ...).
    #[arg(long, default_value = "../shared/datasets/ml-100k/kg-dbpedia.nt")]
    kg: PathBuf,
    /// Item links for `cke` (`item_id<TAB>iri`); linked items without training rows become
    /// candidates for every model (item cold start).
    #[arg(long, default_value = "../shared/datasets/ml-100k/link-dbpedia.tsv")]
    link: PathBuf,
    /// Use these train/test files instead of the folds (e.g. folds/cold-items).
    #[arg(long)]
    split_dir: Option<PathBuf>,
    /// Item cold-start validation: from `--split-dir`'s train (default: folds/cold-items), move
    /// every interaction of a seeded 10% of the linked items to a validation set.
    #[arg(long)]
    cold_validate: bool,
    #[arg(long, default_value_t = 10.0)]
    cke_kg_weight: f32,
    #[arg(long, default_value_t = 0.2)]
    cke_coupling: f32,
    #[arg(long, default_value_t = 1.0)]
    cke_margin: f32,
    #[arg(long, default_value_t = 3)]
    cke_kg_epochs: usize,
    #[arg(long, default_value_t = 0.05)]
    cke_kg_lr: f32,
    #[arg(long, default_value = "none")]
    cke_attention: String,
    #[arg(long, default_value_t = 5)]
    cke_att_epochs: usize,
    #[arg(long, default_value_t = 0.01)]
    cke_att_lr: f32,
    #[arg(long)]
    cke_factors: Option<usize>,
    /// Cold items' vectors `s·η` (unset: placed among their nearest warm items in the graph).
    #[arg(long)]
    cke_cold_scale: Option<f32>,
    /// Nearest warm items that place a cold item.
    #[arg(long, default_value_t = 5)]
    cke_cold_neighbours: usize,
    /// Weight of the pull of linked items towards the place of their nearest items.
    #[arg(long, default_value_t = 10.0)]
    cke_neighbour_weight: f32,
    /// Nearest items that mark that place.
    #[arg(long, default_value_t = 20)]
    cke_neighbours: usize,
    #[arg(long, default_value_t = 1)]
    cke_candidates: usize,
    #[arg(long, default_value_t = 1e-4)]
    cke_att_reg: f32,
    /// ease / kg-ease: λ as multiples of the mean item degree, one model per value (the models
    /// are named `ease@s`, `kg-ease@s,w,p` unless one value is given each).
    #[arg(long, value_delimiter = ',', default_value = "8")]
    ease_reg_scale: Vec<f32>,
    /// ease / kg-ease: λ itself instead (one model per value).
    #[arg(long, value_delimiter = ',')]
    ease_reg: Vec<f32>,
    /// kg-ease: weights α of the feature rows.
    #[arg(long, value_delimiter = ',', default_value = "2")]
    kg_ease_weight: Vec<f32>,
    /// kg-ease: exponents of the idf in a feature's weight.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    kg_ease_idf: Vec<f32>,
    /// kg-ease: a fact becomes a feature when this many items share it.
    #[arg(long, default_value_t = 2)]
    kg_ease_min_items: usize,
    /// With --validate: carve the validation rows from every fold of --fold, not fold0 alone.
    #[arg(long)]
    validate_all: bool,
    /// Keep only this fraction of the users (seeded), to see how settings move with the data's
    /// size.
    #[arg(long)]
    subsample_users: Option<f64>,
}

/// The ease / kg-ease grid of the flags: (name, λ rule, α, idf power).
fn ease_grid(a: &Args, graph: bool) -> Vec<(String, Regularization, f32, f32)> {
    let regs: Vec<(String, Regularization)> = if a.ease_reg.is_empty() {
        a.ease_reg_scale
            .iter()
            .map(|&s| (format!("s{s}"), Regularization::Scaled(s)))
            .collect()
    } else {
        a.ease_reg
            .iter()
            .map(|&l| (format!("l{l}"), Regularization::Absolute(l)))
            .collect()
    };
    let (weights, idfs) = if graph {
        (a.kg_ease_weight.clone(), a.kg_ease_idf.clone())
    } else {
        (vec![0.0], vec![0.0])
    };
    let single = regs.len() == 1 && weights.len() == 1 && idfs.len() == 1;
    let mut grid = Vec::new();
    for (rn, r) in &regs {
        for &w in &weights {
            for &p in &idfs {
                let base = if graph { "kg-ease" } else { "ease" };
                let name = match (single, graph) {
                    (true, _) => base.to_owned(),
                    (false, false) => format!("{base}@{rn}"),
                    (false, true) => format!("{base}@{rn},w{w},p{p}"),
                };
                grid.push((name, *r, w, p));
            }
        }
    }
    grid
}

/// Keeps the rows of a seeded `fraction` of the users.
fn subsample(rows: Pairs, fraction: f64, seed: u64) -> Pairs {
    let mut users: Vec<String> = rows
        .iter()
        .map(|(u, _)| u.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    users.sort();
    users.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    let kept: HashSet<String> = users[..(users.len() as f64 * fraction).round() as usize]
        .iter()
        .cloned()
        .collect();
    rows.into_iter().filter(|(u, _)| kept.contains(u)).collect()
}

/// The graph of `--kg` in a temporary data directory: its triples, entity count, relation count,
/// and the entity of every IRI of `--link`.
struct Kg {
    triples: Vec<kgrec::kg::Triple>,
    entities: usize,
    relations: usize,
    links: Vec<(String, Option<kgrec::kg::EntityId>)>,
}

fn load_kg(kg: &Path, link: &Path) -> Kg {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path().join("sled")).unwrap();
    let mut store = kgrec::kg::KgStore::open(&dir.path().join("kg"), &db).unwrap();
    store
        .import(&[kg.to_path_buf()], &Default::default(), &mut |_| {})
        .unwrap();
    let counts = store.counts().unwrap();
    let index = store.index();
    let links = kgrec::interactions::parse_link_file(link)
        .unwrap()
        .into_iter()
        .map(|l| {
            let e = index.resolve_entity(&l.iri).unwrap().map(|(_, e)| e);
            (l.item, e)
        })
        .collect();
    Kg {
        triples: index.triples().unwrap(),
        entities: counts.entities as usize,
        relations: counts.relations as usize,
        links,
    }
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

/// The KG item-to-item baseline: an item's score for a user is the summed Jaccard overlap of its
/// graph neighbours (both directions) with those of each item in the user's history.
#[derive(Debug)]
struct KgJaccard {
    neighbours: Vec<Vec<u32>>,
    items_of: HashMap<u32, Vec<u32>>,
    history: Vec<Vec<u32>>,
}

impl KgJaccard {
    fn new(matrix: &InteractionMatrix, graph: &ItemGraph) -> Self {
        let neighbours: Vec<Vec<u32>> = (0..matrix.n_items())
            .map(|i| graph.neighbour_entities(i))
            .collect();
        let mut items_of: HashMap<u32, Vec<u32>> = HashMap::new();
        for (i, ns) in neighbours.iter().enumerate() {
            for &n in ns {
                items_of.entry(n).or_default().push(i as u32);
            }
        }
        let history = (0..matrix.n_users())
            .map(|u| matrix.user_row(UserId(u as u32)).0.to_vec())
            .collect();
        Self {
            neighbours,
            items_of,
            history,
        }
    }
}

impl Recommender for KgJaccard {
    fn n_users(&self) -> usize {
        self.history.len()
    }
    fn n_items(&self) -> usize {
        self.neighbours.len()
    }
    fn score_items(&self, user: UserId, out: &mut [f32]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        let Some(history) = self.history.get(user.index()) else {
            return;
        };
        let mut inter: HashMap<u32, u32> = HashMap::new();
        for &j in history {
            inter.clear();
            let nj = &self.neighbours[j as usize];
            for n in nj {
                for &i in &self.items_of[n] {
                    *inter.entry(i).or_default() += 1;
                }
            }
            for (&i, &c) in &inter {
                let union = self.neighbours[i as usize].len() + nj.len() - c as usize;
                out[i as usize] += c as f32 / union as f32;
            }
        }
    }
}

/// The training matrix with every linked item appended after the training items, so that items
/// nobody interacted with are candidates.
fn with_linked_items(rows: &Pairs, kg: &Kg) -> InteractionMatrix {
    let mut users = IdMap::new();
    let mut items = IdMap::new();
    let mut entries = Vec::new();
    for (u, i) in rows {
        let u = users.intern(u).unwrap();
        let i = items.intern(i).unwrap();
        entries.push((UserId(u), ItemId(i), 1.0));
    }
    for (i, _) in &kg.links {
        items.intern(i).unwrap();
    }
    InteractionMatrix::from_ids(users, items, &entries).unwrap()
}

fn main() {
    let a = Args::parse();
    std::fs::create_dir_all(&a.out_dir).unwrap();
    let needs_kg = a.cold_validate
        || a.models
            .iter()
            .any(|m| m.starts_with("cke") || m == "kgjac" || m == "kg-ease");
    let kg = needs_kg.then(|| load_kg(&a.kg, &a.link));
    let splits: Vec<(String, Pairs, Pairs)> = if a.cold_validate {
        let dir = a
            .split_dir
            .clone()
            .unwrap_or_else(|| a.folds.join("cold-items"));
        let rows = pairs(&dir.join("train.tsv"));
        let linked: HashSet<&str> = kg
            .as_ref()
            .map(|kg| {
                kg.links
                    .iter()
                    .filter(|(_, e)| e.is_some())
                    .map(|(i, _)| i.as_str())
                    .collect()
            })
            .unwrap_or_default();
        let mut items: Vec<String> = rows
            .iter()
            .map(|(_, i)| i.clone())
            .filter(|i| linked.contains(i.as_str()))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        items.sort();
        items.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(777));
        let cold: HashSet<String> = items[..items.len() / 10].iter().cloned().collect();
        let (valid, train): (Pairs, Pairs) = rows.into_iter().partition(|(_, i)| cold.contains(i));
        vec![("cold-valid".to_owned(), train, valid)]
    } else if let Some(dir) = &a.split_dir {
        vec![(
            dir.file_name().unwrap().to_string_lossy().into_owned(),
            pairs(&dir.join("train.tsv")),
            pairs(&dir.join("test.tsv")),
        )]
    } else if a.validate && a.validate_all {
        a.fold
            .iter()
            .map(|k| {
                let rows = pairs(&a.folds.join(format!("fold{k}/train.tsv")));
                let (train, valid) = validation_split(rows, 12345 + *k as u64);
                (format!("fold{k}-valid"), train, valid)
            })
            .collect()
    } else if a.validate {
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
    let splits: Vec<(String, Pairs, Pairs)> = match a.subsample_users {
        None => splits,
        Some(f) => splits
            .into_iter()
            .map(|(name, train, test)| {
                let train = subsample(train, f, 99);
                let users: HashSet<&String> = train.iter().map(|(u, _)| u).collect();
                let test = test
                    .into_iter()
                    .filter(|(u, _)| users.contains(u))
                    .collect();
                (name, train, test)
            })
            .collect(),
    };
    // Every model of the grid, in the order given.
    let mut models: Vec<(String, String)> = Vec::new();
    for m in &a.models {
        match m.as_str() {
            "ease" | "kg-ease" => {
                for (name, ..) in ease_grid(&a, m == "kg-ease") {
                    models.push((m.clone(), name));
                }
            }
            _ => models.push((m.clone(), m.clone())),
        }
    }
    println!("threads {}", rayon::current_num_threads());
    println!("split\tmodel\tfit_s\trecommend_s\tndcg@10\tmap@10\trecall@20\tfinal_loss");
    let mut sums: HashMap<String, (usize, [f64; 5])> = HashMap::new();
    for (name, train_rows, test_rows) in &splits {
        let matrix = match &kg {
            None => InteractionMatrix::from_pairs(
                train_rows.iter().map(|(u, i)| (u.as_str(), i.as_str())),
            )
            .unwrap(),
            Some(kg) => with_linked_items(train_rows, kg),
        };
        let graph = kg.as_ref().map(|kg| {
            let by_item: HashMap<&str, kgrec::kg::EntityId> = kg
                .links
                .iter()
                .filter_map(|(i, e)| e.map(|e| (i.as_str(), e)))
                .collect();
            let item_entity = matrix
                .items()
                .names()
                .iter()
                .map(|n| by_item.get(n.as_str()).copied())
                .collect();
            ItemGraph::new(kg.entities, kg.relations, kg.triples.clone(), item_entity)
        });
        let test = by_user(test_rows.iter().map(|(u, i)| (u.clone(), i.clone())));
        let train = by_user(train_rows.iter().map(|(u, i)| (u.clone(), i.clone())));
        let mut test_users: Vec<&String> = Vec::new();
        let mut seen = HashSet::new();
        for (u, _) in test_rows {
            if seen.insert(u) {
                test_users.push(u);
            }
        }
        for (kind, model_name) in &models {
            let mut last_loss = f64::NAN;
            let t0 = Instant::now();
            let model: Box<dyn Recommender> = match kind.as_str() {
                "ease" | "kg-ease" => {
                    let (_, regularization, weight, idf) = ease_grid(&a, kind == "kg-ease")
                        .into_iter()
                        .find(|(n, ..)| n == model_name)
                        .unwrap();
                    let stop = std::sync::atomic::AtomicBool::new(false);
                    let weights = if kind == "ease" {
                        EaseParams {
                            regularization,
                            neighbours: None,
                        }
                        .fit(&matrix, &stop)
                        .unwrap()
                        .weights
                    } else {
                        let p = KgEaseParams {
                            regularization,
                            graph_weight: weight,
                            idf_power: idf,
                            min_items: a.kg_ease_min_items,
                            ..KgEaseParams::default()
                        };
                        let fitted = p
                            .fit(&matrix, graph.as_ref().unwrap(), false, &stop)
                            .unwrap();
                        last_loss = fitted.features as f64;
                        fitted.weights
                    };
                    Box::new(ItemToItem::new(weights, None, &matrix, matrix.n_users()))
                }
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
                "kgjac" => Box::new(KgJaccard::new(&matrix, graph.as_ref().unwrap())),
                cke if cke.starts_with("cke") => {
                    let attention = match cke {
                        "cke-none" => Attention::None,
                        "cke-uniform" => Attention::Uniform,
                        "cke-learned" => Attention::Learned,
                        _ => Attention::parse(&a.cke_attention).unwrap(),
                    };
                    let params = FusedParams {
                        cold_scale: a.cke_cold_scale,
                        ..FusedParams::default()
                    };
                    Box::new(
                        params
                            .factors(a.cke_factors.unwrap_or(a.als_factors))
                            .regularization(a.als_reg)
                            .alpha(a.als_alpha)
                            .iterations(a.als_iters)
                            .kg_weight(a.cke_kg_weight)
                            .coupling(a.cke_coupling)
                            .cold_neighbours(a.cke_cold_neighbours)
                            .neighbour_weight(a.cke_neighbour_weight)
                            .neighbours(a.cke_neighbours)
                            .attention_candidates(a.cke_candidates)
                            .attention_reg(a.cke_att_reg)
                            .margin(a.cke_margin)
                            .kg_epochs(a.cke_kg_epochs)
                            .kg_lr(a.cke_kg_lr)
                            .attention(attention)
                            .attention_epochs(a.cke_att_epochs)
                            .attention_lr(a.cke_att_lr)
                            .fit(&matrix, graph.as_ref().unwrap(), a.seed, |r| {
                                last_loss = r.loss
                            })
                            .unwrap(),
                    )
                }
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
            let e = evaluate(&recs, &test, Some(&train), &HashSet::new(), &[10, 20]);
            let (at10, at20) = (e.at(10).unwrap(), e.at(20).unwrap());
            println!(
                "{name}\t{model_name}\t{fit_s:.3}\t{rec_s:.3}\t{:.4}\t{:.4}\t{:.4}\t{last_loss:.5}\tndcg@20 {:.4}",
                at10.mean.ndcg, at10.mean.map, at20.mean.recall, at20.mean.ndcg
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
    for (_, m) in &models {
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
