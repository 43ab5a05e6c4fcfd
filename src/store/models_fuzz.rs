//! Fuzzing of the model store's decoders with proptest (issue #20): the sled header of a
//! version in its three forms (bincode alone, checksummed, checksummed with its file's seal) and
//! the `models/vN.arrays` file, as arbitrary bytes and as real records with bytes changed —
//! their checksums recomputed, so that the changed bytes reach the decoders behind them.
//! Whatever the bytes: a `Corruption` error naming the version (and for a file, the file) or
//! the model itself, never a panic, and never an allocation a length field asks for beyond what
//! the bytes can hold (a failed allocation aborts the test process).
//!
//! Cases per test: proptest's default (256) or `PROPTEST_CASES`; the longer run of
//! `docs/reliability.md` is `PROPTEST_CASES=5000 cargo test --release --workspace --lib fuzz`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;

use super::*;
use crate::fuzzing::{apply, edit};

/// Bytes that make varints and lengths large or small, besides any byte at all.
const SPECIAL: &[u8] = &[0u8, 1, 0x7f, 0x80, 0xfb, 0xfc, 0xfd, 0xfe, 0xff];

/// A store holding one listed, current version (arrays of 3 × 25 floats, so several chunks)
/// in a file; its number.
fn one_version() -> (tempfile::TempDir, sled::Db, ModelStore, u64) {
    let tmp = tempfile::tempdir().unwrap();
    let db = sled::Config::new().temporary(true).open().unwrap();
    let store = ModelStore::open(&db, &tmp.path().join("models")).unwrap();
    let arrays: Vec<(String, Vec<f32>)> = ["users", "items", "item_bias"]
        .iter()
        .enumerate()
        .map(|(a, name)| {
            (
                (*name).to_owned(),
                (0..25).map(|k| (a * 25 + k) as f32 / 3.0).collect(),
            )
        })
        .collect();
    let header = ModelHeader {
        version: 0,
        kind: ModelKind::Bpr,
        params: "{\"dim\":5}".to_owned(),
        seed: 7,
        fingerprint: 99,
        created_unix: 1_700_000_000,
        users: 5,
        items: 5,
        interactions: 12,
        dim: 5,
        epochs: 3,
        final_loss: Some(0.25),
        fit_seconds: 0.5,
        metrics: vec![("ndcg@10".to_owned(), 0.3)],
        arrays: Vec::new(),
    };
    let v = store.write(header, &arrays, 3).unwrap();
    (tmp, db, store, v)
}

/// Every way of reading version `v`: each succeeds or is an error naming the version.
fn check_reads(store: &ModelStore, v: u64) -> Result<(), TestCaseError> {
    let name = format!("model v{v}");
    let outcomes = [
        store.header(v).map(|_| ()),
        store.load(v).map(|_| ()),
        store.load_current().map(|_| ()),
        store.list().map(|_| ()),
    ];
    for outcome in outcomes {
        match outcome {
            Ok(()) => {}
            Err(e @ (StoreError::Corruption { .. } | StoreError::ModelGone { .. })) => {
                prop_assert!(e.to_string().contains(&name), "{e}");
            }
            Err(e) => prop_assert!(false, "not a corruption: {e:?}"),
        }
    }
    Ok(())
}

/// `body` (bincode bytes, or anything) as the sled header of `v` in `form`: 0 bincode alone,
/// 1 [`CHECKED`], 2 [`IN_FILE`] with `seal`; checksums computed, so the body is decoded.
fn header_record(form: u8, body: &[u8], seal: FileSeal) -> Vec<u8> {
    let mut checked = Vec::new();
    if form == 2 {
        checked.extend_from_slice(&seal.to_bytes());
    }
    checked.extend_from_slice(body);
    if form == 0 {
        return checked;
    }
    let mut out = vec![if form == 1 { CHECKED } else { IN_FILE }];
    out.extend_from_slice(&crc32(&checked).to_le_bytes());
    out.extend_from_slice(&checked);
    out
}

/// The stored header of `v` split into its file seal and bincode body.
fn sealed_body(store: &ModelStore, v: u64) -> (FileSeal, Vec<u8>) {
    let record = store.tree.get(header_key(v)).unwrap().unwrap();
    assert_eq!(record[0], IN_FILE);
    let seal = FileSeal::from_bytes(record[5..5 + FileSeal::BYTES].try_into().unwrap());
    (seal, record[5 + FileSeal::BYTES..].to_vec())
}

/// `file` (a model file, or anything) with its header checksum recomputed where its length
/// field allows, and the seal that then matches it: changed bytes get past both checks.
fn resealed(mut file: Vec<u8>) -> (Vec<u8>, FileSeal) {
    let mut header_crc = 0;
    if file.len() >= 16 {
        let rest = u32::from_le_bytes(file[12..16].try_into().unwrap()) as usize;
        let end = 16 + rest;
        if end + 4 <= file.len() {
            header_crc = crc32(&file[..end]);
            file[end..end + 4].copy_from_slice(&header_crc.to_le_bytes());
        }
    }
    let seal = FileSeal {
        len: file.len() as u64,
        header_crc,
    };
    (file, seal)
}

