//! Fuzzing of this crate's own decoders with proptest (issue #20): the TSV triples reader, the
//! index chunk codec and the embedding export reader, each fed real-looking files with a few
//! bytes changed and arbitrary bytes. Whatever the input: no panic, and an error names the
//! file (and, for a text format, the line).
//!
//! Cases per test: proptest's default (256) or `PROPTEST_CASES`; the longer run of
//! `docs/reliability.md` is `PROPTEST_CASES=5000 cargo test --release --workspace --lib fuzz`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use proptest::prelude::*;

use crate::error::KgError;
use crate::source::{self, InputFormat, SourceOptions};
use crate::testdata::Edit;

/// Edits biased to the bytes that matter to `special`'s formats, besides any byte at all.
fn edit(special: &'static [u8]) -> impl Strategy<Value = Edit> {
    let byte = prop_oneof![any::<u8>(), prop::sample::select(special.to_vec())];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(at, b)| Edit::Replace(at, b)),
        (any::<usize>(), byte).prop_map(|(at, b)| Edit::Insert(at, b)),
        any::<usize>().prop_map(Edit::Delete),
    ]
}

fn apply(bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    crate::testdata::apply_edits(bytes, edits)
}

/// A TSV graph as the benchmarks and kgrec's own outputs write them: a header, Freebase-style
/// ids, bare tokens, IRIs bare and in brackets, literal tails, a comment and a blank line.
const TSV_SEED: &str = "head\trelation\ttail\n\
/m/027rn\t/location/country/form_of_government\t/m/06cx9\n\
/m/017dcd\t/tv/tv_program/regular_cast./tv/regular_tv_appearance/actor\t/m/06v8s0\n\
# a comment\n\
\n\
toy_story\tdirected_by\tjohn lasseter\n\
<http://example.org/movie/1>\t<http://example.org/p/title>\t\"Toy Story\"@en\n\
http://example.org/movie/2\thttp://example.org/p/year\t\"1995\"^^<http://www.w3.org/2001/XMLSchema#gYear>\n\
m3\tlabel\t\"caf\u{e9} \\\"noir\\\"\"\n";

/// KGAT's `kg_final.txt`: fields split by spaces.
const KGAT_SEED: &str = "0 1 5\n5 2 7\n7 1 0\n12 0 3\n";

const TSV_BYTES: &[u8] = b"\t\n\r #<>\"@^:/_.-0123456789\\\x00\x7f\xc3\xa9\xef\xbb\xbf";

/// Reads `bytes` as the TSV graph `name` to the end: every statement or error. An error must
/// name the file, and a syntax error its line (one the file has).
fn read_tsv(dir: &Path, name: &str, bytes: &[u8]) -> Result<usize, TestCaseError> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let options = SourceOptions {
        format: Some(InputFormat::Tsv),
        base: None,
    };
    let lines = bytes.split(|&b| b == b'\n').count() as u64;
    let check = |e: KgError| -> Result<(), TestCaseError> {
        let message = e.to_string();
        prop_assert!(message.contains(name), "{message}");
        if let KgError::Syntax { location, .. } = &e {
            prop_assert!(
                location.line >= 1 && location.line <= lines,
                "line {} of {lines}: {message}",
                location.line
            );
            prop_assert!(location.column >= 1, "{message}");
        }
        Ok(())
    };
    let opened = match source::open(&path, &options) {
        Ok(opened) => opened,
        Err(e) => {
            check(e)?;
            return Ok(0);
        }
    };
    let statements = match source::statements(opened, &options, false) {
        Ok(statements) => statements,
        Err(e) => {
            check(e)?;
            return Ok(0);
        }
    };
    let mut read = 0;
    for statement in statements {
        match statement {
            Ok(_) => read += 1,
            Err(e) => check(e)?,
        }
    }
    Ok(read)
}

/// What an entry read from a chunk must be: a slice of the chunk itself.
fn check_chunk(bytes: &[u8]) -> Result<(), TestCaseError> {
    use crate::chunk;
    let Ok(n) = chunk::len(bytes) else {
        return Ok(());
    };
    // Entries past the first few hundred read the same way: bounded work per case.
    for i in (0..n.min(300)).chain([n, n.saturating_add(1), usize::MAX / 8]) {
        match chunk::get(bytes, i) {
            Ok(entry) => {
                prop_assert!(i < n);
                prop_assert!(entry.len() <= bytes.len());
            }
            Err(e) => prop_assert!(e.to_string().contains("chunk"), "{e}"),
        }
    }
    if let Ok(entries) = chunk::entries(bytes) {
        prop_assert_eq!(entries.len(), n);
    }
    Ok(())
}

