//! Data-set benchmark: importing N-Triples with kgrec against oxigraph's own loader, same file,
//! same run. Default build: oxigraph's memory store; `--features rocksdb`: its RocksDB bulk loader.
//!
//! cargo bench --bench import_1m [-- FILE.nt]
//! Without FILE, writes 1,000,000 synthetic statements (films, directors, genres, labels) to a
//! temporary file. Prints seconds for each and kgrec's throughput as a ratio of oxigraph's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kgrec_kg::oxigraph::io::{RdfFormat, RdfParser};
use kgrec_kg::oxigraph::store::Store;
use kgrec_kg::{ImportOptions, KgStore, SourceOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn synthetic(path: &Path, n: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..n {
        let film = i / 3;
        match i % 3 {
            0 => writeln!(out, "<http://example.org/film/{film}> <http://example.org/director> <http://example.org/person/{}> .", film % 9973),
            1 => writeln!(out, "<http://example.org/film/{film}> <http://example.org/genre> <http://example.org/genre/{}> .", film % 31),
            _ => writeln!(out, "<http://example.org/film/{film}> <http://www.w3.org/2000/01/rdf-schema#label> \"Film {film}\"@en ."),
        }
        .unwrap();
    }
}

/// Oxigraph's N-Triples parser alone over the file: the part of both loaders that is parsing.
fn oxigraph_parse(file: &Path) -> (f64, usize) {
    let start = Instant::now();
    let reader = std::io::BufReader::new(std::fs::File::open(file).unwrap());
    let mut n = 0;
    for quad in RdfParser::from_format(RdfFormat::NTriples).for_reader(reader) {
        quad.unwrap();
        n += 1;
    }
    (start.elapsed().as_secs_f64(), n)
}

fn oxigraph_load(file: &Path, dir: &Path) -> (f64, usize) {
    // RocksDB creates only the last component of its path.
    std::fs::create_dir_all(dir).unwrap();
    let start = Instant::now();
    #[cfg(feature = "rocksdb")]
    let store = Store::open(dir.join("oxigraph")).unwrap();
    #[cfg(not(feature = "rocksdb"))]
    let store = {
        let _ = dir;
        Store::new().unwrap()
    };
    let mut loader = store.bulk_loader();
    loader
        .load_from_reader(
            RdfParser::from_format(RdfFormat::NTriples),
            std::io::BufReader::new(std::fs::File::open(file).unwrap()),
        )
        .unwrap();
    loader.commit().unwrap();
    let seconds = start.elapsed().as_secs_f64();
    (seconds, store.len().unwrap())
}

fn kgrec_import(file: &Path, dir: &Path) -> (f64, u64) {
    let start = Instant::now();
    let db = sled::open(dir.join("sled")).unwrap();
    let mut kg = KgStore::open(&dir.join("kg"), &db).unwrap();
    let options = ImportOptions {
        source: SourceOptions {
            format: None,
            base: None,
        },
        lenient: false,
    };
    let report = kg
        .import(&[file.to_owned()], &options, &mut |_| {})
        .unwrap();
    let phases: Vec<String> = report
        .phases
        .iter()
        .map(|(p, s)| format!("{p} {s:.2}"))
        .collect();
    println!("  kgrec phases (s): {}", phases.join(", "));
    (start.elapsed().as_secs_f64(), report.counts.triples)
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let file: PathBuf = match std::env::args().skip(1).find(|a| !a.starts_with('-')) {
        Some(f) => PathBuf::from(f),
        None => {
            let f = tmp.path().join("synthetic-1m.nt");
            synthetic(&f, 1_000_000);
            f
        }
    };
    let backend = if cfg!(feature = "rocksdb") {
        "rocksdb bulk loader"
    } else {
        "memory store"
    };
    let (p, n) = oxigraph_parse(&file);
    println!("oxigraph's parser alone: {p:.2} s for {n} statements");
    // Alternate the two so that neither always runs on a cold page cache.
    let mut ox = Vec::new();
    let mut ours = Vec::new();
    for round in 0..3 {
        let (s, n) = oxigraph_load(&file, &tmp.path().join(format!("ox{round}")));
        ox.push(s);
        let (k, m) = kgrec_import(&file, &tmp.path().join(format!("kg{round}")));
        ours.push(k);
        assert_eq!(n as u64, m, "both must hold the same statements");
        println!(
            "round {round}: oxigraph ({backend}) {s:.2} s, kgrec import {k:.2} s, {n} statements"
        );
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (o, k) = (median(&mut ox), median(&mut ours));
    println!(
        "median: oxigraph {o:.2} s, kgrec {k:.2} s; kgrec throughput = {:.2}x oxigraph's",
        o / k
    );
}
