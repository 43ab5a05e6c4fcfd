//! Cost curves: how kgrec's import, training, batch and per-request costs grow with the catalogue.
//! For each size it writes a seeded synthetic catalogue (the `synth` example), then times the real
//! binary on it as a user runs it — `import kg`, `import interactions --link`, `train` per learner,
//! `recommend --all-users` — with each command's peak resident memory, then one request's top-10
//! and one explanation through the library (`Engine::recommend`, what `serve` answers per
//! request), and the data directory's size. Writes `curves.tsv` (one row per size and step),
//! `curves.md` (the tables, each step's log-log slope) and `curves.png` (the plot) to `--out`.
//!
//! ```text
//! cargo build --release --bins --examples
//! target/release/examples/curves --out target/curves
//! ```
//!
//! The catalogue keeps the shape of issue #19's 70k × 25k × 650k (per interaction: 0.108 users,
//! 0.0385 items); the sizes are interaction counts (default 10k, 50k, 250k, 1.25M). The graph's
//! size follows the items (the generator's hubs and creators). `--kgrec-rocksdb PATH` also times
//! `import kg` with a binary built with `--features rocksdb`. The plot's labels need a TrueType
//! font (`--font`, DejaVu Sans by default).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use kgrec::explain::ExplainOptions;
use kgrec::{Engine, RecommendRequest};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

#[derive(Parser, Debug)]
struct Args {
    /// Where the catalogues, data directories and results go.
    #[arg(long)]
    out: PathBuf,
    /// Interaction counts, one catalogue each.
    #[arg(long, value_delimiter = ',', default_values_t = [10_000usize, 50_000, 250_000, 1_250_000])]
    sizes: Vec<usize>,
    /// Learners to time (`train --model`); the first one also serves the batch and the requests.
    #[arg(long, value_delimiter = ',', default_values_t = ["als".to_owned(), "bpr".to_owned(), "cke".to_owned(), "itemknn".to_owned(), "ease".to_owned()])]
    learners: Vec<String>,
    /// Factors of the learners that have `--dim`.
    #[arg(long, default_value_t = 64)]
    dim: usize,
    /// `ease` inverts an items × items matrix: skipped above this many items.
    #[arg(long, default_value_t = 20_000)]
    ease_max_items: usize,
    /// Requests timed per size (users drawn in the data directory's order).
    #[arg(long, default_value_t = 200)]
    requests: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Graph sizes (triples, approximately) at which `import kg` alone is timed, each on a graph of
    /// its own (the generator's graph for about triples / 5.4 items): e.g. 100000,1000000,10000000.
    #[arg(long, value_delimiter = ',')]
    kg_sizes: Vec<usize>,
    /// The kgrec binary [default: target/release/kgrec beside this example].
    #[arg(long)]
    kgrec: Option<PathBuf>,
    /// A kgrec binary built with `--features rocksdb`: `import kg` is timed with it too.
    #[arg(long)]
    kgrec_rocksdb: Option<PathBuf>,
    /// The synth example [default: beside this example].
    #[arg(long)]
    synth: Option<PathBuf>,
    /// A TrueType font for the plot's labels.
    #[arg(
        long,
        default_value = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    )]
    font: PathBuf,
}

/// One timed step at one size.
#[derive(Debug, Clone)]
struct Row {
    interactions: usize,
    step: String,
    seconds: f64,
    /// Peak resident memory of the command, MiB (none for in-process steps).
    peak_mib: Option<f64>,
    /// What the step went through per second (triples, rows), when that is the figure.
    rate: Option<f64>,
}

/// A command's wall time and peak resident memory (`VmHWM`, read every 10 ms while it runs: a
/// peak reached in its last 10 ms can be missed).
fn timed(cmd: &mut Command, log: &Path) -> Result<(f64, f64)> {
    let log_file = fs::File::create(log)?;
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::from(log_file))
        .spawn()
        .with_context(|| format!("{cmd:?}"))?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    let status = loop {
        if let Ok(text) = fs::read_to_string(&status_path)
            && let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let seconds = start.elapsed().as_secs_f64();
    if !status.success() {
        let tail = fs::read_to_string(log).unwrap_or_default();
        bail!("{cmd:?} failed ({status}):\n{tail}");
    }
    Ok((seconds, peak_kib as f64 / 1024.0))
}