/// Writes an export folder of `meta`, `entities` and `relations` and reads it back: a model
/// whose shapes agree with `meta.json`, or an error naming one of the files.
fn read_export(
    dir: &Path,
    meta: &[u8],
    entities: &[u8],
    relations: &[u8],
) -> Result<(), TestCaseError> {
    std::fs::write(dir.join("meta.json"), meta).unwrap();
    std::fs::write(dir.join("entities.tsv"), entities).unwrap();
    std::fs::write(dir.join("relations.tsv"), relations).unwrap();
    match crate::embed::read_export(dir) {
        Ok((model, ents, rels)) => {
            prop_assert_eq!(model.num_entities(), ents.len());
            prop_assert_eq!(model.num_relations(), rels.len());
        }
        Err(e) => {
            let message = e.to_string();
            prop_assert!(
                ["meta.json", "entities.tsv", "relations.tsv"]
                    .iter()
                    .any(|f| message.contains(f)),
                "{message}"
            );
        }
    }
    Ok(())
}

proptest! {
    /// A real-looking TSV graph (tab- or space-separated) with a few bytes changed.
    #[test]
    fn mutated_tsv_graphs_never_panic(
        kgat in any::<bool>(),
        edits in prop::collection::vec(edit(TSV_BYTES), 1..8),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let seed = if kgat { KGAT_SEED } else { TSV_SEED };
        let bytes = apply(seed.as_bytes().to_vec(), &edits);
        read_tsv(tmp.path(), "graph.tsv", &bytes)?;
    }

    /// Arbitrary bytes and text as a TSV graph.
    #[test]
    fn arbitrary_tsv_bytes_never_panic(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..400),
            "[a-z0-9<>\"@^:/#\t\n .\\\\-]{0,400}".prop_map(String::into_bytes),
        ],
    ) {
        let tmp = tempfile::tempdir().unwrap();
        read_tsv(tmp.path(), "graph.tsv", &bytes)?;
    }

    /// Real chunks with bytes changed, and arbitrary bytes, through the chunk codec.
    #[test]
    fn mutated_and_arbitrary_chunks_never_panic(
        entries in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..20), 0..30),
        edits in prop::collection::vec(edit(b"\x00\x01\x02\x04\xff"), 1..6),
        noise in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let chunk = crate::chunk::encode(entries.iter().map(Vec::as_slice)).unwrap();
        check_chunk(&apply(chunk, &edits))?;
        check_chunk(&noise)?;
    }

    /// An export of every model kind with a few bytes of one of its files changed.
    #[test]
    fn mutated_embedding_exports_never_panic(
        model in 0usize..3,
        file in 0usize..3,
        edits in prop::collection::vec(edit(b"\t\n{}\":,.-0123456789e"), 1..6),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let (meta, ent_w, rel_w) = [
            ("{\"model\":\"transe\",\"dim\":2,\"norm\":1}", 2, 2),
            ("{\"model\":\"rotate\",\"dim\":2}", 4, 2),
            ("{\"model\":\"transr\",\"dim\":2,\"norm\":2,\"rel_dim\":1}", 2, 3),
        ][model];
        let table = |tokens: &[&str], width: usize| -> Vec<u8> {
            tokens
                .iter()
                .enumerate()
                .map(|(k, t)| {
                    let values: Vec<String> =
                        (0..width).map(|j| format!("{}", (k * width + j) as f32 / 7.0 - 0.5)).collect();
                    format!("{t}\t{}\n", values.join("\t"))
                })
                .collect::<String>()
                .into_bytes()
        };
        let mut files = [
            meta.as_bytes().to_vec(),
            table(&["a", "b", "c"], ent_w),
            table(&["likes", "knows"], rel_w),
        ];
        files[file] = apply(std::mem::take(&mut files[file]), &edits);
        read_export(tmp.path(), &files[0], &files[1], &files[2])?;
    }

    /// Arbitrary `meta.json` values (any dimension) over small tables.
    #[test]
    fn arbitrary_export_metas_never_panic(
        model in prop::sample::select(vec!["transe", "rotate", "transr", "distmult"]),
        dim in prop_oneof![0usize..4, any::<usize>()],
        rel_dim in prop_oneof![Just(None), (0usize..4).prop_map(Some), any::<usize>().prop_map(Some)],
        norm in prop_oneof![Just(None), any::<u8>().prop_map(Some)],
        width in 0usize..5,
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let meta = serde_json::json!({"model": model, "dim": dim, "norm": norm, "rel_dim": rel_dim});
        let row = |t: &str| format!("{t}{}\n", "\t0.5".repeat(width));
        let entities = format!("{}{}", row("a"), row("b"));
        read_export(tmp.path(), meta.to_string().as_bytes(), entities.as_bytes(), row("r").as_bytes())?;
    }
}