proptest! {
    /// The version's sled header as arbitrary bytes, or its real bincode body with bytes
    /// changed, in each of the three forms.
    #[test]
    fn arbitrary_and_mutated_model_headers_are_corruption_never_a_panic(
        form in 0u8..4,
        mutate in any::<bool>(),
        edits in prop::collection::vec(edit(SPECIAL), 1..8),
        noise in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let (_tmp, _db, store, v) = one_version();
        let (seal, body) = sealed_body(&store, v);
        let body = if mutate { apply(body, &edits) } else { noise.clone() };
        let record = match form {
            3 => noise,
            _ => header_record(form, &body, seal),
        };
        store.tree.insert(header_key(v), record).unwrap();
        check_reads(&store, v)?;
    }

    /// The version's file with bytes changed: under its recorded seal (the length and header
    /// checksum catch it), and resealed (the changed bytes reach the header parser and chunks);
    /// and arbitrary bytes in its place.
    #[test]
    fn mutated_and_arbitrary_model_files_are_corruption_never_a_panic(
        reseal in any::<bool>(),
        edits in prop::collection::vec(edit(SPECIAL), 1..8),
        noise in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let (_tmp, _db, store, v) = one_version();
        let path = store.dir.join(model_file::file_name(v));
        let (seal, body) = sealed_body(&store, v);
        let infos = store.header(v).unwrap().arrays;
        let good = std::fs::read(&path).unwrap();
        for bytes in [apply(good.clone(), &edits), noise.clone()] {
            let (bytes, seal) = if reseal { resealed(bytes) } else { (bytes, seal) };
            std::fs::write(&path, &bytes).unwrap();
            store.tree.insert(header_key(v), header_record(2, &body, seal)).unwrap();
            match model_file::read(&store.dir, v, seal, &infos) {
                Ok(arrays) => prop_assert_eq!(bytes, good.clone(), "{:?}", arrays.len()),
                Err(e @ StoreError::Corruption { .. }) => {
                    let message = e.to_string();
                    prop_assert!(message.contains(&format!("model v{v} ")), "{message}");
                    prop_assert!(message.contains(&path.display().to_string()), "{message}");
                }
                Err(e) => prop_assert!(false, "not a corruption: {e:?}"),
            }
            check_reads(&store, v)?;
        }
    }
}

/// Regression (found while writing the header fuzzing, reading bincode's decoder): a header written before checksums is decoded as
/// it is, and a string length of 2^50 in it made bincode allocate 1 PiB before reading (an
/// allocation that fails aborts the process).
#[test]
fn a_huge_length_in_an_unchecked_header_is_corruption_without_allocating_it() {
    let (_tmp, _db, store, v) = one_version();
    let mut body = vec![v as u8, 1, 0xfd];
    body.extend_from_slice(&(1u64 << 50).to_le_bytes());
    body.extend_from_slice(b"{}");
    for form in 0..3 {
        store
            .tree
            .insert(
                header_key(v),
                header_record(
                    form,
                    &body,
                    FileSeal {
                        len: 0,
                        header_crc: 0,
                    },
                ),
            )
            .unwrap();
        let err = store.header(v).unwrap_err();
        assert!(matches!(err, StoreError::Corruption { .. }), "{err:?}");
    }
}

/// Regression: lengths a header records are bounded by what holds them before anything is
/// allocated — an array of 2^50 floats, recorded consistently in a model file's header and in
/// the sled header (checksums right), or in a header of the format before model files whose
/// chunks are missing, is `Corruption`, not a 4 PiB allocation.
#[test]
fn array_lengths_beyond_the_stored_bytes_are_corruption_without_allocating_them() {
    let (_tmp, _db, store, v) = one_version();
    let huge = 1u64 << 50;
    let mut header = store.header(v).unwrap();
    header.arrays = vec![ArrayInfo {
        name: "users".to_owned(),
        len: huge,
    }];
    // A file whose header names that array, with only its first chunk written.
    let path = store.dir.join(model_file::file_name(v));
    let mut rest = Vec::new();
    rest.extend_from_slice(&v.to_le_bytes());
    rest.extend_from_slice(&(FLOATS_PER_CHUNK as u32).to_le_bytes());
    rest.extend_from_slice(&1u32.to_le_bytes());
    rest.extend_from_slice(&5u32.to_le_bytes());
    rest.extend_from_slice(b"users");
    rest.extend_from_slice(&huge.to_le_bytes());
    let mut file = b"KGRECMDL".to_vec();
    file.extend_from_slice(&1u32.to_le_bytes());
    file.extend_from_slice(&(rest.len() as u32).to_le_bytes());
    file.extend_from_slice(&rest);
    let header_crc = crc32(&file);
    file.extend_from_slice(&header_crc.to_le_bytes());
    file.extend_from_slice(&encode_floats(&[1.0; FLOATS_PER_CHUNK]));
    std::fs::write(&path, &file).unwrap();
    let seal = FileSeal {
        len: file.len() as u64,
        header_crc,
    };
    store.put_header(&header, Some(seal)).unwrap();
    let err = store.load(v).unwrap_err();
    assert!(matches!(err, StoreError::Corruption { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    // The same array in sled, as before model files: its chunks are missing.
    store.put_header(&header, None).unwrap();
    let err = store.load(v).unwrap_err();
    assert!(matches!(err, StoreError::Corruption { .. }), "{err:?}");
}