/// Line breaks of `path`, read in 1 MiB pieces (a 10M-statement graph is a gigabyte: it is
/// not read into memory whole).
fn count_lines(path: &Path) -> Result<usize> {
    use std::io::Read as _;
    let mut file = fs::File::open(path).with_context(|| format!("{}", path.display()))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut lines = 0;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(lines);
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
    }
}

fn dir_bytes(path: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in fs::read_dir(path)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += match meta.is_dir() {
            true => dir_bytes(&entry.path())?,
            false => meta.len(),
        };
    }
    Ok(total)
}

/// Milliseconds of `n` requests: p50 and p99.
fn percentiles(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

/// The steps at one size.
fn one_size(args: &Args, kgrec: &Path, synth: &Path, n: usize) -> Result<Vec<Row>> {
    let users = ((n as f64) * 0.108).round().max(10.0) as usize;
    let items = ((n as f64) * 0.0385).round().max(10.0) as usize;
    let cat = args.out.join(format!("cat-{n}"));
    if !cat.join("train.tsv").exists() {
        let (s, _) = timed(
            Command::new(synth)
                .args(["--users", &users.to_string(), "--items", &items.to_string()])
                .args(["--interactions", &n.to_string(), "--test-share", "0.2"])
                .args(["--seed", &args.seed.to_string(), "--out"])
                .arg(&cat),
            &args.out.join(format!("synth-{n}.log")),
        )?;
        println!("{n}: catalogue written in {s:.1} s");
    }
    let rows_in = count_lines(&cat.join("train.tsv"))?.saturating_sub(1);
    let triples = count_lines(&cat.join("kg.nt"))?;
    let mut rows = Vec::new();
    let mut push = |step: &str, seconds: f64, peak: Option<f64>, rate: Option<f64>| {
        let value = match step.starts_with("request") {
            true => format!("{:>9.3} ms", seconds * 1e3),
            false => format!("{seconds:>9.3} s"),
        };
        println!(
            "{n}: {step:<32} {value}{}{}",
            peak.map_or(String::new(), |p| format!(", peak {p:.0} MiB")),
            rate.map_or(String::new(), |r| format!(", {r:.0}/s"))
        );
        rows.push(Row {
            interactions: n,
            step: step.to_owned(),
            seconds,
            peak_mib: peak,
            rate,
        });
    };
    let log = |name: &str| args.out.join(format!("{name}-{n}.log"));

    if let Some(rocks) = &args.kgrec_rocksdb {
        let data = args.out.join(format!("data-rocksdb-{n}"));
        let _ = fs::remove_dir_all(&data);
        let (s, peak) = timed(
            Command::new(rocks)
                .arg("--data")
                .arg(&data)
                .args(["-q", "import", "kg"])
                .arg(cat.join("kg.nt")),
            &log("kg-rocksdb"),
        )?;
        push(
            "import kg (rocksdb)",
            s,
            Some(peak),
            Some(triples as f64 / s),
        );
        fs::remove_dir_all(&data)?;
    }

    let data = args.out.join(format!("data-{n}"));
    let _ = fs::remove_dir_all(&data);
    let binary = |data: &Path| {
        let mut c = Command::new(kgrec);
        c.arg("--data").arg(data).arg("-q");
        c
    };
    let (s, peak) = timed(
        binary(&data).args(["import", "kg"]).arg(cat.join("kg.nt")),
        &log("kg"),
    )?;
    push("import kg", s, Some(peak), Some(triples as f64 / s));
    let (s, peak) = timed(
        binary(&data)
            .args(["import", "interactions"])
            .arg(cat.join("train.tsv"))
            .arg("--link")
            .arg(cat.join("links.tsv")),
        &log("interactions"),
    )?;
    push(
        "import interactions",
        s,
        Some(peak),
        Some(rows_in as f64 / s),
    );

    for (i, learner) in args.learners.iter().enumerate() {
        if learner == "ease" && items > args.ease_max_items {
            println!("{n}: train ease skipped ({items} items > --ease-max-items)");
            continue;
        }
        let mut cmd = binary(&data);
        cmd.args(["train", "--model", learner]);
        if ["als", "bpr", "cke", "ncf", "svd", "svdpp", "transe"].contains(&learner.as_str()) {
            cmd.args(["--dim", &args.dim.to_string()]);
        }
        let (s, peak) = timed(&mut cmd, &log(&format!("train-{learner}")))?;
        push(&format!("train {learner}"), s, Some(peak), None);
        if i > 0 {
            continue;
        }
        let rec = args.out.join(format!("rec-{n}.tsv"));
        let _ = fs::remove_file(&rec);
        let (s, peak) = timed(
            binary(&data)
                .args(["recommend", "--all-users", "-k", "20", "--force", "--out"])
                .arg(&rec),
            &log("all-users"),
        )?;
        push(
            &format!("recommend --all-users ({learner})"),
            s,
            Some(peak),
            Some(users as f64 / s),
        );
        fs::remove_file(&rec)?;

        let engine = Engine::open(&data)?;
        let names = engine.users()?;
        let step = (names.len() / args.requests.max(1)).max(1);
        let sample: Vec<&String> = names.iter().step_by(step).take(args.requests).collect();
        // The first request binds the model and builds the search graph: not counted.
        engine.recommend(&RecommendRequest::new(sample[0].as_str(), 10))?;
        for explain in [false, true] {
            let mut ms = Vec::with_capacity(sample.len());
            for user in &sample {
                let request = RecommendRequest {
                    explain: explain.then(ExplainOptions::default),
                    ..RecommendRequest::new(user.as_str(), 10)
                };
                let t = Instant::now();
                engine.recommend(&request)?;
                ms.push(t.elapsed().as_secs_f64() * 1e3);
            }
            let (p50, p99) = percentiles(ms);
            let what = if explain {
                "explained top-10"
            } else {
                "top-10"
            };
            push(&format!("request {what} p50"), p50 / 1e3, None, None);
            push(&format!("request {what} p99"), p99 / 1e3, None, None);
        }
    }
    let bytes = dir_bytes(&data)?;
    println!("{n}: data directory {:.1} MiB", bytes as f64 / 1048576.0);
    rows.push(Row {
        interactions: n,
        step: "data directory MiB".to_owned(),
        seconds: bytes as f64 / 1048576.0,
        peak_mib: None,
        rate: None,
    });
    Ok(rows)
}

/// `import kg` alone on a graph of about `triples` statements, with each binary given: rows keyed
/// by the statements written.
fn kg_only(
    args: &Args,
    binaries: &[(&str, &Path)],
    synth: &Path,
    triples: usize,
) -> Result<Vec<Row>> {
    let items = (triples as f64 / 5.4).round().max(10.0) as usize;
    let cat = args.out.join(format!("graph-{triples}"));
    if !cat.join("kg.nt").exists() {
        timed(
            Command::new(synth)
                .args(["--users", "100", "--items", &items.to_string()])
                .args(["--interactions", &items.to_string()])
                .args(["--seed", &args.seed.to_string(), "--out"])
                .arg(&cat),
            &args.out.join(format!("synth-graph-{triples}.log")),
        )?;
    }
    let written = count_lines(&cat.join("kg.nt"))?;
    let mut rows = Vec::new();
    for (name, binary) in binaries {
        let data = args.out.join(format!("data-graph-{name}-{triples}"));
        let _ = fs::remove_dir_all(&data);
        let (s, peak) = timed(
            Command::new(binary)
                .arg("--data")
                .arg(&data)
                .args(["-q", "import", "kg"])
                .arg(cat.join("kg.nt")),
            &args.out.join(format!("kg-only-{name}-{triples}.log")),
        )?;
        let bytes = dir_bytes(&data)?;
        fs::remove_dir_all(&data)?;
        println!(
            "{written} triples: import kg ({name}) {s:.2} s, peak {peak:.0} MiB, {:.0} triples/s, \
             data directory {:.1} MiB",
            written as f64 / s,
            bytes as f64 / 1048576.0
        );
        rows.push(Row {
            interactions: written,
            step: format!("import kg alone ({name})"),
            seconds: s,
            peak_mib: Some(peak),
            rate: Some(written as f64 / s),
        });
    }
    Ok(rows)
}

/// The least-squares slope of log(value) against log(interactions): 1 is linear.
fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .filter(|(x, y)| *x > 0.0 && *y > 0.0)
        .map(|(x, y)| (x.ln(), y.ln()))
        .collect();
    if pts.len() < 2 {
        return None;
    }
    let n = pts.len() as f64;
    let (mx, my) = (
        pts.iter().map(|p| p.0).sum::<f64>() / n,
        pts.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// Steps in first-seen order, each with its points.
fn series(rows: &[Row]) -> Vec<(String, Vec<&Row>)> {
    let mut out: Vec<(String, Vec<&Row>)> = Vec::new();
    for r in rows {
        match out.iter_mut().find(|(s, _)| *s == r.step) {
            Some((_, v)) => v.push(r),
            None => out.push((r.step.clone(), vec![r])),
        }
    }
    out
}

fn markdown(rows: &[Row], sizes: &[usize]) -> String {
    let mut md = String::from("| step |");
    for n in sizes {
        let _ = write!(md, " {n} |");
    }
    md.push_str(" slope | slope, last two sizes |\n|---|");
    md.push_str(&"---|".repeat(sizes.len() + 2));
    md.push('\n');
    for (step, points) in series(rows) {
        let _ = write!(md, "| {step} |");
        for n in sizes {
            let cell = points.iter().find(|r| r.interactions == *n).map_or_else(
                || "–".to_owned(),
                |r| {
                    let mut c = if step.starts_with("request") {
                        format!("{:.2} ms", r.seconds * 1e3)
                    } else if step.ends_with("MiB") {
                        format!("{:.1}", r.seconds)
                    } else {
                        format!("{:.2} s", r.seconds)
                    };
                    if let Some(p) = r.peak_mib {
                        let _ = write!(c, ", {p:.0} MiB");
                    }
                    if let Some(rate) = r.rate {
                        let _ = write!(c, ", {rate:.0}/s");
                    }
                    c
                },
            );
            let _ = write!(md, " {cell} |");
        }
        let pts: Vec<(f64, f64)> = points
            .iter()
            .map(|r| (r.interactions as f64, r.seconds))
            .collect();
        let shown = |s: Option<f64>| s.map_or_else(|| "–".to_owned(), |s| format!("{s:.2}"));
        let last = shown(slope(&pts[pts.len().saturating_sub(2)..]));
        let _ = writeln!(md, " {} | {last} |", shown(slope(&pts)));
    }
    md
}

fn plot(rows: &[Row], path: &Path) -> Result<()> {
    let timed: Vec<(String, Vec<&Row>)> = series(rows)
        .into_iter()
        .filter(|(s, _)| !s.ends_with("MiB") && !s.ends_with("p99"))
        .collect();
    let xs = rows.iter().map(|r| r.interactions as f64);
    let (x0, x1) = xs.fold((f64::MAX, 0.0f64), |(a, b), x| (a.min(x), b.max(x)));
    let ys = timed
        .iter()
        .flat_map(|(_, v)| v.iter().map(|r| r.seconds))
        .filter(|y| *y > 0.0);
    let (y0, y1) = ys.fold((f64::MAX, 0.0f64), |(a, b), y| (a.min(y), b.max(y)));
    if x1 <= 0.0 || y1 <= 0.0 {
        bail!("nothing to plot");
    }
    let root = BitMapBackend::new(path, (1200, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "kgrec cost against catalogue size (log-log)",
            ("sans-serif", 28),
        )
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(
            (x0 * 0.8..x1 * 1.25).log_scale(),
            (y0 * 0.5..y1 * 2.0).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc("interactions")
        .x_label_formatter(&|x| match *x {
            x if x >= 1e6 => format!("{}M", x / 1e6),
            x if x >= 1e3 => format!("{}k", x / 1e3),
            x => format!("{x}"),
        })
        .y_desc("seconds")
        .label_style(("sans-serif", 16))
        .draw()?;
    for (i, (step, points)) in timed.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let pts: Vec<(f64, f64)> = points
            .iter()
            .map(|r| (r.interactions as f64, r.seconds))
            .filter(|p| p.1 > 0.0)
            .collect();
        let label = match slope(&pts) {
            Some(s) => format!("{step} (slope {s:.2})"),
            None => step.clone(),
        };
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .draw()?;
    root.present()?;
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    let here = std::env::current_exe()?;
    let beside = |name: &str| here.with_file_name(name);
    let kgrec = args.kgrec.clone().unwrap_or_else(|| {
        here.parent()
            .and_then(Path::parent)
            .map_or_else(|| PathBuf::from("kgrec"), |p| p.join("kgrec"))
    });
    let synth = args.synth.clone().unwrap_or_else(|| beside("synth"));
    for (what, path) in [("kgrec", &kgrec), ("synth", &synth)] {
        if !path.exists() {
            bail!(
                "{} not found: build with `cargo build --release --bins --examples` or give --{what}",
                path.display()
            );
        }
    }
    let font = fs::read(&args.font).with_context(|| {
        format!(
            "--font {} (a TrueType font for the plot)",
            args.font.display()
        )
    })?;
    let font: &'static [u8] = Box::leak(font.into_boxed_slice());
    if register_font("sans-serif", FontStyle::Normal, font).is_err() {
        bail!("--font {}: not a TrueType font", args.font.display());
    }
    fs::create_dir_all(&args.out)?;
    let mut sizes = args.sizes.clone();
    sizes.sort_unstable();
    let mut rows = Vec::new();
    for &n in &sizes {
        rows.extend(one_size(&args, &kgrec, &synth, n)?);
    }
    let mut binaries: Vec<(&str, &Path)> = vec![("default", &kgrec)];
    if let Some(rocks) = &args.kgrec_rocksdb {
        binaries.push(("rocksdb", rocks));
    }
    let mut graph_rows = Vec::new();
    let mut kg_sizes = args.kg_sizes.clone();
    kg_sizes.sort_unstable();
    for &t in &kg_sizes {
        graph_rows.extend(kg_only(&args, &binaries, &synth, t)?);
    }
    let mut tsv = String::from("interactions\tstep\tvalue\tpeak_mib\trate_per_s\n");
    for r in rows.iter().chain(&graph_rows) {
        let opt = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v:.3}"));
        let _ = writeln!(
            tsv,
            "{}\t{}\t{:.6}\t{}\t{}",
            r.interactions,
            r.step,
            r.seconds,
            opt(r.peak_mib),
            opt(r.rate)
        );
    }
    fs::write(args.out.join("curves.tsv"), tsv)?;
    let mut md = markdown(&rows, &sizes);
    if !graph_rows.is_empty() {
        let triples: Vec<usize> = graph_rows.iter().map(|r| r.interactions).collect();
        let mut triples = triples;
        triples.dedup();
        md.push_str("\nImport of the graph alone (columns: statements):\n\n");
        md.push_str(&markdown(&graph_rows, &triples));
    }
    fs::write(args.out.join("curves.md"), &md)?;
    plot(&rows, &args.out.join("curves.png"))?;
    println!("\n{md}");
    println!(
        "wrote {}, curves.md and curves.png",
        args.out.join("curves.tsv").display()
    );
    Ok(())
}
