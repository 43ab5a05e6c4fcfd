//! Fuzzing of the interaction and link parsers with proptest: real files of every format
//! (made from `fixtures/`), mutated byte by byte, and arbitrary bytes. Whatever the input, a
//! parser returns rows or an error that names the file — never a panic.
//!
//! Cases per test: proptest's default (256) or `PROPTEST_CASES`; the longer run of
//! `docs/reliability.md` is `PROPTEST_CASES=5000 cargo test --release --workspace --lib fuzz`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;
use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::fuzzing::{apply, edit};

/// The first rows of `fixtures/interactions.tsv` as `(user, item, rating, timestamp)`.
fn fixture_rows() -> Vec<[String; 4]> {
    let text = include_str!("../../fixtures/interactions.tsv");
    text.lines()
        .skip(1)
        .take(30)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            std::array::from_fn(|k| f.get(k).copied().unwrap_or("").to_owned())
        })
        .collect()
}

/// The fixture rows written in `format`, as a file of that format would hold them.
fn seed_file(format: Format) -> (String, Vec<u8>) {
    let rows = fixture_rows();
    let lines = |head: Option<&str>, f: &dyn Fn(&[String; 4]) -> String| {
        let mut out: Vec<String> = head.map(str::to_owned).into_iter().collect();
        out.extend(rows.iter().map(f));
        out.join("\n") + "\n"
    };
    let (name, text) = match format {
        Format::Tsv => (
            "in.tsv",
            lines(Some("user_id\titem_id\trating\ttimestamp"), &|r| {
                r.join("\t")
            }),
        ),
        Format::Csv => (
            "in.csv",
            lines(Some("user_id,item_id,rating,timestamp"), &|r| r.join(",")),
        ),
        Format::MovieLens => ("u.data", lines(None, &|r| r.join("\t"))),
        Format::RecBole => (
            "in.inter",
            lines(
                Some("user_id:token\titem_id:token\trating:float\ttimestamp:float"),
                &|r| r.join("\t"),
            ),
        ),
        Format::Kgat => ("train.txt", lines(None, &|r| format!("{} {}", r[0], r[1]))),
    };
    (name.to_owned(), text.into_bytes())
}

/// Bytes that matter to these formats, besides any byte at all.
const SPECIAL: &[u8] = b"\t\n\r,; :|\"-.0123456789eE\xef\xbb\xbf";

/// Parses `bytes` named `name` in `format` (`None`: guessed) and checks that an error names
/// the file.
fn check_interactions(
    name: &str,
    bytes: &[u8],
    format: Option<Format>,
) -> Result<(), TestCaseError> {
    let path = Path::new(name);
    let options = parse::ReadOptions::format(format);
    if let Err(e) = read_reader(Cursor::new(bytes), path, &options) {
        let message = e.to_string();
        prop_assert!(message.contains(name), "{format:?}: {message}");
    }
    Ok(())
}

fn check_links(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Err(e) = parse_link_reader(Cursor::new(bytes), Path::new("links.tsv")) {
        let message = e.to_string();
        prop_assert!(message.contains("links.tsv"), "{message}");
    }
    Ok(())
}

proptest! {
    /// A real file of every format with a few bytes changed, read as its format and guessed.
    #[test]
    fn mutated_interaction_files_never_panic(
        format in prop::sample::select(Format::ALL.to_vec()),
        edits in prop::collection::vec(edit(SPECIAL), 1..8),
    ) {
        let (name, seed) = seed_file(format);
        let bytes = apply(seed, &edits);
        check_interactions(&name, &bytes, Some(format))?;
        check_interactions(&name, &bytes, None)?;
        // The same bytes read as every other format.
        for other in Format::ALL {
            check_interactions(&name, &bytes, Some(other))?;
        }
    }

    /// Arbitrary bytes and arbitrary text, as every format and guessed.
    #[test]
    fn arbitrary_interaction_bytes_never_panic(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            "[0-9a-z\t\n,:;| .\"-]{0,300}".prop_map(String::into_bytes),
        ],
        name in prop::sample::select(vec!["in.tsv", "in.csv", "u.data", "in.inter", "train.txt", "in.txt", "in.tsv.gz"]),
    ) {
        check_interactions(name, &bytes, None)?;
        for format in Format::ALL {
            check_interactions(name, &bytes, Some(format))?;
        }
    }

    /// `fixtures/links.tsv` with a few bytes changed, and arbitrary bytes.
    #[test]
    fn mutated_link_files_never_panic(
        edits in prop::collection::vec(edit(SPECIAL), 1..8),
        noise in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let seed: Vec<u8> = include_bytes!("../../fixtures/links.tsv").iter().copied().take(1500).collect();
        check_links(&apply(seed, &edits))?;
        check_links(&noise)?;
    }
}
