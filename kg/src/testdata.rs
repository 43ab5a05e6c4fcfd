//! Test support: where the shared data sets are, and whether a test may skip without them.
//!
//! Tests that read `../shared/datasets` (beside the checkout) skip with a note when it is absent,
//! so that a fresh clone's `cargo test` passes. Under `KGREC_REQUIRE_DATA=1` (CI sets it) they
//! fail instead, naming the missing path: a CI that lost the data sets cannot pass silently.
//! Every test of the workspace that needs the data sets asks [`shared_dataset`], this crate's unit
//! tests and the root's integration tests alike. Always compiled (and hidden from the docs): a
//! cargo feature for it would build the two crates twice, once with and once without it, since
//! dev-dependency features apply only to builds that include tests or benches.

use std::path::{Path, PathBuf};

/// The environment variable that turns a missing data set from a skip into a failure.
pub const REQUIRE_DATA_ENV: &str = "KGREC_REQUIRE_DATA";

/// The folder of the shared data sets: `shared/datasets` beside the workspace.
pub fn datasets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/datasets")
}

/// Whether `KGREC_REQUIRE_DATA` asks for the data sets (set, and neither empty nor `0`).
pub fn data_required() -> bool {
    std::env::var_os(REQUIRE_DATA_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// `relative` under the shared data sets, or `None` (with a note on stderr) when it is absent.
///
/// # Panics
/// When it is absent and [`data_required`]: the calling test fails rather than skips.
pub fn shared_dataset(relative: &str) -> Option<PathBuf> {
    locate(&datasets_dir(), relative, data_required())
}

#[allow(
    clippy::panic,
    reason = "a test that needs data it cannot find must fail"
)]
fn locate(root: &Path, relative: &str, required: bool) -> Option<PathBuf> {
    let path = root.join(relative);
    if path.exists() {
        return Some(path);
    }
    if required {
        panic!(
            "{} is absent and {REQUIRE_DATA_ENV} is set: lay out shared/datasets beside the \
             checkout, or unset {REQUIRE_DATA_ENV} to skip the tests that need it",
            path.display()
        );
    }
    eprintln!("skipped: {} is absent", path.display());
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_present_data_set_is_found_and_an_absent_one_skips_when_not_required() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("kge/umls")).unwrap();
        assert_eq!(
            locate(tmp.path(), "kge/umls", true),
            Some(tmp.path().join("kge/umls"))
        );
        assert_eq!(locate(tmp.path(), "kge/nations", false), None);
    }

    #[test]
    #[should_panic(expected = "kge/nations is absent and KGREC_REQUIRE_DATA is set")]
    fn an_absent_data_set_fails_when_required() {
        let tmp = tempfile::tempdir().unwrap();
        locate(tmp.path(), "kge/nations", true);
    }
}

/// One edit of a file, for the fuzz tests (issue #20): replace, insert or delete the byte at a
/// position (taken modulo the length).
#[derive(Debug, Clone)]
pub enum Edit {
    Replace(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

/// `bytes` with `edits` applied in turn.
pub fn apply_edits(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let n = bytes.len();
        match *e {
            Edit::Replace(at, b) if n > 0 => bytes[at % n] = b,
            Edit::Insert(at, b) => bytes.insert(at % (n + 1), b),
            Edit::Delete(at) if n > 0 => {
                bytes.remove(at % n);
            }
            _ => {}
        }
    }
    bytes
}
