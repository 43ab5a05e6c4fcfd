//! Kills at random points (issue #20, item 4): a seeded loop that starts `import kg`, `import
//! interactions`, `train` or a server taking feedback, kills it with SIGKILL after a delay drawn
//! from the seed, then opens the directory and checks that it opens, that its counts are the
//! state before the killed command or the state after it (never in between) and that every
//! interaction the server acknowledged is stored.
//!
//! `KGREC_KILL_ITERS` (default 12) iterations, `KGREC_KILL_SEED` (default 0). The long run:
//! `KGREC_KILL_ITERS=400 KGREC_KILL_SEED=1 cargo test --release --test integration kill_loop -- --nocapture`.

use crate::common::*;
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

const KINDS: [&str; 4] = ["import kg", "import interactions", "train", "serve ingest"];
/// Triples of one `import kg`, rows of one `import interactions` (10 per user).
const KG_TRIPLES: u64 = 60_000;
const ROWS: u64 = 100_000;
const TRAIN: [&str; 9] = [
    "train", "--model", "als", "--dim", "32", "--epochs", "1", "--keep", "2",
];

/// What `stats` says, reduced to the counts the commands change.
#[derive(Debug, Clone, PartialEq)]
struct State {
    triples: u64,
    users: u64,
    items: u64,
    interactions: u64,
    models: Vec<String>,
}

