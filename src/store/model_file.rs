//! The file that holds the arrays of one model version, `models/vN.arrays` beside `sled/`.
//!
//! sled 0.34 keeps a large value as a file of its own under `sled/blobs` and removes a replaced
//! one only when its log segment is retired, which a short-lived command never reaches: model
//! arrays kept in sled made the directory grow by the model's size at every `train`. In files of
//! their own, a pruned version gives its space back at once.
//!
//! Layout (all integers little-endian):
//! - `KGRECMDL` (8 bytes), the file format (u32, [`FILE_FORMAT`]), the length of the rest of the
//!   header (u32);
//! - the rest of the header: the version (u64), floats per chunk (u32), the number of arrays
//!   (u32), then per array its name (u32 length, UTF-8 bytes) and its length in floats (u64);
//! - the CRC-32 of everything above;
//! - each array in turn, in chunks of floats-per-chunk floats (the last one shorter), each chunk
//!   followed by its CRC-32.
//!
//! The file is written whole beside its name ([`fsutil::AtomicFile`]: a temporary sibling,
//! fsynced, renamed, the folder fsynced) before the version's sled header, which records the
//! file's length and its header's CRC, so a listed version always has its whole file.

use super::models::{ArrayInfo, encode_floats, verify};
use super::{Result, StoreError};
use kgrec_kg::fsutil;
use kgrec_kg::integrity::crc32;
use std::ffi::OsStr;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"KGRECMDL";
/// The format of the files this build writes and reads.
const FILE_FORMAT: u32 = 1;
/// Longest header read: a flipped length byte must not ask for gigabytes.
const MAX_HEADER: u32 = 1 << 20;

/// What the sled header records of a version's file, to know it is the one written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileSeal {
    /// Its length in bytes.
    pub len: u64,
    /// The CRC-32 of its header.
    pub header_crc: u32,
}

impl FileSeal {
    pub(crate) const BYTES: usize = 12;

    pub(crate) fn to_bytes(self) -> [u8; Self::BYTES] {
        let mut out = [0u8; Self::BYTES];
        out[..8].copy_from_slice(&self.len.to_le_bytes());
        out[8..].copy_from_slice(&self.header_crc.to_le_bytes());
        out
    }

    pub(crate) fn from_bytes(bytes: &[u8; Self::BYTES]) -> Self {
        let mut len = [0u8; 8];
        len.copy_from_slice(&bytes[..8]);
        let mut crc = [0u8; 4];
        crc.copy_from_slice(&bytes[8..]);
        Self {
            len: u64::from_le_bytes(len),
            header_crc: u32::from_le_bytes(crc),
        }
    }
}

/// The name of version `version`'s file.
pub(crate) fn file_name(version: u64) -> String {
    format!("v{version}.arrays")
}

/// The version whose file is called `name`, if it is one.
pub(crate) fn version_of(name: &OsStr) -> Option<u64> {
    let name = name.to_str()?;
    let digits = name.strip_prefix('v')?.strip_suffix(".arrays")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn io_error(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::ModelFile {
        path: path.to_owned(),
        source,
    }
}

/// Writes the file of `version` into `dir` (created if missing), whole or not at all.
pub(crate) fn write(
    dir: &Path,
    version: u64,
    arrays: &[(String, Vec<f32>)],
    per_chunk: usize,
) -> Result<FileSeal> {
    if !dir.is_dir() {
        fsutil::create_dirs(dir).map_err(|e| io_error(dir, e))?;
        fsutil::sync_parent(dir)?;
    }
    let path = dir.join(file_name(version));
    let mut rest = Vec::new();
    rest.extend_from_slice(&version.to_le_bytes());
    let chunk = u32::try_from(per_chunk)
        .map_err(|_| StoreError::corruption(format!("model v{version}"), "chunks too large"))?;
    rest.extend_from_slice(&chunk.to_le_bytes());
    let count = u32::try_from(arrays.len())
        .map_err(|_| StoreError::corruption(format!("model v{version}"), "too many arrays"))?;
    rest.extend_from_slice(&count.to_le_bytes());
    for (name, values) in arrays {
        let n = u32::try_from(name.len()).map_err(|_| {
            StoreError::corruption(format!("model v{version}"), "array name too long")
        })?;
        rest.extend_from_slice(&n.to_le_bytes());
        rest.extend_from_slice(name.as_bytes());
        rest.extend_from_slice(&(values.len() as u64).to_le_bytes());
    }
    let rest_len = u32::try_from(rest.len())
        .ok()
        .filter(|&n| n <= MAX_HEADER)
        .ok_or_else(|| StoreError::corruption(format!("model v{version}"), "header too long"))?;
    let mut header = Vec::with_capacity(16 + rest.len() + 4);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FILE_FORMAT.to_le_bytes());
    header.extend_from_slice(&rest_len.to_le_bytes());
    header.extend_from_slice(&rest);
    let header_crc = crc32(&header);
    header.extend_from_slice(&header_crc.to_le_bytes());

    let mut file = fsutil::AtomicFile::create(&path)?;
    let mut len = header.len() as u64;
    file.write_all(&header).map_err(|e| io_error(&path, e))?;
    for (_, values) in arrays {
        for chunk in values.chunks(per_chunk.max(1)) {
            let bytes = encode_floats(chunk);
            len += bytes.len() as u64;
            file.write_all(&bytes).map_err(|e| io_error(&path, e))?;
        }
    }
    file.commit()?;
    Ok(FileSeal { len, header_crc })
}

