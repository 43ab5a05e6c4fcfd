//! Checksums of stored data and the words for damage found on disk.
//!
//! sled checks a CRC of every message of its log when it reads it, so a flipped byte inside the
//! sled database surfaces as [`sled::Error::Corruption`]; [`sled_message`] names it as damage
//! of the data directory rather than as a bare database error. Files kgrec writes outside sled
//! (the N-Quads snapshot) and the model arrays and headers inside it carry a CRC-32 of their own
//! ([`crc32`]), checked whenever they are read (`docs/reliability.md`).

/// The CRC-32 (IEEE) of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// A running CRC-32 over written bytes, passed through to `inner`.
#[derive(Debug)]
pub struct CrcWriter<W> {
    inner: W,
    hasher: crc32fast::Hasher,
}

impl<W: std::io::Write> CrcWriter<W> {
    /// Starts a CRC over everything written through the result.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: crc32fast::Hasher::new(),
        }
    }

    /// The CRC so far and the writer.
    pub fn finish(self) -> (u32, W) {
        (self.hasher.finalize(), self.inner)
    }
}

impl<W: std::io::Write> std::io::Write for CrcWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or(buf));
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// How a sled failure reads to a user: damage found by sled's checksums is named as such.
pub fn sled_message(e: &sled::Error) -> String {
    match e {
        sled::Error::Corruption { .. } => "the sled database (sled/) is damaged: a stored \
             record fails sled's checksum (restore the data directory from a backup, or \
             import again into a new one)"
            .to_owned(),
        sled::Error::Unsupported(what) => format!(
            "the sled database (sled/) cannot be opened: {what} (its `conf` file may be \
             damaged)"
        ),
        sled::Error::Io(e) if e.kind() == std::io::ErrorKind::StorageFull => {
            "no space left on the device that holds the data directory (free some space and \
             run the command again)"
                .to_owned()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::Write;

    #[test]
    fn the_writer_hashes_what_it_passes_on() {
        let mut w = CrcWriter::new(Vec::new());
        w.write_all(b"hello ").unwrap();
        w.write_all(b"world").unwrap();
        let (crc, bytes) = w.finish();
        assert_eq!(bytes, b"hello world");
        assert_eq!(crc, crc32(b"hello world"));
        // The check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }
}
