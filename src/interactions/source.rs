//! Opening an interaction or link file: `-` is standard input, gzip is recognised by its magic
//! bytes (a name ending in `.gz` must hold gzip), and the first lines can be kept aside so that a
//! format is guessed from them before the parser reads the stream from its start.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::ParseError;

/// The path that means standard input.
pub const STDIN: &str = "-";
/// How standard input is named in messages.
pub const STDIN_NAME: &str = "<stdin>";

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// At most this many lines are looked at to guess a format.
pub(crate) const SAMPLE_LINES: usize = 1000;
/// ... and at most this many bytes.
const SAMPLE_BYTES: usize = 1 << 20;

/// An opened input, decompressed.
pub(crate) struct Source<'a> {
    /// The name for messages: the path, or [`STDIN_NAME`].
    pub name: PathBuf,
    /// The file name (without a `.gz` suffix), lower-case, when there is one.
    pub file_name: Option<String>,
    /// The stream was gzip-compressed.
    pub gzip: bool,
    /// The stream is gzip but the name does not say so.
    pub gzip_unannounced: bool,
    pub reader: Box<dyn BufRead + 'a>,
}

/// Whether `path` means standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// The name of `path` in messages.
pub fn display_name(path: &Path) -> PathBuf {
    if is_stdin(path) {
        PathBuf::from(STDIN_NAME)
    } else {
        path.to_owned()
    }
}

/// Opens `path` (`-`: standard input), decompressing gzip.
pub(crate) fn open(path: &Path) -> Result<Source<'static>, ParseError> {
    if is_stdin(path) {
        let stdin = std::io::stdin().lock();
        return wrap(stdin, Path::new(STDIN_NAME), None);
    }
    let file = File::open(path).map_err(|source| ParseError::Io {
        file: path.to_owned(),
        error: source,
    })?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(ParseError::Io {
            file: path.to_owned(),
            error: std::io::Error::other("is a directory, expected a file"),
        });
    }
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_ascii_lowercase);
    wrap(BufReader::with_capacity(1 << 16, file), path, file_name)
}

/// Wraps a reader: gzip is recognised by its first two bytes; `file_name` (lower-case, possibly
/// ending in `.gz`) names the source for format guessing.
pub(crate) fn wrap<'a, R: BufRead + 'a>(
    mut reader: R,
    name: &Path,
    file_name: Option<String>,
) -> Result<Source<'a>, ParseError> {
    let head = reader.fill_buf().map_err(|source| ParseError::Io {
        file: name.to_owned(),
        error: source,
    })?;
    let gzip = head.starts_with(&GZIP_MAGIC);
    let (file_name, named_gz) = match file_name {
        Some(n) => match n.strip_suffix(".gz") {
            Some(stem) => (Some(stem.to_owned()), true),
            None => (Some(n), false),
        },
        None => (None, false),
    };
    if named_gz && !gzip && !head.is_empty() {
        return Err(ParseError::NotGzip {
            file: name.to_owned(),
        });
    }
    let mut reader: Box<dyn BufRead + 'a> = if gzip {
        Box::new(BufReader::with_capacity(
            1 << 16,
            MultiGzDecoder::new(reader),
        ))
    } else {
        Box::new(reader)
    };
    // UTF-16 (Excel's "Unicode text") would fail as "not valid UTF-8" with Latin-1 advice.
    let head = reader.fill_buf().map_err(|source| ParseError::Io {
        file: name.to_owned(),
        error: source,
    })?;
    if let Some(message) = kgrec_kg::source::utf16_advice(head) {
        return Err(ParseError::Malformed {
            file: name.to_owned(),
            line: 1,
            message,
        });
    }
    Ok(Source {
        name: name.to_owned(),
        file_name,
        gzip,
        gzip_unannounced: gzip && !named_gz,
        reader,
    })
}

impl<'a> Source<'a> {
    /// The first lines (at most [`SAMPLE_LINES`] and about a MiB), decoded leniently; the reader
    /// is rewound so that parsing still starts at the first byte.
    pub(crate) fn sample(&mut self) -> Result<Vec<String>, ParseError> {
        let mut bytes = Vec::new();
        let mut lines = 0;
        while lines < SAMPLE_LINES && bytes.len() < SAMPLE_BYTES {
            let n = self
                .reader
                .read_until(b'\n', &mut bytes)
                .map_err(|source| self.io(source))?;
            if n == 0 {
                break;
            }
            lines += 1;
        }
        let text = String::from_utf8_lossy(&bytes);
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let sample = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect();
        self.unread(bytes);
        Ok(sample)
    }

    /// Puts `bytes` back in front of the stream.
    pub(crate) fn unread(&mut self, bytes: Vec<u8>) {
        let rest = std::mem::replace(&mut self.reader, Box::new(std::io::empty()));
        self.reader = Box::new(Cursor::new(bytes).chain(rest));
    }

    /// An error reading the stream: a corrupt gzip stream is the input's fault.
    pub(crate) fn io(&self, source: std::io::Error) -> ParseError {
        ParseError::Io {
            file: self.name.clone(),
            error: source,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::Write;

    fn gz(text: &str) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(text.as_bytes()).unwrap();
        enc.finish().unwrap()
    }

    fn read_all(mut s: Source<'_>) -> String {
        let mut out = String::new();
        s.reader.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn gzip_is_recognised_by_its_magic_bytes_with_or_without_the_name() {
        let bytes = gz("a\tb\n");
        let s = wrap(
            Cursor::new(bytes.clone()),
            Path::new("x"),
            Some("x.tsv.gz".into()),
        )
        .unwrap();
        assert!(s.gzip && !s.gzip_unannounced);
        assert_eq!(s.file_name.as_deref(), Some("x.tsv"));
        assert_eq!(read_all(s), "a\tb\n");
        let s = wrap(Cursor::new(bytes), Path::new("x"), Some("x.tsv".into())).unwrap();
        assert!(s.gzip && s.gzip_unannounced);
        assert_eq!(read_all(s), "a\tb\n");
        let plain = wrap(Cursor::new(b"a\tb\n".to_vec()), Path::new("y"), None).unwrap();
        assert!(!plain.gzip);
    }

    #[test]
    fn a_gz_name_without_gzip_is_refused() {
        let e = wrap(
            Cursor::new(b"user_id\titem_id\n".to_vec()),
            Path::new("r.tsv.gz"),
            Some("r.tsv.gz".into()),
        )
        .err()
        .unwrap();
        assert!(matches!(e, ParseError::NotGzip { .. }), "{e}");
        assert!(e.to_string().starts_with("r.tsv.gz: "), "{e}");
    }

    #[test]
    fn sampling_rewinds_the_stream() {
        let text = "\u{feff}h1\th2\n\n1\t2\n3\t4\n";
        let mut s = wrap(Cursor::new(text.as_bytes().to_vec()), Path::new("f"), None).unwrap();
        assert_eq!(s.sample().unwrap(), ["h1\th2", "1\t2", "3\t4"]);
        assert_eq!(read_all(s), text, "parsing still sees every byte");
    }

    #[test]
    fn stdin_has_a_readable_name() {
        assert!(is_stdin(Path::new("-")));
        assert!(!is_stdin(Path::new("./-")));
        assert_eq!(display_name(Path::new("-")), PathBuf::from("<stdin>"));
        assert_eq!(display_name(Path::new("a.tsv")), PathBuf::from("a.tsv"));
    }
}
