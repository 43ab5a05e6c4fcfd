//! The on-disk codec of the index's chunks: a run of byte strings readable one at a time.
//!
//! Layout (little-endian): `count: u32`, `count + 1` end offsets `u32` (the first is 0), then the
//! concatenated bytes. Reading entry `i` touches two offsets and one slice, so a lookup costs the
//! same whatever the chunk's size. Every read checks bounds and reports `Corruption`, never panics.

use crate::error::{KgError, Result};

/// Encodes `entries` into one chunk.
pub fn encode<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<u8>> {
    let entries: Vec<&[u8]> = entries.into_iter().collect();
    let total: usize = entries.iter().map(|e| e.len()).sum();
    let too_big = || KgError::BadArgument("an index chunk would exceed 4 GiB".to_owned());
    let count = u32::try_from(entries.len()).map_err(|_| too_big())?;
    u32::try_from(total).map_err(|_| too_big())?;
    let mut out = Vec::with_capacity(4 + 4 * (entries.len() + 1) + total);
    out.extend_from_slice(&count.to_le_bytes());
    let mut end = 0u32;
    out.extend_from_slice(&end.to_le_bytes());
    for e in &entries {
        end += e.len() as u32;
        out.extend_from_slice(&end.to_le_bytes());
    }
    for e in &entries {
        out.extend_from_slice(e);
    }
    Ok(out)
}

fn read_u32(bytes: &[u8], at: usize) -> Result<u32> {
    bytes
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| KgError::corruption(format!("index chunk truncated at byte {at}")))
}

/// Number of entries in a chunk.
pub fn len(chunk: &[u8]) -> Result<usize> {
    Ok(read_u32(chunk, 0)? as usize)
}

/// Entry `i` of a chunk.
pub fn get(chunk: &[u8], i: usize) -> Result<&[u8]> {
    let count = len(chunk)?;
    if i >= count {
        return Err(KgError::corruption(format!(
            "index chunk has {count} entries, entry {i} asked"
        )));
    }
    let data = 4 + 4 * (count + 1);
    let start = read_u32(chunk, 4 + 4 * i)? as usize;
    let end = read_u32(chunk, 8 + 4 * i)? as usize;
    chunk
        .get(data + start..data + end)
        .filter(|_| start <= end)
        .ok_or_else(|| KgError::corruption(format!("index chunk entry {i} out of bounds")))
}

/// Every entry of a chunk, in order.
pub fn entries(chunk: &[u8]) -> Result<Vec<&[u8]>> {
    (0..len(chunk)?).map(|i| get(chunk, i)).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_entry_reads_back(entries in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..40), 0..60)) {
            let chunk = encode(entries.iter().map(|e| e.as_slice())).unwrap();
            prop_assert_eq!(len(&chunk).unwrap(), entries.len());
            for (i, e) in entries.iter().enumerate() {
                prop_assert_eq!(get(&chunk, i).unwrap(), e.as_slice());
            }
            prop_assert!(get(&chunk, entries.len()).is_err());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80),
                                       i in 0usize..10) {
            let _ = get(&bytes, i);
            let _ = entries(&bytes);
        }

        #[test]
        fn truncation_is_reported_not_misread(entries in proptest::collection::vec(
            "[a-z]{1,12}", 1..20), cut in 1usize..50) {
            let chunk = encode(entries.iter().map(|e| e.as_bytes())).unwrap();
            let cut = cut.min(chunk.len());
            let truncated = &chunk[..chunk.len() - cut];
            // Entries are never empty, so the last one always loses bytes.
            let read = super::entries(truncated);
            let is_corruption = matches!(read, Err(KgError::Corruption { .. }));
            prop_assert!(is_corruption);
        }
    }
}
