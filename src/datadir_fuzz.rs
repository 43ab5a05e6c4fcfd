//! Fuzzing of the `FORMAT` marker reader with proptest (issue #20): the marker kgrec writes with
//! bytes changed, and arbitrary bytes, read by both paths that read it (a writable open, which
//! writes a missing marker, and a read-only one). Whatever the bytes: the marker is ours, or an
//! error naming the marker file (damage) or the directory (another format or backend) — never a
//! panic, never a rewritten marker.
//!
//! Cases per test: proptest's default (256) or `PROPTEST_CASES`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;

use super::*;
use crate::fuzzing::{apply, edit};

/// Bytes that matter to this format, besides any byte at all.
const SPECIAL: &[u8] = b"{}[]\":,0123456789-.e \n\\ufr";

/// The marker this build writes.
fn ours() -> Vec<u8> {
    serde_json::to_vec_pretty(&FormatMarker {
        kgrec_data_format: FORMAT_VERSION,
        backend: BACKEND.to_owned(),
    })
    .unwrap()
}

/// `bytes` as the marker of a folder, read both ways.
fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let path = dir.join(FORMAT_FILE);
    std::fs::write(&path, bytes).unwrap();
    for outcome in [check_format(dir), check_or_write_format(dir)] {
        match outcome {
            Ok(()) => {
                let found: FormatMarker = serde_json::from_slice(bytes).unwrap();
                prop_assert_eq!(found.kgrec_data_format, FORMAT_VERSION);
                prop_assert_eq!(found.backend.as_str(), BACKEND);
            }
            Err(e @ Error::Corruption { .. }) => {
                let message = e.to_string();
                prop_assert!(message.contains(&path.display().to_string()), "{message}");
            }
            Err(e @ Error::Version { .. }) => {
                let message = e.to_string();
                prop_assert!(message.contains(&dir.display().to_string()), "{message}");
            }
            Err(e) => prop_assert!(false, "{e:?}"),
        }
        prop_assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "the marker was rewritten"
        );
    }
    Ok(())
}

proptest! {
    #[test]
    fn mutated_and_arbitrary_format_markers_never_panic(
        edits in prop::collection::vec(edit(SPECIAL), 1..8),
        noise in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..120),
            "[{}\":,0-9a-z_ -]{0,120}".prop_map(String::into_bytes),
        ],
    ) {
        check(&apply(ours(), &edits))?;
        check(&noise)?;
    }
}
