//! Writes a seeded synthetic catalogue in the formats `kgrec` imports: users with latent topic
//! preferences, items with power-law popularity, and a typed item graph (genre hubs, creators
//! with a long tail within each topic, labels) whose links follow the topics
//! (`benches/common/synth.rs` draws it; `benches/ease_sparse.rs` uses the same generator).
//!
//! ```text
//! cargo run --release --example synth -- --users 60000 --items 25000 --interactions 700000 \
//!     --seed 1 --test-share 0.2 --out target/synth
//! ```
//!
//! Writes to `--out`: `interactions.tsv` (`user_id item_id rating timestamp`), `kg.nt`
//! (N-Triples), `links.tsv` (`item_id iri`), and with `--test-share F` also `train.tsv` and
//! `test.tsv`: every user with at least 5 items gives a share F of them (rounded, at least one,
//! never all; chosen at random, seeded) to `test.tsv`, the rest to `train.tsv`. Writes stream:
//! memory is O(items), not O(interactions). Ratings: 3-5 for an item of the user's own topics,
//! 1-5 otherwise; timestamps increase along each user's draws, all before June 2026.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../benches/common/synth.rs"]
mod synth;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Parser;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Parser, Debug)]
struct Args {
    #[arg(long)]
    users: usize,
    #[arg(long)]
    items: usize,
    /// The target count (the count written is near it).
    #[arg(long)]
    interactions: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Latent topics [default: items/20, between 1 and 200].
    #[arg(long)]
    topics: Option<usize>,
    /// Also write train.tsv and test.tsv with this share of each user's items in test (0: not).
    #[arg(long, default_value_t = 0.0)]
    test_share: f64,
    /// The folder to write (created if missing).
    #[arg(long)]
    out: PathBuf,
}

fn create(dir: &Path, name: &str) -> Result<BufWriter<File>> {
    let path = dir.join(name);
    let file = File::create(&path).with_context(|| format!("{}", path.display()))?;
    Ok(BufWriter::with_capacity(1 << 20, file))
}

const HEADER: &str = "user_id\titem_id\trating\ttimestamp";

fn main() -> Result<()> {
    let args = Args::parse();
    if args.users == 0 || args.items == 0 || args.interactions == 0 {
        bail!("--users, --items and --interactions must be positive");
    }
    if !(0.0..1.0).contains(&args.test_share) {
        bail!("--test-share {}: expected 0 <= F < 1", args.test_share);
    }
    let topics = args.topics.unwrap_or(args.items / 20).clamp(1, 200);
    if topics > args.items {
        bail!("--topics {topics}: at most --items ({})", args.items);
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("{}", args.out.display()))?;
    let spec = synth::Spec {
        users: args.users,
        items: args.items,
        interactions: args.interactions,
        topics,
        seed: args.seed,
    };
    let start = Instant::now();
    let generator = synth::Generator::new(spec);
    let mut all = create(&args.out, "interactions.tsv")?;
    writeln!(all, "{HEADER}")?;
    let mut split = match args.test_share > 0.0 {
        true => {
            let (mut train, mut test) = (
                create(&args.out, "train.tsv")?,
                create(&args.out, "test.tsv")?,
            );
            writeln!(train, "{HEADER}")?;
            writeln!(test, "{HEADER}")?;
            Some((train, test))
        }
        false => None,
    };
    // Ratings, timestamps and the split draw from their own streams: the users' items are the
    // generator's alone.
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ 0x5851_f42d_4c95_7f2d);
    let mut split_rng = ChaCha8Rng::seed_from_u64(args.seed ^ 0x2545_f491_4f6c_dd1d);
    let (mut written, mut users_with, mut held) = (0u64, 0u64, 0u64);
    let mut order: Vec<usize> = Vec::new();
    let mut in_test: Vec<bool> = Vec::new();
    let mut failure: Option<std::io::Error> = None;
    generator.for_each_user(|d| {
        if failure.is_some() || d.items.is_empty() {
            return;
        }
        users_with += 1;
        let n = d.items.len();
        in_test.clear();
        in_test.resize(n, false);
        if split.is_some() && n >= 5 {
            let k = ((n as f64 * args.test_share).round() as usize).clamp(1, n - 1);
            order.clear();
            order.extend(0..n);
            order.shuffle(&mut split_rng);
            for &j in &order[..k] {
                in_test[j] = true;
            }
        }
        let mut time: u64 = 1_600_000_000 + rng.random_range(0..100_000_000);
        let result = (|| -> std::io::Result<()> {
            for (j, &item) in d.items.iter().enumerate() {
                let own = d.topics.contains(&(item as usize % topics));
                let rating = match own {
                    true => rng.random_range(3..=5),
                    false => rng.random_range(1..=5),
                };
                // Up to 30 days apart, closer for a user of more than 30 items, so that every
                // timestamp stays in the past (kgrec refuses one more than a year ahead).
                time += rng.random_range(60..2_592_000) * 30 / n.max(30) as u64;
                let line = format!("u{}\ti{item}\t{rating}\t{time}\n", d.user);
                all.write_all(line.as_bytes())?;
                if let Some((train, test)) = split.as_mut() {
                    match in_test[j] {
                        true => test.write_all(line.as_bytes())?,
                        false => train.write_all(line.as_bytes())?,
                    }
                }
                written += 1;
                held += u64::from(in_test[j]);
            }
            Ok(())
        })();
        if let Err(e) = result {
            failure = Some(e);
        }
    });
    if let Some(e) = failure {
        return Err(e).context("writing the interactions");
    }
    all.flush()?;
    if let Some((mut train, mut test)) = split {
        train.flush()?;
        test.flush()?;
    }
    let graph = synth::Graph::for_catalogue(&spec);
    let mut kg = create(&args.out, "kg.nt")?;
    let mut links = create(&args.out, "links.tsv")?;
    let (triples, linked) = graph.write(&mut kg, &mut links, |i| format!("i{i}"))?;
    kg.flush()?;
    links.flush()?;
    let density = written as f64 / (args.users as f64 * args.items as f64);
    eprintln!(
        "{}: {written} interactions ({users_with} users with any, {} items, density {:.4} %), \
         {held} in test.tsv; {triples} triples ({} genres, {} creators, {} labels), \
         {linked} items linked; {:.1} s",
        args.out.display(),
        args.items,
        100.0 * density,
        graph.genres,
        graph.topics * graph.creators_per_topic,
        graph.labels,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