/// Reads the arrays of `version` from its file in `dir`, checking them against what its sled
/// header recorded (`seal`, `infos`). A missing file is [`StoreError::ModelGone`]; any byte
/// that differs from what was written is [`StoreError::Corruption`] naming the file and chunk.
pub(crate) fn read(
    dir: &Path,
    version: u64,
    seal: FileSeal,
    infos: &[ArrayInfo],
) -> Result<Vec<(String, Vec<f32>)>> {
    let path = dir.join(file_name(version));
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(StoreError::ModelGone { version, path });
        }
        Err(e) => return Err(io_error(&path, e)),
    };
    let shown = path.display().to_string();
    let damaged = |what: &str, detail: String| {
        StoreError::corruption(format!("model v{version} {what} (file {shown})"), detail)
    };
    let actual = file.metadata().map_err(|e| io_error(&path, e))?.len();
    if actual != seal.len {
        return Err(damaged(
            "arrays",
            format!("{actual} bytes, {} were written", seal.len),
        ));
    }
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut read_exact = |buf: &mut [u8], what: &str| -> Result<()> {
        reader.read_exact(buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                damaged(what, "cut short".to_owned())
            } else {
                io_error(&path, e)
            }
        })
    };
    let mut fixed = [0u8; 16];
    read_exact(&mut fixed, "header")?;
    let rest_len = u32::from_le_bytes([fixed[12], fixed[13], fixed[14], fixed[15]]);
    if &fixed[..8] != MAGIC || rest_len > MAX_HEADER || u64::from(rest_len) + 20 > actual {
        return Err(damaged("header", "not a kgrec model file".to_owned()));
    }
    let mut header = fixed.to_vec();
    header.resize(16 + rest_len as usize + 4, 0);
    read_exact(&mut header[16..], "header")?;
    let (body, crc) = header.split_at(16 + rest_len as usize);
    verify(body, crc, &|| {
        format!("model v{version} header (file {shown})")
    })?;
    let stored_crc = crc32(body);
    if stored_crc != seal.header_crc {
        return Err(damaged(
            "header",
            format!(
                "its checksum is {stored_crc:08x}, the version's record says {:08x}",
                seal.header_crc
            ),
        ));
    }
    let format = u32::from_le_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]);
    if format != FILE_FORMAT {
        return Err(damaged(
            "header",
            format!("file format {format}, this kgrec reads {FILE_FORMAT}"),
        ));
    }
    let (per_chunk, names) = parse_header(&body[16..], version)
        .ok_or_else(|| damaged("header", "does not decode".to_owned()))?;
    let same = names.len() == infos.len()
        && names
            .iter()
            .zip(infos)
            .all(|((name, len), info)| *name == info.name && *len == info.len);
    if !same {
        return Err(damaged(
            "header",
            "its arrays are not those of the version's record".to_owned(),
        ));
    }
    // The bytes the arrays take, from their lengths: they must be the rest of the file
    // (checked before anything is allocated by a length, which a damaged header could make
    // huge).
    let body_len = infos.iter().try_fold(0u64, |sum, info| {
        let chunks = info.len.div_ceil(per_chunk as u64);
        info.len
            .checked_mul(4)?
            .checked_add(chunks.checked_mul(4)?)?
            .checked_add(sum)
    });
    let header_len = header.len() as u64;
    if body_len.and_then(|b| b.checked_add(header_len)) != Some(actual) {
        return Err(damaged(
            "arrays",
            format!(
                "{actual} bytes, the arrays its header names take {}",
                body_len.map_or("more than 2^64".to_owned(), |b| format!(
                    "{} with the header",
                    b.saturating_add(header_len)
                ))
            ),
        ));
    }
    let mut arrays = Vec::with_capacity(infos.len());
    let mut buf = Vec::new();
    for info in infos {
        let len = usize::try_from(info.len)
            .map_err(|_| damaged(&info.name, "too long for this machine".to_owned()))?;
        let mut values = Vec::with_capacity(len);
        for c in 0..len.div_ceil(per_chunk) {
            let what = format!("{} chunk {c}", info.name);
            let want = (len - c * per_chunk).min(per_chunk);
            buf.resize(want * 4 + 4, 0);
            read_exact(&mut buf, &what)?;
            let (floats, crc) = buf.split_at(want * 4);
            verify(floats, crc, &|| {
                format!("model v{version} {what} (file {shown})")
            })?;
            values.extend(
                floats
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
        }
        arrays.push((info.name.clone(), values));
    }
    Ok(arrays)
}