/// The directory's state, or the message of a `stats` that failed (or panicked).
fn state(data: &Path) -> Result<State, String> {
    let out = run(kgrec(data).args(["stats", "--format", "json"]));
    if !out.status.success() {
        return Err(format!("stats: {}: {}", out.status, stderr(&out)));
    }
    let v: serde_json::Value =
        serde_json::from_str(&stdout(&out)).map_err(|e| format!("stats: not JSON: {e}"))?;
    let n = |k: &str| v[k].as_u64().unwrap_or(u64::MAX);
    Ok(State {
        triples: n("triples"),
        users: n("users"),
        items: n("items"),
        interactions: n("interactions"),
        models: v["models"]
            .as_array()
            .map(|m| {
                m.iter()
                    .filter_map(|s| s.as_str())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// The recommended items for `user` (every rankable item outside their history when `k` is
/// large), or the failure's message.
fn recommend(data: &Path, user: &str, k: usize) -> Result<Vec<String>, String> {
    match recommend_any(data, user, k)? {
        (_, Some(fallback)) => Err(format!("recommend {user}: a {fallback} fallback answer")),
        (items, None) => Ok(items),
    }
}

/// The recommended items for `user` and the fallback the answer names, if any.
fn recommend_any(
    data: &Path,
    user: &str,
    k: usize,
) -> Result<(Vec<String>, Option<String>), String> {
    let out = run(kgrec(data)
        .args(["recommend", "--user", user, "--format", "json", "-k"])
        .arg(k.to_string()));
    if !out.status.success() {
        return Err(format!(
            "recommend {user}: {}: {}",
            out.status,
            stderr(&out)
        ));
    }
    let v: serde_json::Value = serde_json::from_str(&stdout(&out))
        .map_err(|e| format!("recommend {user}: not JSON: {e}"))?;
    let items = v["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["item"].as_str())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Ok((items, v["fallback"].as_str().map(str::to_owned)))
}

/// The number of statements the RDF store holds (to compare with the index's count).
fn store_count(data: &Path) -> Result<u64, String> {
    let out = run(kgrec(data).args([
        "sparql",
        "--format",
        "csv",
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    ]));
    if !out.status.success() {
        return Err(format!("sparql: {}: {}", out.status, stderr(&out)));
    }
    stdout(&out)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| format!("sparql: no count in {}", stdout(&out)))
}

fn write_triples(path: &Path, tag: u64) {
    let mut text = String::with_capacity(KG_TRIPLES as usize * 80);
    for i in 0..KG_TRIPLES {
        let film = i / 3;
        writeln!(
            text,
            "<http://example.org/k{tag}/film/{film}> <http://example.org/p{}> <http://example.org/k{tag}/o/{}> .",
            i % 3,
            film % 997
        )
        .unwrap();
    }
    std::fs::write(path, text).unwrap();
}

/// `ROWS` rows of `ROWS / 10` new users on the base's items.
fn write_rows(path: &Path, tag: u64) {
    let mut text = String::from("user_id\titem_id\n");
    for k in 0..ROWS {
        writeln!(text, "k{tag}u{}\ti{}", k / 10, (k * 37 + k / 10) % 900).unwrap();
    }
    std::fs::write(path, text).unwrap();
}

/// The base directory: the fixture graph, 12,000 users × 15 items over 900 items, an als model.
fn base(dir: &Path) {
    import_movie_graph(dir);
    let mut text = String::from("user_id\titem_id\n");
    for u in 0..12_000u32 {
        for j in 0..15u32 {
            writeln!(text, "u{u}\ti{}", (u * 7 + j * j * 13 + j) % 900).unwrap();
        }
    }
    let file = dir.with_extension("tsv");
    std::fs::write(&file, text).unwrap();
    ok(kgrec(dir).args(["import", "interactions"]).arg(&file));
    ok(kgrec(dir).args(TRAIN).arg("--quiet"));
}

#[derive(Default, Debug)]
struct Figures {
    runs: u64,
    killed: u64,
    /// Killed runs that left the state before them.
    old: u64,
    /// Runs (killed or not) that left the state after them.
    new: u64,
    acked: u64,
    lost: u64,
    inconsistent: u64,
    unopened: u64,
}

/// Posts interactions one at a time as `user` until the server stops answering; returns the
/// items attempted and the ones acknowledged with 200.
fn post_until_killed(
    addr: &str,
    user: &str,
    items: &[String],
    stop: &AtomicBool,
) -> (Vec<String>, Vec<String>) {
    let (mut attempted, mut acked) = (Vec::new(), Vec::new());
    for item in items {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let body = format!(r#"[{{"user": "{user}", "item": "{item}"}}]"#);
        attempted.push(item.clone());
        let headers = [("Content-Type", "application/json")];
        match http(addr, "POST", "/v1/interactions", &headers, body.as_bytes()) {
            Ok(answer) if answer.status == 200 => acked.push(item.clone()),
            _ => break,
        }
    }
    (attempted, acked)
}

#[cfg(unix)]
#[test]
fn kills_at_random_points_leave_the_state_before_or_after_and_every_acknowledged_write() {
    let iterations = env_u64("KGREC_KILL_ITERS", 12);
    let seed = env_u64("KGREC_KILL_SEED", 0);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let tmp = tempfile::tempdir().unwrap();
    let pristine = tmp.path().join("base");
    base(&pristine);
    let base_state = state(&pristine).unwrap();

    // One uninterrupted run of each command times the range the kills are drawn from.
    let probe = tmp.path().join("probe");
    copy_dir(&pristine, &probe);
    let file = tmp.path().join("probe.nt");
    write_triples(&file, 999_999);
    let mut full = [Duration::ZERO; 4];
    let start = Instant::now();
    ok(kgrec(&probe).args(["import", "kg", "--quiet"]).arg(&file));
    full[0] = start.elapsed();
    let file = tmp.path().join("probe.tsv");
    write_rows(&file, 999_999);
    let start = Instant::now();
    ok(kgrec(&probe)
        .args(["import", "interactions", "--quiet"])
        .arg(&file));
    full[1] = start.elapsed();
    let start = Instant::now();
    ok(kgrec(&probe).args(TRAIN).arg("--quiet"));
    full[2] = start.elapsed();
    full[3] = Duration::from_millis(1500);
    std::fs::remove_dir_all(&probe).unwrap();

    let data = tmp.path().join("data");
    copy_dir(&pristine, &data);
    let mut figures: Vec<Figures> = (0..4).map(|_| Figures::default()).collect();
    let mut failures: Vec<String> = Vec::new();
    let started = Instant::now();
    for iteration in 0..iterations {
        let kind = rng.random_range(0..4usize);
        // Kills spread over 0..130% of an uninterrupted run (a server: 0..1.5 s of posting).
        let delay = full[kind].mul_f64(rng.random_range(0.0..1.3));
        let before = state(&data).unwrap_or_else(|e| panic!("iteration {iteration}: {e}"));
        // Keep the directory small enough that imports keep their length.
        if before.triples > base_state.triples + 3 * KG_TRIPLES
            || before.interactions > base_state.interactions + 3 * ROWS
        {
            std::fs::remove_dir_all(&data).unwrap();
            copy_dir(&pristine, &data);
        }
        let before = state(&data).unwrap();
        let f = &mut figures[kind];
        f.runs += 1;
        let mut fail = |what: String, f: &mut Figures| {
            f.inconsistent += 1;
            failures.push(format!(
                "iteration {iteration} ({}, kill after {delay:?}): {what}",
                KINDS[kind]
            ));
        };
        let tag = seed * 1_000_000 + iteration;
        let mut acks: Vec<(String, Vec<String>, Vec<String>)> = Vec::new();
        let mut catalogue: Vec<String> = Vec::new();
        let success = if kind < 3 {
            let mut cmd = kgrec(&data);
            match kind {
                0 => {
                    let file = tmp.path().join("kill.nt");
                    write_triples(&file, tag);
                    cmd.args(["import", "kg", "--quiet"]).arg(file)
                }
                1 => {
                    let file = tmp.path().join("kill.tsv");
                    write_rows(&file, tag);
                    cmd.args(["import", "interactions", "--quiet"]).arg(file)
                }
                _ => cmd
                    .args(TRAIN)
                    .args(["--quiet", "--seed"])
                    .arg(tag.to_string()),
            };
            let mut child = cmd
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(delay);
            let _ = child.kill(); // SIGKILL on Unix
            child.wait().unwrap().success()
        } else {
            // Every item the model ranks: an unknown user's list.
            catalogue = match recommend_any(&data, &format!("nobody{tag}"), 100_000) {
                Ok((c, _)) => c,
                Err(e) => {
                    fail(e, f);
                    continue;
                }
            };
            let server = Server::start(&data, &[]);
            let stop = AtomicBool::new(false);
            let addr = server.addr.clone();
            acks = std::thread::scope(|scope| {
                let threads: Vec<_> = (0..4)
                    .map(|c| {
                        let (addr, stop) = (&addr, &stop);
                        let items: Vec<String> =
                            catalogue.iter().skip(c * 200).take(600).cloned().collect();
                        let user = format!("k{tag}c{c}");
                        scope.spawn(move || {
                            let (attempted, acked) = post_until_killed(addr, &user, &items, stop);
                            (user, attempted, acked)
                        })
                    })
                    .collect();
                std::thread::sleep(delay);
                stop.store(true, Ordering::Relaxed);
                server.kill9();
                threads.into_iter().map(|t| t.join().unwrap()).collect()
            });
            false
        };
        f.killed += u64::from(!success);

        // The directory opens, whatever moment the kill hit.
        let after = match state(&data) {
            Ok(s) => s,
            Err(e) => {
                f.unopened += 1;
                fail(e, f);
                break;
            }
        };
        let (b, a) = (&before, &after);
        let unchanged = a == b;
        let is_new = match kind {
            0 => {
                let new = State {
                    triples: b.triples + KG_TRIPLES,
                    ..b.clone()
                };
                match store_count(&data) {
                    Ok(n) if n != a.triples => fail(
                        format!("the index counts {} triples, the store {n}", a.triples),
                        f,
                    ),
                    Ok(_) => {}
                    Err(e) => fail(e, f),
                }
                *a == new
            }
            1 => {
                *a == State {
                    users: b.users + ROWS / 10,
                    interactions: b.interactions + ROWS,
                    ..b.clone()
                }
            }
            2 => {
                let newest_before = b
                    .models
                    .iter()
                    .filter_map(|m| version(m))
                    .max()
                    .unwrap_or(0);
                let current: Vec<&String> = a
                    .models
                    .iter()
                    .filter(|m| m.ends_with("(current)"))
                    .collect();
                a.triples == b.triples
                    && a.interactions == b.interactions
                    && current.len() == 1
                    && version(current[0]).is_some_and(|v| v > newest_before)
            }
            _ => {
                let acked: u64 = acks.iter().map(|(_, _, k)| k.len() as u64).sum();
                let attempted: u64 = acks.iter().map(|(_, t, _)| t.len() as u64).sum();
                f.acked += acked;
                let range = b.interactions + acked..=b.interactions + attempted;
                if !range.contains(&a.interactions) || a.triples != b.triples {
                    fail(
                        format!("{a:?} after {b:?}, {acked} acknowledged of {attempted}"),
                        f,
                    );
                }
                for (user, attempted, acked) in &acks {
                    // The list of a user is every item outside their history: the rest is stored.
                    match recommend_any(&data, user, 100_000) {
                        Ok((listed, _)) => {
                            let listed: BTreeSet<&String> = listed.iter().collect();
                            for item in acked {
                                if listed.contains(item) {
                                    f.lost += 1;
                                    fail(format!("{user} {item} acknowledged, not stored"), f);
                                }
                            }
                            let mut stored = catalogue.iter().filter(|i| !listed.contains(i));
                            if let Some(extra) = stored.find(|i| !attempted.contains(i)) {
                                fail(format!("{user} {extra} stored, never posted"), f);
                            }
                        }
                        Err(e) => fail(e, f),
                    }
                }
                a.interactions > b.interactions
            }
        };
        if kind < 3 {
            if is_new {
                f.new += 1;
            } else if unchanged {
                if success {
                    fail("a finished command changed nothing".into(), f);
                }
                f.old += 1;
            } else {
                fail(format!("in between: {a:?} after {b:?}"), f);
            }
        } else if is_new {
            f.new += 1;
        } else {
            f.old += 1;
        }
        // The current model loads and serves (a known user).
        if let Err(e) = recommend(&data, "u17", 10) {
            fail(e, f);
        }
    }
    let elapsed = started.elapsed();
    eprintln!(
        "kill loop: seed {seed}, {iterations} iterations in {:.1} s (uninterrupted runs: \
         import kg {:?}, import interactions {:?}, train {:?})",
        elapsed.as_secs_f64(),
        full[0],
        full[1],
        full[2]
    );
    for (kind, f) in KINDS.iter().zip(&figures) {
        eprintln!(
            "  {kind:<20} runs {:>4}  killed {:>4}  old state {:>4}  new state {:>4}  \
             acknowledged {:>5}  lost {}  inconsistent {}  unopened {}",
            f.runs, f.killed, f.old, f.new, f.acked, f.lost, f.inconsistent, f.unopened
        );
    }
    assert!(failures.is_empty(), "{failures:#?}");
    let caught: u64 = figures[..3].iter().map(|f| f.old).sum();
    if iterations >= 8 {
        assert!(caught > 0, "no kill landed inside a command: {figures:?}");
    }
}

/// The version of a `stats` model line (`v3 als (current)`).
fn version(line: &str) -> Option<u64> {
    line.strip_prefix('v')?.split(' ').next()?.parse().ok()
}
