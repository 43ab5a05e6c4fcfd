//! Mutations for the proptest fuzzing of kgrec's decoders (issue #20): a few byte edits of a
//! real file, biased to the bytes that matter to its format. Shared by the fuzz tests of the
//! interaction and link parsers, the model store and the `FORMAT` marker.

use proptest::prelude::*;

pub(crate) use kgrec_kg::testdata::Edit;

/// An edit whose byte is any byte or one of `special`.
pub(crate) fn edit(special: &[u8]) -> impl Strategy<Value = Edit> + use<> {
    let byte = prop_oneof![any::<u8>(), prop::sample::select(special.to_vec())];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(at, b)| Edit::Replace(at, b)),
        (any::<usize>(), byte).prop_map(|(at, b)| Edit::Insert(at, b)),
        any::<usize>().prop_map(Edit::Delete),
    ]
}

/// `bytes` with `edits` applied in turn.
pub(crate) fn apply(bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    kgrec_kg::testdata::apply_edits(bytes, edits)
}