/// The floats per chunk and the `(name, length)` of every array, from the header after its
/// fixed 16 bytes; `None` when it does not decode or names another version.
fn parse_header(mut rest: &[u8], version: u64) -> Option<(usize, Vec<(String, u64)>)> {
    fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, tail) = rest.split_at_checked(n)?;
        *rest = tail;
        Some(head)
    }
    fn u32_of(rest: &mut &[u8]) -> Option<u32> {
        Some(u32::from_le_bytes(take(rest, 4)?.try_into().ok()?))
    }
    fn u64_of(rest: &mut &[u8]) -> Option<u64> {
        Some(u64::from_le_bytes(take(rest, 8)?.try_into().ok()?))
    }
    if u64_of(&mut rest)? != version {
        return None;
    }
    let per_chunk = usize::try_from(u32_of(&mut rest)?)
        .ok()
        .filter(|&n| n > 0)?;
    let count = u32_of(&mut rest)?;
    let mut names = Vec::new();
    for _ in 0..count {
        let n = u32_of(&mut rest)? as usize;
        let name = std::str::from_utf8(take(&mut rest, n)?).ok()?.to_owned();
        names.push((name, u64_of(&mut rest)?));
    }
    rest.is_empty().then_some((per_chunk, names))
}

/// Removes from `dir` the files of versions not in `kept` and the temporary files of writes
/// cut short (a killed `train`), then fsyncs the folder. Other names are left alone.
pub(crate) fn remove_unlisted(dir: &Path, kept: &[u64]) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error(dir, e)),
    };
    let mut removed: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        let name = entry.file_name();
        let unlisted = version_of(&name).is_some_and(|v| !kept.contains(&v));
        if unlisted || fsutil::is_leftover_temp(&name) {
            let path = entry.path();
            match std::fs::remove_file(&path) {
                Ok(()) => removed.push(path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(&path, e)),
            }
        }
    }
    if let Some(first) = removed.first() {
        fsutil::sync_parent(first)?;
    }
    Ok(())
}

/// The highest version that has a file in `dir` (0 when none).
pub(crate) fn highest(dir: &Path) -> Result<u64> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io_error(dir, e)),
    };
    let mut highest = 0;
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        highest = highest.max(version_of(&entry.file_name()).unwrap_or(0));
    }
    Ok(highest)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn file_names_round_trip_and_others_are_not_versions() {
        assert_eq!(version_of(OsStr::new(&file_name(42))), Some(42));
        for other in [
            "v.arrays",
            "vx.arrays",
            "v1.arrays.tmp",
            "w1.arrays",
            "v+1.arrays",
        ] {
            assert_eq!(version_of(OsStr::new(other)), None, "{other}");
        }
    }
}
