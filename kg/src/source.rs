//! Reading one input file of triples: format detection, gzip, located errors, TSV triples.
//!
//! This module turns a path into a stream of `Result<Quad, KgError>` whose errors carry the file,
//! line and column. It owns no storage: `import` decides what to do with the statements.

use crate::error::{KgError, Location, Result};
use flate2::read::MultiGzDecoder;
use oxigraph::io::{RdfFormat, RdfParseError, RdfParser};
use oxigraph::model::{BlankNode, GraphName, Literal, NamedNode, NamedOrBlankNode, Quad, Term};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The base under which TSV tokens become IRIs when no `--base` is given.
pub const DEFAULT_TSV_BASE: &str = "urn:kgrec:";

/// The syntax of an input file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// One of oxigraph's RDF syntaxes.
    Rdf(RdfFormat),
    /// `head<TAB>relation<TAB>tail` lines (PyKEEN, RecBole `.kg`, KGAT `kg_final`).
    Tsv,
}

impl InputFormat {
    /// The format named on the command line (`--format`), or by a file extension.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "nt" | "ntriples" | "n-triples" => Self::Rdf(RdfFormat::NTriples),
            "ttl" | "turtle" => Self::Rdf(RdfFormat::Turtle),
            "nq" | "nquads" | "n-quads" => Self::Rdf(RdfFormat::NQuads),
            "trig" => Self::Rdf(RdfFormat::TriG),
            "rdf" | "owl" | "xml" | "rdfxml" | "rdf/xml" => Self::Rdf(RdfFormat::RdfXml),
            // `.txt` is how the link-prediction benchmarks (FB15k-237, UMLS...) ship their TSV;
            // `.kg` is RecBole's atomic KG file.
            "tsv" | "txt" | "kg" => Self::Tsv,
            _ => return None,
        })
    }

    /// The format and compression a path's extension announce, e.g. `kg.nt.gz`.
    pub fn guess(path: &Path) -> (Option<Self>, bool) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let (stem, gzipped) = match name.strip_suffix(".gz") {
            Some(stem) => (stem.to_owned(), true),
            None => (name, false),
        };
        let format = Path::new(&stem)
            .extension()
            .and_then(|e| e.to_str())
            .and_then(|e| match e {
                // Notation3 is Turtle plus rules: its Turtle subset is read (noted).
                "n3" => Some(Self::Rdf(RdfFormat::Turtle)),
                e => Self::from_name(e),
            });
        (format, gzipped)
    }

    /// Whether `path` is a Notation3 file (`.n3`, optionally `.gz`) that no `--format` named:
    /// read as Turtle, the rest of N3 (rules, `@forAll`) refused by the Turtle parser.
    pub fn is_n3(path: &Path, options: &SourceOptions) -> bool {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        options.format.is_none() && name.strip_suffix(".gz").unwrap_or(&name).ends_with(".n3")
    }
}

/// What a Turtle parse error in a Notation3 file adds.
pub const N3_SUBSET: &str = "N3 rules (`=>`, `@forAll`...) are not read; only the Turtle \
                              subset of a .n3 file is";

/// Options of one import that shape how a file is read.
#[derive(Clone, Debug, Default)]
pub struct SourceOptions {
    /// Overrides the format guessed from the extension.
    pub format: Option<InputFormat>,
    /// Base IRI for relative IRIs in RDF and for TSV tokens.
    pub base: Option<String>,
}

/// An open input file: a decoded byte stream, its syntax, and a counter of raw bytes consumed.
pub(crate) struct OpenedSource {
    pub path: PathBuf,
    pub format: InputFormat,
    pub reader: Box<dyn BufRead + Send>,
    pub bytes_read: Arc<AtomicU64>,
    pub bytes_total: u64,
    /// Not one byte: an empty graph, read as no statements in any syntax.
    pub empty: bool,
}

/// Counts the raw (possibly compressed) bytes read, for progress reporting.
struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

pub(crate) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The name standard input goes by in messages (`import kg -`).
pub const STDIN_NAME: &str = "<stdin>";

/// Opens standard input (`-`): the syntax must be named, there is no extension to go by.
fn open_stdin(options: &SourceOptions) -> Result<OpenedSource> {
    let path = PathBuf::from(STDIN_NAME);
    let format = options.format.ok_or_else(|| {
        KgError::bad_input(
            &path,
            "standard input has no file extension: name the syntax with --format \
             nt|ttl|nq|trig|rdf|tsv",
        )
    })?;
    let bytes_read = Arc::new(AtomicU64::new(0));
    let mut raw = BufReader::with_capacity(
        1 << 16,
        CountingReader {
            inner: std::io::stdin(),
            count: Arc::clone(&bytes_read),
        },
    );
    let head = raw.fill_buf().map_err(|e| KgError::io(&path, e))?;
    let empty = head.is_empty();
    let reader: Box<dyn BufRead + Send> = if head.starts_with(&GZIP_MAGIC) {
        Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(raw)))
    } else {
        Box::new(raw)
    };
    let mut reader = without_bom(reader).map_err(|e| read_error(&path, e))?;
    check_syntax(format, &mut reader, &path)?;
    Ok(OpenedSource {
        path,
        format,
        reader,
        bytes_read,
        bytes_total: 0,
        empty,
    })
}

/// Refuses a file whose start shows another syntax than the one it is read as: a line-based
/// file (N-Triples, N-Quads) whose first statement is a Turtle or TriG directive (`@prefix`,
/// `PREFIX`, `@base`, `BASE`), which would otherwise fail on its first line with a message about
/// subjects, and an RDF/XML file that does not start with `<`, which the XML parser refuses with
/// no location.
/// What to say of a file that starts with a UTF-16 byte-order mark (Excel's "Unicode text",
/// Windows tools): kgrec reads UTF-8, and the way there is `iconv -f utf-16`, not the Latin-1
/// advice an invalid byte gets.
pub fn utf16_advice(head: &[u8]) -> Option<String> {
    let order = match head {
        [0xFF, 0xFE, ..] => "little-endian",
        [0xFE, 0xFF, ..] => "big-endian",
        _ => return None,
    };
    Some(format!(
        "the file is UTF-16 ({order}: it starts with a UTF-16 byte-order mark, as Excel's \
         \"Unicode text\" saves), and kgrec reads UTF-8: convert it, e.g. `iconv -f utf-16 -t \
         utf-8 FILE > FILE.utf8`"
    ))
}

/// What to say of a JSON-LD (or other JSON) file: kgrec reads no JSON, and the way in is a
/// conversion to N-Triples.
const JSON_LD_ADVICE: &str = "JSON-LD (or JSON) is not read by kgrec: convert the file to \
     N-Triples first, e.g. `riot --output=nt FILE > FILE.nt` (Apache Jena) or `rdfpipe -i \
     json-ld -o nt FILE > FILE.nt` (rdflib), or with any RDF converter, then import FILE.nt";

/// Whether a file's name ends in `.jsonld` or `.json` (optionally `.gz`).
fn named_json(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let stem = name.strip_suffix(".gz").unwrap_or(&name);
    stem.ends_with(".jsonld") || stem.ends_with(".json")
}

/// Whether a file's start is a JSON object or array of objects (`{"`, `[{`): no RDF syntax
/// kgrec reads starts so (a TriG block's first term is not a string, a Turtle `[` holds no `{`).
fn looks_like_json(text: &str) -> bool {
    let mut chars = text.chars().filter(|c| !c.is_whitespace());
    match (chars.next(), chars.next()) {
        (Some('{'), Some('"' | '}')) => true,
        (Some('['), Some('{' | ']')) => chars.next().is_none_or(|c| c == '"' || c == '}'),
        _ => false,
    }
}

fn check_syntax(
    format: InputFormat,
    reader: &mut Box<dyn BufRead + Send>,
    path: &Path,
) -> Result<()> {
    let head = reader.fill_buf().map_err(|e| read_error(path, e))?;
    if let Some(advice) = utf16_advice(head) {
        return Err(KgError::bad_input(path, advice));
    }
    let text = String::from_utf8_lossy(&head[..head.len().min(4096)]);
    if looks_like_json(&text) {
        return Err(KgError::bad_input(path, JSON_LD_ADVICE));
    }
    if format == InputFormat::Rdf(RdfFormat::RdfXml) {
        let start = text.trim_start();
        let first_line = start.lines().next().unwrap_or_default();
        if looks_like_ntriples(first_line) {
            return Err(KgError::bad_input(
                path,
                "read as RDF/XML (by its name or --format), but its first line is an N-Triples \
                 statement (`<subject> <predicate> object .`): name the syntax with --format nt \
                 (or ttl), or rename the file",
            ));
        }
        return match start.chars().next() {
            None | Some('<') => Ok(()),
            Some(_) => {
                let shown: String = start
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .take(40)
                    .collect();
                Err(KgError::bad_input(
                    path,
                    format!(
                        "read as RDF/XML (by its name or --format), but it does not start with \
                         `<`: it starts with `{shown}`. If it is Turtle, N-Triples or TriG, name \
                         the syntax with --format ttl, nt or trig"
                    ),
                ))
            }
        };
    }
    if looks_like_xml(&text) {
        let name = match format {
            InputFormat::Rdf(RdfFormat::NTriples) => "N-Triples",
            InputFormat::Rdf(RdfFormat::NQuads) => "N-Quads",
            InputFormat::Rdf(RdfFormat::Turtle) => "Turtle",
            InputFormat::Rdf(RdfFormat::TriG) => "TriG",
            _ => "TSV",
        };
        let named_xml = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ["rdf", "owl", "xml"].contains(&e.to_ascii_lowercase().as_str()));
        let remedy = match named_xml {
            // The name says RDF/XML: only a --format can have made it something else.
            true => {
                "its name says RDF/XML and --format overrode it: drop --format (or give \
                     --format rdf)"
            }
            false => "if it is RDF/XML, name the syntax with --format rdf, or rename the file .rdf",
        };
        return Err(KgError::bad_input(
            path,
            format!(
                "read as {name} (by its name or --format) but it starts as an XML document: \
                 {remedy}"
            ),
        ));
    }
    if matches!(
        format,
        InputFormat::Rdf(RdfFormat::Turtle | RdfFormat::TriG)
    ) {
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .unwrap_or("");
        let fields: Vec<&str> = first.split('\t').collect();
        if fields.len() == 3 && !first.starts_with(['<', '@', '_']) && !first.ends_with('.') {
            return Err(KgError::bad_input(
                path,
                format!(
                    "read as Turtle (by its name or --format), but its first line `{}` looks \
                     like TSV (head, relation, tail): name the syntax with --format tsv",
                    first.chars().take(60).collect::<String>()
                ),
            ));
        }
        return Ok(());
    }
    let name = match format {
        InputFormat::Rdf(RdfFormat::NTriples) => "N-Triples",
        InputFormat::Rdf(RdfFormat::NQuads) => "N-Quads",
        _ => return Ok(()),
    };
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or("");
    if let Some(other) = line_based_lookalike(first, format) {
        return Err(KgError::bad_input(
            path,
            format!(
                "read as {name} (by its name or --format), but its first statement `{}` looks \
                 like {other}",
                first.chars().take(60).collect::<String>()
            ),
        ));
    }
    let word = first.split_whitespace().next().unwrap_or("");
    if ["@prefix", "@base"].contains(&word)
        || ["prefix", "base"].contains(&word.to_ascii_lowercase().as_str())
    {
        return Err(KgError::bad_input(
            path,
            format!(
                "read as {name} (by its name or --format) but it starts with `{word}`, a \
                 Turtle directive: name the syntax with --format ttl (or trig), or rename the file"
            ),
        ));
    }
    Ok(())
}

/// Whether `line` reads as an N-Triples or N-Quads statement: IRI or blank-node terms and a
/// final `.` (an RDF/XML document starts with `<?xml`, a comment or an element, never so).
fn looks_like_ntriples(line: &str) -> bool {
    let line = line.trim();
    let mut terms = line.split_whitespace();
    let subject_ok = terms.next().is_some_and(|t| {
        (t.starts_with('<') && t.ends_with('>') && !t.contains('=') && !t.starts_with("<?"))
            || t.starts_with("_:")
    });
    let predicate_ok = terms
        .next()
        .is_some_and(|t| t.starts_with('<') && t.ends_with('>'));
    subject_ok && predicate_ok && line.ends_with('.')
}

/// What a line-based file's first statement looks like when it is not its announced syntax: TSV
/// triples (tab-separated bare tokens), or a quad in an N-Triples file.
fn line_based_lookalike(first: &str, format: InputFormat) -> Option<&'static str> {
    // A directive (`@prefix`, `PREFIX`) has a message of its own.
    let word = first.split_whitespace().next().unwrap_or("");
    if word.starts_with('@') || ["prefix", "base"].contains(&word.to_ascii_lowercase().as_str()) {
        return None;
    }
    let fields: Vec<&str> = first.split('\t').collect();
    if fields.len() == 3 && !first.starts_with('<') && !first.starts_with("_:") {
        return Some("TSV (head, relation, tail): name the syntax with --format tsv");
    }
    let terms: Vec<&str> = first.split_whitespace().collect();
    let term = |t: &str| (t.starts_with('<') && t.ends_with('>')) || t.starts_with("_:");
    // Turtle's shorthands: `;` and `,` lists, `a`, prefixed names.
    let prefixed = |t: &str| {
        !t.starts_with(['<', '"', '_'])
            && t.split_once(':').is_some_and(|(p, l)| {
                !p.contains('/') && !l.starts_with("//") && p.chars().all(char::is_alphanumeric)
            })
    };
    if terms.len() >= 2
        && (terms.contains(&";")
            || terms.contains(&",")
            || first.ends_with(';')
            || terms[1] == "a"
            || prefixed(terms[0])
            || prefixed(terms[1]))
    {
        return Some("Turtle (`;`, `,`, `a` or prefixed names): name the syntax with --format ttl");
    }
    if format == InputFormat::Rdf(RdfFormat::NTriples)
        && terms.len() == 5
        && terms[4] == "."
        && term(terms[0])
        && term(terms[1])
        && term(terms[3])
    {
        return Some(
            "an N-Quads statement (a fourth term, its graph): name the syntax with --format nq",
        );
    }
    None
}

/// Whether the start of a file is an XML declaration or an `rdf:RDF` root element.
fn looks_like_xml(head: &str) -> bool {
    let start = head.trim_start();
    start.starts_with("<?xml") || start.starts_with("<rdf:RDF") || start.starts_with("<!DOCTYPE")
}

/// The reader past a UTF-8 byte-order mark at its start: editors on Windows write one, and the
/// RDF parsers would take it for the first statement's first character.
fn without_bom(mut reader: Box<dyn BufRead + Send>) -> std::io::Result<Box<dyn BufRead + Send>> {
    if reader.fill_buf()?.starts_with(&[0xEF, 0xBB, 0xBF]) {
        reader.consume(3);
    }
    Ok(reader)
}

pub(crate) fn open(path: &Path, options: &SourceOptions) -> Result<OpenedSource> {
    if path == Path::new("-") {
        return open_stdin(options);
    }
    let metadata = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => KgError::bad_input(path, "no such file"),
        std::io::ErrorKind::PermissionDenied => KgError::bad_input(path, "permission denied"),
        _ => KgError::io(path, e),
    })?;
    if metadata.is_dir() {
        return Err(KgError::bad_input(
            path,
            "is a directory, expected a file of triples",
        ));
    }
    let (guessed, gz_extension) = InputFormat::guess(path);
    let format = match options.format.or(guessed) {
        Some(format) => format,
        None if named_json(path) => return Err(KgError::bad_input(path, JSON_LD_ADVICE)),
        None => {
            return Err(KgError::bad_input(
                path,
                "unknown file extension: name the syntax with --format nt|ttl|nq|trig|rdf|tsv \
                 (extensions .nt .ttl .nq .trig .rdf .owl .tsv, and .n3 read as Turtle, each \
                 optionally .gz)",
            ));
        }
    };
    let file = File::open(path).map_err(|e| KgError::io(path, e))?;
    let bytes_read = Arc::new(AtomicU64::new(0));
    let mut raw = BufReader::with_capacity(
        1 << 16,
        CountingReader {
            inner: file,
            count: Arc::clone(&bytes_read),
        },
    );
    let head = raw.fill_buf().map_err(|e| KgError::io(path, e))?;
    let empty = head.is_empty();
    let is_gzip = head.starts_with(&GZIP_MAGIC);
    if gz_extension && !is_gzip {
        return Err(KgError::bad_input(
            path,
            "named .gz but is not a gzip file (it does not start with the gzip magic bytes)",
        ));
    }
    let reader: Box<dyn BufRead + Send> = if is_gzip {
        Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(raw)))
    } else {
        Box::new(raw)
    };
    let mut reader = without_bom(reader).map_err(|e| read_error(path, e))?;
    check_syntax(format, &mut reader, path)?;
    Ok(OpenedSource {
        path: path.to_owned(),
        format,
        reader,
        bytes_read,
        bytes_total: metadata.len(),
        empty,
    })
}

/// Turns an oxigraph parse error into a located error of this crate.
fn located(path: &Path, format: RdfFormat, base: Option<&str>, error: RdfParseError) -> KgError {
    let base_given = base.is_some();
    match error {
        RdfParseError::Syntax(e) => match e.location() {
            Some(range) => {
                let at = Location {
                    line: range.start.line + 1,
                    column: range.start.column + 1,
                };
                let message = without_location(&e.to_string()).to_owned();
                // A statement without its final dot is noticed where the next one starts: the
                // error is placed where the dot is missing, and the message says so.
                let (location, message) = match missing_dot_location(path, &message, at) {
                    Some(end) => (
                        end,
                        format!(
                            "{message}: the statement that ends here lacks its final `.` (the \
                             parser noticed at line {}, column {}, where the next statement \
                             starts)",
                            at.line, at.column
                        ),
                    ),
                    None => (at, message),
                };
                KgError::Syntax {
                    file: path.to_owned(),
                    location,
                    message: with_hint(path, &message, format, base_given),
                }
            }
            None => match (
                format,
                encoding_error_location(path, format, &e.to_string())
                    .or_else(|| xml_error_location(path, format))
                    .or_else(|| unknown_prefix_location(path, format, &e.to_string()))
                    .or_else(|| rdf_xml_error_location(path, format, base, &e.to_string())),
            ) {
                (RdfFormat::RdfXml, Some(location)) => KgError::Syntax {
                    file: path.to_owned(),
                    location,
                    message: with_hint(path, &without_range(&e.to_string()), format, base_given),
                },
                _ => KgError::SyntaxWithoutLocation {
                    file: path.to_owned(),
                    message: with_hint(path, &e.to_string(), format, base_given),
                },
            },
        },
        // Invalid UTF-8 and truncated gzip streams surface as I/O errors of the decoded stream.
        RdfParseError::Io(e) => read_error(path, e),
    }
}

/// For a Turtle-family "dot expected" error at `at` (1-based) where a new statement starts:
/// the place right after the last token before it (blank lines and comment lines skipped),
/// where the dot is missing. `None` for other errors, standard input, and an error placed
/// after text on its own line.
fn missing_dot_location(path: &Path, message: &str, at: Location) -> Option<Location> {
    if !message.contains("dot is expected") || path == Path::new(STDIN_NAME) {
        return None;
    }
    let line = usize::try_from(at.line).ok()?;
    let column = usize::try_from(at.column).ok()?;
    let lines: Vec<String> = decoded(path)?
        .lines()
        .take(line)
        .collect::<std::io::Result<_>>()
        .ok()?;
    let current: String = lines
        .get(line.checked_sub(1)?)?
        .chars()
        .take(column.saturating_sub(1))
        .collect();
    if !current.trim().is_empty() {
        return None;
    }
    (0..line - 1).rev().find_map(|l| {
        let text = lines[l].trim_end();
        let blank = text.trim_start().is_empty() || text.trim_start().starts_with('#');
        (!blank).then(|| Location {
            line: l as u64 + 1,
            column: text.chars().count() as u64 + 1,
        })
    })
}

/// Where an RDF/XML file stops being well-formed XML. oxigraph's RDF/XML parser reports no
/// position, so the file is read again with quick-xml (the reader that parser is built on) up to
/// its first error; `None` for other syntaxes, standard input, and files whose XML is well formed
/// (an error of RDF itself, such as a bad `rdf:about`).
fn xml_error_location(path: &Path, format: RdfFormat) -> Option<Location> {
    if format != RdfFormat::RdfXml || path == Path::new(STDIN_NAME) {
        return None;
    }
    let mut xml = quick_xml::Reader::from_reader(decoded(path)?);
    let mut buf = Vec::new();
    let offset = loop {
        match xml.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Eof) => return None,
            Ok(_) => buf.clear(),
            Err(_) => break xml.error_position(),
        }
    };
    location_of(decoded(path)?, offset)
}

/// Where RDF/XML at `path` goes wrong for an encoding error of the parser (which gives no
/// position): for a declared encoding other than UTF-8, the declaration's `encoding`; for bytes
/// that are not UTF-8, the first of them.
fn encoding_error_location(path: &Path, format: RdfFormat, message: &str) -> Option<Location> {
    if format != RdfFormat::RdfXml || path == Path::new(STDIN_NAME) {
        return None;
    }
    if message.contains(DECLARED_NOT_UTF8) {
        let mut first = String::new();
        decoded(path)?.take(4096).read_line(&mut first).ok()?;
        let at = first.find("encoding")?;
        return Some(Location {
            line: 1,
            column: first[..at].chars().count() as u64 + 1,
        });
    }
    if is_not_utf8(message) {
        return first_non_utf8(decoded(path)?);
    }
    None
}

/// oxigraph's RDF/XML message for an XML declaration naming another encoding.
const DECLARED_NOT_UTF8: &str = "Only UTF-8 is supported";

/// Whether a parser's message says the input is not UTF-8.
fn is_not_utf8(message: &str) -> bool {
    message.contains("Invalid UTF-8") || message.contains("cannot decode input using UTF-8")
}

/// The line and column (1-based, columns in characters) of the first byte of `reader` that is
/// not part of UTF-8 text; `None` when all of it is UTF-8 (or it cannot be read).
fn first_non_utf8(mut reader: impl Read) -> Option<Location> {
    let (mut line, mut column) = (1u64, 1u64);
    let mut buf = vec![0u8; 1 << 16];
    // Bytes of a character cut by the end of the last read, moved to the front of `buf`.
    let mut kept = 0;
    loop {
        let n = reader.read(&mut buf[kept..]).ok()?;
        let end = kept + n;
        let (valid, bad) = match std::str::from_utf8(&buf[..end]) {
            Ok(text) => (text, false),
            Err(e) => {
                let valid = std::str::from_utf8(&buf[..e.valid_up_to()]).ok()?;
                // A character cut by the end of this read is not an error yet.
                (valid, e.error_len().is_some() || n == 0)
            }
        };
        for c in valid.chars() {
            if c == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        if bad {
            return Some(Location { line, column });
        }
        if n == 0 {
            return None;
        }
        let used = valid.len();
        buf.copy_within(used..end, 0);
        kept = end - used;
    }
}

/// Where RDF/XML at `path` first uses the undeclared prefix oxigraph's message names
/// (`Unknown prefix dcx:`): the XML is well formed, so only a search for `dcx:` as an element
/// or attribute name finds it.
fn unknown_prefix_location(path: &Path, format: RdfFormat, message: &str) -> Option<Location> {
    if format != RdfFormat::RdfXml || path == Path::new(STDIN_NAME) {
        return None;
    }
    let prefix = message.strip_prefix("Unknown prefix ")?.trim_end();
    let prefix = prefix.strip_suffix(':').unwrap_or(prefix);
    if prefix.is_empty() || prefix.contains(char::is_whitespace) {
        return None;
    }
    let (element, attribute) = (format!("<{prefix}:"), format!(" {prefix}:"));
    for (n, line) in decoded(path)?.lines().enumerate() {
        let line = line.ok()?;
        let at = [
            line.find(&element).map(|i| i + 1),
            line.find(&attribute).map(|i| i + 1),
        ]
        .into_iter()
        .flatten()
        .min();
        if let Some(at) = at {
            return Some(Location {
                line: n as u64 + 1,
                column: line[..at].chars().count() as u64 + 1,
            });
        }
    }
    None
}

/// Where RDF/XML at `path` goes wrong for an error of RDF itself, which oxigraph reports without
/// a position (a bad IRI in `rdf:about`, an undefined entity `&foo;`, text where RDF/XML wants an
/// element): the file is parsed again by oxigraph's own RDF/XML parser up to its first error,
/// whose byte position is the end of the offending tag or text; the spot is then sought in it (a
/// bad `&`, the IRI the message quotes, the text), else the tag's start is given.
fn rdf_xml_error_location(
    path: &Path,
    format: RdfFormat,
    base: Option<&str>,
    message: &str,
) -> Option<Location> {
    if format != RdfFormat::RdfXml || path == Path::new(STDIN_NAME) {
        return None;
    }
    let mut parser = oxrdfxml::RdfXmlParser::new();
    if let Some(base) = base {
        parser = parser.with_base_iri(base).ok()?;
    }
    let mut parser = parser.for_reader(decoded(path)?);
    let end = loop {
        match parser.next()? {
            Ok(_) => {}
            Err(_) => break parser.buffer_position(),
        }
    };
    let mut bytes = Vec::new();
    decoded(path)?.take(end).read_to_end(&mut bytes).ok()?;
    let offset = offending_spot(&bytes, message)?;
    location_of(&bytes[..], offset as u64)
}

/// The byte of `bytes` (a file up to the end of the tag or text RDF/XML stopped at) that the
/// parser's `message` is about.
fn offending_spot(bytes: &[u8], message: &str) -> Option<usize> {
    let end = bytes.len();
    let last = *bytes.last()?;
    // The event: a tag `<...>` ending here, or text since the last tag.
    let start = match last {
        b'>' => bytes.iter().rposition(|&b| b == b'<')?,
        _ => bytes.iter().rposition(|&b| b == b'>').map_or(0, |i| i + 1),
    };
    let span = &bytes[start..end];
    if message.contains("Cannot find ';' after '&'") || message.contains("unrecognized entity") {
        let declared = |name: &[u8]| {
            let mut declaration = b"<!ENTITY ".to_vec();
            declaration.extend_from_slice(name);
            declaration.push(b' ');
            bytes[..start]
                .windows(declaration.len())
                .any(|w| w == declaration.as_slice())
        };
        if let Some(at) = bad_reference(span, declared) {
            return Some(start + at);
        }
    }
    let quoted = message
        .split_once(" IRI '")
        .or_else(|| message.split_once("text event: '"))
        .and_then(|(_, rest)| {
            rest.split_once("': ")
                .map(|(quoted, _)| quoted)
                .or_else(|| rest.strip_suffix('\''))
        });
    if let Some(quoted) = quoted.filter(|q| !q.is_empty()) {
        let needle = quoted.as_bytes();
        if let Some(at) = span.windows(needle.len()).position(|w| w == needle) {
            return Some(start + at);
        }
        // A relative IRI, resolved against the base: the attribute value it ends with.
        let mut rest = span;
        let mut at = 0;
        while let Some(open) = rest.windows(2).position(|w| w == b"=\"" || w == b"='") {
            let quote = rest[open + 1];
            let value_start = open + 2;
            let len = rest[value_start..].iter().position(|&b| b == quote)?;
            let value = &rest[value_start..value_start + len];
            if !value.is_empty() && needle.ends_with(value) {
                return Some(start + at + value_start);
            }
            at += value_start + len;
            rest = &rest[value_start + len..];
        }
    }
    // Text: its first character that is not white space; a tag: its `<`.
    Some(
        start
            + span
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .unwrap_or(0),
    )
}

/// The first `&` of `span` that starts no valid reference: `&lt;` `&gt;` `&amp;` `&apos;`
/// `&quot;`, `&#N;`, `&#xH;`, or an entity the document declares.
fn bad_reference(span: &[u8], declared: impl Fn(&[u8]) -> bool) -> Option<usize> {
    span.iter().enumerate().find_map(|(at, &b)| {
        if b != b'&' {
            return None;
        }
        let rest = &span[at + 1..];
        let Some(len) = rest.iter().position(|&c| c == b';') else {
            return Some(at);
        };
        let name = &rest[..len];
        let valid = match name {
            [b'#', b'x', hex @ ..] => !hex.is_empty() && hex.iter().all(u8::is_ascii_hexdigit),
            [b'#', digits @ ..] => !digits.is_empty() && digits.iter().all(u8::is_ascii_digit),
            b"lt" | b"gt" | b"amp" | b"apos" | b"quot" => true,
            _ => {
                !name.is_empty()
                    && name
                        .iter()
                        .all(|&c| c.is_ascii_alphanumeric() || b"_-.:".contains(&c) || c >= 0x80)
                    && declared(name)
            }
        };
        (!valid).then_some(at)
    })
}

/// quick-xml's message less the range it gives (`at range 37..45`, `at 4..10`), which is counted
/// inside an attribute value or a text, not in the file (the location says where).
fn without_range(message: &str) -> String {
    let is_range = |s: &str| {
        s.split_once("..").is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        })
    };
    for (at, _) in message.match_indices("at ") {
        if at > 0 && !message[..at].ends_with(' ') {
            continue;
        }
        let rest = &message[at + 3..];
        let rest = rest.strip_prefix("range ").unwrap_or(rest);
        if let Some((range, after)) = rest.split_once(':')
            && is_range(range)
        {
            let before = message[..at].trim_end();
            let after = after.trim_start();
            return match before.is_empty() {
                true => after.to_owned(),
                false => format!("{before}: {after}"),
            };
        }
    }
    message.to_owned()
}

/// Whether RDF/XML at `path` is not well-formed XML (standard input, which cannot be read
/// twice, counts as ill-formed: its well-formedness cannot be checked after an error).
pub(crate) fn xml_is_ill_formed(path: &Path) -> bool {
    path == Path::new(STDIN_NAME) || xml_error_location(path, RdfFormat::RdfXml).is_some()
}

/// A file's bytes, gunzipped when they are gzip.
fn decoded(path: &Path) -> Option<Box<dyn BufRead>> {
    let mut raw = BufReader::new(File::open(path).ok()?);
    let gzip = raw.fill_buf().ok()?.starts_with(&GZIP_MAGIC);
    Some(if gzip {
        Box::new(BufReader::new(MultiGzDecoder::new(raw)))
    } else {
        Box::new(raw)
    })
}

/// The line and column (1-based, columns in characters) of byte `offset` of `reader`.
fn location_of(reader: impl BufRead, offset: u64) -> Option<Location> {
    let mut line = 1;
    let mut line_start = Vec::new();
    for byte in reader.bytes().take(usize::try_from(offset).ok()?) {
        let byte = byte.ok()?;
        if byte == b'\n' {
            line += 1;
            line_start.clear();
        } else {
            line_start.push(byte);
        }
    }
    let column = String::from_utf8_lossy(&line_start).chars().count() as u64 + 1;
    Some(Location { line, column })
}

/// The parser's message, with the way out when it is about a relative IRI (oxiri says only "No
/// scheme found in an absolute IRI").
fn with_hint(path: &Path, message: &str, format: RdfFormat, base: bool) -> String {
    if message.contains(DECLARED_NOT_UTF8) || is_not_utf8(message) {
        return format!("{message}: {}", crate::encoding::not_utf8_advice(path, &[]));
    }
    if message.contains("Cannot find ';' after '&'") || message.contains("unrecognized entity") {
        return format!(
            "{message}: in XML an `&` starts a reference, and only `&lt;` `&gt;` `&amp;` \
             `&apos;` `&quot;`, numeric ones (`&#233;`) and entities the file's DOCTYPE declares \
             exist: write a literal & as `&amp;` (in a URL too: `?id=1&amp;lang=de`)"
        );
    }
    if message.contains("Unexpected end of file") {
        return format!(
            "{message}: the parser read on to the end looking for the end of what starts here; \
             a string, IRI or bracket opened here may not be closed (--lenient names it)"
        );
    }
    if let Some(hint) = code_point_hint(message) {
        return format!("{message}: {hint}");
    }
    if format == RdfFormat::Turtle && message.trim_start().starts_with('{') {
        return format!(
            "{message}: Turtle has no `{{ }}` blocks; if the file is TriG (named graphs), name \
             the syntax with --format trig (or rename it .trig)"
        );
    }
    if !message.contains("No scheme found") {
        return message.to_owned();
    }
    let hint = match format {
        RdfFormat::NTriples | RdfFormat::NQuads => {
            "a relative IRI. N-Triples and N-Quads hold absolute IRIs only, such as \
             <http://example.org/a>: write it in full, or read the file as Turtle (--format ttl) \
             with --base IRI"
        }
        RdfFormat::RdfXml if !base => {
            "a relative IRI. Give the file an xml:base, or pass --base IRI to resolve it against"
        }
        _ if !base => {
            "a relative IRI. Declare @base in the file, or pass --base IRI to resolve it against"
        }
        _ => return message.to_owned(),
    };
    format!("{message}: {hint}")
}

/// The way out of oxiri's "Invalid IRI code point ' '": an IRI cannot hold the character,
/// not even written as a `\u0020` escape (which the parser reads as the character itself);
/// its percent-encoded bytes (`%20`) can.
fn code_point_hint(message: &str) -> Option<String> {
    const SAID: &str = "Invalid IRI code point '";
    let rest = &message[message.find(SAID)? + SAID.len()..];
    let mut chars = rest.chars();
    let (c, quote) = (chars.next()?, chars.next()?);
    if quote != '\'' {
        return None;
    }
    let encoded: String = c
        .encode_utf8(&mut [0; 4])
        .bytes()
        .map(|b| format!("%{b:02X}"))
        .collect();
    Some(format!(
        "an IRI cannot hold {c:?}, not even written as a \\u escape (the escape stands for the \
         character itself): write it percent-encoded, {encoded}"
    ))
}

/// oxttl's message without its own "Parser error at line L column C: " (the error is shown as
/// `FILE:LINE:COL: message`, which says it already).
fn without_location(message: &str) -> &str {
    match message.strip_prefix("Parser error ") {
        Some(rest) => rest.split_once(": ").map_or(message, |(_, said)| said),
        None => message,
    }
}

/// A failure to read the decoded stream: invalid UTF-8 and truncated gzip streams are the
/// input's fault, anything else the machine's.
pub(crate) fn read_error(path: &Path, e: std::io::Error) -> KgError {
    match e.kind() {
        std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof => {
            let text = e.to_string();
            match text.contains("deflate") || e.kind() == std::io::ErrorKind::UnexpectedEof {
                true => KgError::bad_input(
                    path,
                    format!(
                        "{text}: the gzip data ends early or is damaged (the file is truncated \
                         or corrupt; `gzip -t FILE` checks it)"
                    ),
                ),
                false => KgError::bad_input(path, text),
            }
        }
        _ => KgError::io(path, e),
    }
}

/// Statements of one opened source, each a quad or a located error. `lenient` Turtle and TriG
/// are cut into statements first, so that a bad one is skipped alone ([`crate::lenient`]).
pub(crate) fn statements(
    source: OpenedSource,
    options: &SourceOptions,
    lenient: bool,
) -> Result<Box<dyn Iterator<Item = Result<Quad>> + Send>> {
    let path = source.path.clone();
    match source.format {
        InputFormat::Rdf(format @ (RdfFormat::Turtle | RdfFormat::TriG)) if lenient => {
            Ok(Box::new(crate::lenient::LenientQuads::new(
                path,
                source.reader,
                format == RdfFormat::TriG,
                options.base.clone(),
            )?))
        }
        // One statement per line: a bad line is skipped alone (a quote left open no longer
        // takes every later line with it).
        InputFormat::Rdf(format @ (RdfFormat::NTriples | RdfFormat::NQuads)) if lenient => {
            Ok(Box::new(LineQuads {
                lines: RawLines::new(path, source.reader),
                format,
                pending: std::collections::VecDeque::new(),
            }))
        }
        InputFormat::Rdf(format) => {
            let mut parser = RdfParser::from_format(format);
            if let Some(base) = &options.base {
                parser = parser.with_base_iri(base.as_str()).map_err(|e| {
                    KgError::BadArgument(format!("--base {base}: not a valid IRI: {e}"))
                })?;
            }
            let base = options.base.clone();
            let quads = parser.for_reader(source.reader);
            Ok(Box::new(quads.map(move |r| {
                r.map_err(|e| located(&path, format, base.as_deref(), e))
            })))
        }
        InputFormat::Tsv => {
            let base = options
                .base
                .clone()
                .unwrap_or_else(|| DEFAULT_TSV_BASE.to_owned());
            // Validate the base once, so that a bad base is one clear error, not one per line.
            NamedNode::new(format!("{base}x")).map_err(|e| {
                KgError::BadArgument(format!("--base {base}: not a valid IRI prefix: {e}"))
            })?;
            Ok(Box::new(TsvTriples {
                lines: RawLines::new(path, source.reader),
                base,
                split: None,
                ahead: std::collections::VecDeque::new(),
                looked: false,
                at: 0,
            }))
        }
    }
}

/// Characters a TSV token may not carry into an IRI as they are: they are percent-encoded.
/// `%` itself is encoded so that the token can be recovered from the IRI.
const NOT_IRI_SAFE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b'%')
    .add(b'#')
    .add(b'?');

/// Whether `s` looks like an absolute IRI (`scheme:rest`, RFC 3987: a letter, then letters,
/// digits, `+`, `-` or `.`, then a colon).
pub fn is_absolute_iri(s: &str) -> bool {
    let Some((scheme, _)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// The IRI a TSV token becomes under `base`.
pub fn tsv_token_iri(base: &str, token: &str) -> String {
    format!("{base}{}", utf8_percent_encode(token, NOT_IRI_SAFE))
}

/// The token of an IRI minted by [`tsv_token_iri`], if it is under `base`.
pub fn tsv_token_of(base: &str, iri: &str) -> Option<String> {
    let encoded = iri.strip_prefix(base)?;
    percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// The lines of a source, read one at a time into one buffer, counted from 1; a read error
/// ends them.
struct RawLines {
    path: PathBuf,
    reader: Box<dyn BufRead + Send>,
    line: u64,
    buffer: Vec<u8>,
    done: bool,
}

impl RawLines {
    fn new(path: PathBuf, reader: Box<dyn BufRead + Send>) -> Self {
        Self {
            path,
            reader,
            line: 0,
            buffer: Vec::new(),
            done: false,
        }
    }

    /// The next line's bytes with its line break (its number is `self.line`), `None` at the
    /// end, or the read error (after which there are no more lines).
    fn next_line(&mut self) -> Option<Result<&[u8]>> {
        if self.done {
            return None;
        }
        self.buffer.clear();
        match self.reader.read_until(b'\n', &mut self.buffer) {
            Ok(0) => {
                self.done = true;
                None
            }
            Ok(_) => {
                self.line += 1;
                Some(Ok(&self.buffer))
            }
            Err(e) => {
                self.done = true;
                Some(Err(read_error(&self.path, e)))
            }
        }
    }
}

/// N-Triples or N-Quads read line by line (`--lenient`): each line is parsed alone, so an error
/// is confined to its line and located there.
struct LineQuads {
    lines: RawLines,
    format: RdfFormat,
    pending: std::collections::VecDeque<Result<Quad>>,
}

impl Iterator for LineQuads {
    type Item = Result<Quad>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(next) = self.pending.pop_front() {
                return Some(next);
            }
            let bytes = match self.lines.next_line()? {
                Ok(bytes) => bytes,
                Err(e) => return Some(Err(e)),
            };
            for quad in RdfParser::from_format(self.format).for_slice(bytes) {
                match quad {
                    Ok(quad) => self.pending.push_back(Ok(quad)),
                    Err(e) => {
                        // The parser was given this line alone: its error goes on the line
                        // (column 1 when it told none).
                        let line = self.lines.line;
                        let error = located(&self.lines.path, self.format, None, e.into())
                            .map_syntax(|location, message| {
                                let location = Location {
                                    line,
                                    column: location.map_or(1, |l| l.column),
                                };
                                let message = match message.contains("Unexpected end of file") {
                                    true => "a string, IRI or bracket opened here is not closed \
                                             before the end of its line"
                                        .to_owned(),
                                    false => message,
                                };
                                (Some(location), message)
                            });
                        self.pending.push_back(Err(error));
                        break;
                    }
                }
            }
        }
    }
}

/// How the data lines of a TSV graph split their fields, as its first data line does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TsvSplit {
    /// By tabs (a token may hold spaces).
    Tabs,
    /// By runs of spaces (KGAT's `kg_final.txt`: `0 1 5`), on the given line first.
    Spaces(u64),
}

struct TsvTriples {
    lines: RawLines,
    base: String,
    /// How the first data line split its fields; later lines must split the same way.
    split: Option<TsvSplit>,
    /// The first lines, read ahead to tell a header ([`is_tsv_header_among`]): each its number
    /// and text, or the error reading it (the last one read ahead).
    ahead: std::collections::VecDeque<Result<(u64, String)>>,
    /// Whether the start of the file was read ahead.
    looked: bool,
    /// The number of the line being read.
    at: u64,
}

/// Lines of a TSV graph read ahead to tell whether its first line is a header.
pub const TSV_LOOK_AHEAD: usize = 1000;

/// Whether `line`, the first of a TSV graph, is a header by its names alone (`head relation
/// tail`, `subject predicate object`, RecBole's typed `head_id:token ...`).
pub fn is_tsv_header(line: &str) -> bool {
    TsvTriples::is_header_line(line)
}

/// A TSV line's fields: split by tabs, or by runs of blanks on a line without a tab.
pub fn tsv_fields(line: &str) -> Vec<&str> {
    match line.contains('\t') {
        true => line.split('\t').map(str::trim).collect(),
        false => line.split_whitespace().collect(),
    }
}

/// Column names a header of a TSV graph (or of a table given as one) uses, compared in lower
/// case without `_`, `-` and blanks.
const COLUMN_NAMES: &[&str] = &[
    "head",
    "relation",
    "tail",
    "subject",
    "predicate",
    "object",
    "source",
    "target",
    "from",
    "to",
    "property",
    "attribute",
    "value",
    "entity",
    "id",
    "name",
    "label",
    "type",
    "key",
    "relationship",
    "rel",
    "edge",
    "node",
    "start",
    "end",
];

/// Whether `first`, the first line of a TSV graph, is a header, given the data lines after it
/// (`rest`, the first [`TSV_LOOK_AHEAD`] or so): its names say so ([`is_tsv_header`]), or it
/// is three words (letters, `_`, `-`, blanks: no digit, IRI, prefix or quote) whose relation
/// appears as no later line's relation and whose head as no later head or tail, and either
/// one of them is a usual column name (`Subject`, `value`, ...) or the later lines' heads are
/// of another kind (nine in ten hold a digit, `:`, `/`, `.` or the like: `P0001`, `m.0abc`,
/// `ex:a`): `Artikel<TAB>Eigenschaft<TAB>Wert` over `P0001<TAB>kategorie<TAB>Werkzeug`. A
/// graph whose heads are plain words (`Alice knows Bob`) keeps its first line unless that line
/// uses column names. A line split otherwise than the lines after it (tabs against blanks) is
/// not a header by these rules: the file mixes separators.
pub fn is_tsv_header_among(first: &str, rest: &[&str]) -> bool {
    if is_tsv_header(first) {
        return true;
    }
    let word = |f: &str| {
        !f.is_empty()
            && f.chars()
                .all(|c| c.is_alphabetic() || matches!(c, '_' | '-' | ' '))
    };
    let head = tsv_fields(first);
    if head.len() != 3 || !head.iter().all(|f| word(f)) || rest.is_empty() {
        return false;
    }
    // A header splits as its file does: a tabbed line over blank-separated ones (or the other
    // way round) is a file of two separators, refused at its second line, not a header.
    let tabbed = first.contains('\t');
    if rest.iter().any(|l| l.contains('\t') != tabbed) {
        return false;
    }
    let rows: Vec<Vec<&str>> = rest.iter().map(|l| tsv_fields(l)).collect();
    let relation_again = rows.iter().any(|r| r.get(1) == Some(&head[1]));
    let head_again = rows
        .iter()
        .any(|r| r.first() == Some(&head[0]) || r.get(2) == Some(&head[0]));
    if relation_again || head_again {
        return false;
    }
    let known = head.iter().any(|f| {
        let name: String = f
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        COLUMN_NAMES.contains(&name.as_str())
    });
    let other_kind = rows
        .iter()
        .filter(|r| r.first().is_some_and(|h| !word(h)))
        .count();
    known || other_kind * 10 >= rows.len() * 9
}

impl TsvTriples {
    fn error(&self, column: u64, message: impl Into<String>) -> KgError {
        KgError::Syntax {
            file: self.lines.path.clone(),
            location: Location {
                line: self.at,
                column,
            },
            message: message.into(),
        }
    }

    /// A header line: RecBole's typed fields (`head_id:token<TAB>relation_id:token<TAB>
    /// tail_id:token`), or the three columns' usual names (`head relation tail`, `h r t`,
    /// `subject predicate object`, `s p o`, with or without `_id`), which would otherwise
    /// become a triple of their own.
    fn is_header_line(line: &str) -> bool {
        let typed = line.split('\t').all(|field| {
            field
                .rsplit_once(':')
                .is_some_and(|(_, kind)| kind.starts_with("token") || kind.starts_with("float"))
        });
        let names: Vec<String> = line
            .split('\t')
            .map(|f| {
                let f = f.trim().to_ascii_lowercase();
                f.strip_suffix("_id").map_or(f.clone(), str::to_owned)
            })
            .collect();
        let named = [
            ["head", "relation", "tail"],
            ["h", "r", "t"],
            ["subject", "predicate", "object"],
            ["s", "p", "o"],
        ]
        .iter()
        .any(|header| names == header);
        typed || named
    }

    /// Refuses a control character (C0 other than the separating tab, DEL, C1) in a head,
    /// relation or tail id, at its column: the id would be minted into an IRI with the
    /// character percent-encoded, and come back raw in the tab-separated outputs (the rule of
    /// interaction ids). A quoted tail is a literal, which may hold what N-Triples lets a
    /// string hold.
    fn check_control_characters(&self, text: &str) -> Result<()> {
        // Fields are split by tabs, or by spaces on a line without one (KGAT's `0 1 5`).
        let tabbed = text.contains('\t');
        let separator = |c: char| if tabbed { c == '\t' } else { c == ' ' };
        for (at, c) in text.char_indices() {
            if !c.is_control() || separator(c) {
                continue;
            }
            let start = text[..at].rfind(separator).map_or(0, |i| i + 1);
            let end = text[at..].find(separator).map_or(text.len(), |i| at + i);
            let token = text[start..end].trim();
            let field = text[..start]
                .split(separator)
                .filter(|f| !f.trim().is_empty())
                .count();
            if field == 2 && token.starts_with('"') {
                continue;
            }
            let name = match ["head", "relation", "tail"].get(field) {
                Some(name) => (*name).to_owned(),
                None => format!("field {}", field + 1),
            };
            return Err(self.error(
                text[..at].chars().count() as u64 + 1,
                format!(
                    "`{name}` {token:?} holds a control character (U+{:04X}), which ids may not \
                     (it would break the tab-separated outputs): remove it from the file",
                    u32::from(c)
                ),
            ));
        }
        Ok(())
    }

    fn parse_line(&mut self, text: &str) -> Result<Quad> {
        self.check_control_characters(text)?;
        let mut fields: Vec<&str> = text.split('\t').collect();
        let line = self.at;
        // No tab at all and three blank-separated tokens: KGAT's `kg_final.txt` (`0 1 5`).
        if fields.len() == 1 {
            let spaced: Vec<&str> = text.split_whitespace().collect();
            if spaced.len() == 3 && !text.trim_start().starts_with(['<', '"', '@']) {
                fields = spaced;
            }
        }
        // One file, one way of splitting: a line split by spaces among lines split by tabs (or
        // the other way round) is a mistake to name, not a triple to guess at.
        let split = match fields.len() {
            1 if text.split_whitespace().count() > 1
                && !text.trim_start().starts_with(['<', '"', '@', '{', '[']) =>
            {
                Some(TsvSplit::Spaces(line))
            }
            1 => None,
            _ if !text.contains('\t') => Some(TsvSplit::Spaces(line)),
            _ => Some(TsvSplit::Tabs),
        };
        match (self.split, split) {
            (None, _) => self.split = split,
            (Some(TsvSplit::Tabs), Some(TsvSplit::Spaces(_))) => {
                return Err(self.error(
                    1,
                    format!(
                        "this line has no tab: its {} words are separated by spaces, while \
                         the file's first lines are tab-separated (`head<TAB>relation<TAB>tail`; \
                         a token may hold spaces, so spaces do not split fields there): put tabs \
                         between head, relation and tail",
                        text.split_whitespace().count()
                    ),
                ));
            }
            (Some(TsvSplit::Spaces(first)), Some(TsvSplit::Tabs)) => {
                return Err(self.error(
                    1,
                    format!(
                        "this line's fields are separated by tabs, while the file's first data \
                         line (line {first}) is split by spaces: use one separator throughout \
                         (tabs, so that a token may hold spaces)"
                    ),
                ));
            }
            _ => {}
        }
        if fields.len() != 3 {
            let column = if fields.len() < 3 {
                text.chars().count() as u64 + 1
            } else {
                fields[..3]
                    .iter()
                    .map(|f| f.chars().count() + 1)
                    .sum::<usize>() as u64
                    + 1
            };
            let trimmed = text.trim_start();
            let looks_like = if trimmed.starts_with('<') && trimmed.trim_end().ends_with('.') {
                "; the line looks like N-Triples: name the syntax with --format nt"
            } else if trimmed.starts_with('@') || trimmed.to_ascii_lowercase().starts_with("prefix")
            {
                "; the line looks like Turtle: name the syntax with --format ttl"
            } else if trimmed.starts_with(['{', '[']) {
                "; the line looks like JSON, which kgrec does not read as a graph: convert it to \
                 N-Triples, Turtle or tab-separated triples"
            } else if fields.len() < 3 && text.contains(',') {
                "; the line looks comma-separated: a TSV graph splits its fields by tabs"
            } else if fields.len() < 3 && text.contains(' ') {
                "; the line holds spaces too: is one of its fields separated by a space instead \
                 of a tab?"
            } else {
                ""
            };
            return Err(self.error(
                column,
                format!(
                    "expected 3 tab-separated fields (head, relation, tail), found {}{looks_like}",
                    fields.len()
                ),
            ));
        }
        let mut column = 1u64;
        let mut iris = Vec::with_capacity(3);
        let mut literal = None;
        for (k, field) in fields.iter().enumerate() {
            let token = field.trim();
            if token.is_empty() {
                return Err(self.error(column, "empty token"));
            }
            // A quoted tail is a literal, in N-Triples syntax: `"Toy Story"`, `"Toy Story"@en`,
            // `"1995"^^<http://www.w3.org/2001/XMLSchema#gYear>`.
            if token.starts_with('"') {
                if k != 2 {
                    return Err(self.error(
                        column,
                        format!("token {token:?}: a literal (in quotes) can only be the tail"),
                    ));
                }
                let parsed: Literal = token.parse().map_err(|e| {
                    self.error(
                        column,
                        format!(
                            "token {token:?}: not a literal: {e} (a TSV graph's literal is written \
                             as in N-Triples: \"text\", \"text\"@en or \"1995\"^^<datatype IRI>)"
                        ),
                    )
                })?;
                literal = Some(parsed);
                continue;
            }
            // A token written as an IRI (`http://e.org/a`, or `<http://e.org/a>` as N-Triples
            // and `kgrec sparql --format tsv` write it) is that IRI; any other token is minted
            // under the base.
            let bracketed = token
                .strip_prefix('<')
                .and_then(|t| t.strip_suffix('>'))
                .filter(|t| is_absolute_iri(t));
            let iri = match bracketed {
                Some(iri) => iri.to_owned(),
                None if token.contains("://")
                    && is_absolute_iri(token)
                    && !token.contains(char::is_whitespace) =>
                {
                    token.to_owned()
                }
                None => tsv_token_iri(&self.base, token),
            };
            let node = NamedNode::new(iri)
                .map_err(|e| self.error(column, format!("token {token:?}: not an IRI: {e}")))?;
            iris.push(node);
            column += field.chars().count() as u64 + 1;
        }
        let tail: Option<Term> = match literal {
            Some(l) => Some(l.into()),
            None => iris.pop().map(Term::from),
        };
        let relation = iris.pop();
        let head = iris.pop();
        match (head, relation, tail) {
            (Some(h), Some(r), Some(t)) => Ok(Quad::new(h, r, t, GraphName::DefaultGraph)),
            _ => Err(self.error(1, "expected 3 fields")),
        }
    }
}

impl TsvTriples {
    /// The next line's number and text (line break removed), `None` at the end.
    fn read_text(&mut self) -> Option<Result<(u64, String)>> {
        let bytes = match self.lines.next_line()? {
            Ok(bytes) => bytes,
            Err(e) => return Some(Err(e)),
        };
        let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let text = std::str::from_utf8(bytes).map(str::to_owned).map_err(|e| {
            String::from_utf8_lossy(&bytes[..e.valid_up_to()])
                .chars()
                .count() as u64
                + 1
        });
        let seen = match text {
            Ok(_) => Vec::new(),
            Err(_) => bytes.to_vec(),
        };
        let line = self.lines.line;
        match text {
            Ok(text) => Some(Ok((line, text))),
            Err(column) => {
                self.at = line;
                Some(Err(self.error(
                    column,
                    format!(
                        "invalid UTF-8: {}",
                        crate::encoding::not_utf8_advice(&self.lines.path, &seen)
                    ),
                )))
            }
        }
    }

    /// Reads the first [`TSV_LOOK_AHEAD`] lines ahead and drops the first one when it is a
    /// header ([`is_tsv_header_among`]).
    fn look_ahead(&mut self) {
        self.looked = true;
        while self.ahead.len() < TSV_LOOK_AHEAD {
            let Some(read) = self.read_text() else { break };
            let failed = read.is_err();
            self.ahead.push_back(read);
            if failed {
                break;
            }
        }
        let data: Vec<(u64, &str)> = self
            .ahead
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .filter(|(_, text)| !is_blank_or_comment(text))
            .map(|(n, text)| (*n, text.as_str()))
            .collect();
        let header = match data.split_first() {
            Some(((1, first), rest)) => {
                let rest: Vec<&str> = rest.iter().map(|(_, t)| *t).collect();
                is_tsv_header_among(first, &rest)
            }
            _ => false,
        };
        if header {
            self.ahead.pop_front();
        }
    }
}

/// A line a TSV graph skips: blank, or a `#` comment.
fn is_blank_or_comment(text: &str) -> bool {
    text.trim().is_empty() || text.starts_with('#')
}

impl Iterator for TsvTriples {
    type Item = Result<Quad>;

    fn next(&mut self) -> Option<Self::Item> {
        if !self.looked {
            self.look_ahead();
        }
        loop {
            let read = match self.ahead.pop_front() {
                Some(read) => read,
                None => self.read_text()?,
            };
            let (line, text) = match read {
                Ok(read) => read,
                Err(e) => return Some(Err(e)),
            };
            if is_blank_or_comment(&text) {
                continue;
            }
            self.at = line;
            return Some(self.parse_line(&text));
        }
    }
}

/// Rewrites the blank nodes of one file so that two files never share one by accident, while
/// re-importing the same file yields the same nodes (and so adds nothing). A node is renamed by
/// its order of first appearance in the file: anonymous nodes (`[ ... ]` in Turtle), which the
/// parser names at random on every read, get the same name on every import too.
#[derive(Debug)]
pub(crate) struct BlankScope {
    scope: String,
    names: HashMap<String, usize>,
}

impl BlankScope {
    pub(crate) fn new(scope: String) -> Self {
        Self {
            scope,
            names: HashMap::new(),
        }
    }

    fn rename(&mut self, b: &BlankNode) -> BlankNode {
        let next = self.names.len();
        let n = *self.names.entry(b.as_str().to_owned()).or_insert(next);
        BlankNode::new_unchecked(format!("k{}x{n}", self.scope))
    }

    pub(crate) fn apply(&mut self, quad: Quad) -> Quad {
        let subject = match &quad.subject {
            NamedOrBlankNode::BlankNode(b) => NamedOrBlankNode::BlankNode(self.rename(b)),
            other => other.clone(),
        };
        let object = match &quad.object {
            Term::BlankNode(b) => Term::BlankNode(self.rename(b)),
            other => other.clone(),
        };
        let graph_name = match &quad.graph_name {
            GraphName::BlankNode(b) => GraphName::BlankNode(self.rename(b)),
            other => other.clone(),
        };
        Quad::new(subject, quad.predicate, object, graph_name)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn quick_xml_ranges_inside_a_value_are_dropped_from_the_message() {
        assert_eq!(
            without_range("Error while escaping character at range 37..45: Cannot find ';'"),
            "Error while escaping character: Cannot find ';'"
        );
        assert_eq!(
            without_range("at 4..10: unrecognized entity `eacute`"),
            "unrecognized entity `eacute`"
        );
        // A message without a range is left as it is.
        assert_eq!(without_range("look at this: a"), "look at this: a");
    }

    #[test]
    fn the_first_bad_reference_is_found_and_declared_entities_pass() {
        let none = |_: &[u8]| false;
        assert_eq!(bad_reference(b"a &amp; b &#233; &#x41; &lt;", none), None);
        assert_eq!(bad_reference(b"id=0&lang=de", none), Some(4));
        assert_eq!(bad_reference(b"&amp; AT&T", none), Some(8));
        assert_eq!(bad_reference(b"caf&eacute;", none), Some(3));
        assert_eq!(bad_reference(b"caf&eacute;", |n| n == b"eacute"), None);
        assert_eq!(bad_reference(b"&#xZZ;", none), Some(0));
    }

    #[test]
    fn the_offending_spot_is_the_bad_ampersand_the_quoted_iri_or_the_text() {
        let doc = b"<r>\n <d a=\"http://x/?a=1&b=2\">";
        let at = offending_spot(
            doc,
            "Error while escaping character at range 14..18: Cannot find ';' after '&'",
        );
        assert_eq!(at, Some(doc.iter().position(|&b| b == b'&').unwrap()));
        let doc = b"<r>\n <d a=\"http://x/a b\">";
        let at = offending_spot(
            doc,
            "error while parsing IRI 'http://x/a b': Invalid IRI code point ' '",
        );
        assert_eq!(at, Some(11));
        // A relative IRI is shown resolved: the attribute value it ends with.
        let doc = b"<r>\n <d a=\"x\" b=\"c d\">";
        let at = offending_spot(
            doc,
            "error while parsing IRI 'http://base/c d': Invalid IRI code point ' '",
        );
        assert_eq!(at, Some(17));
        let doc = b"<r>\n <d>\n  stray";
        assert_eq!(
            offending_spot(doc, "Unexpected text event: 'stray'"),
            Some(11)
        );
    }

    #[test]
    fn an_invalid_iri_code_point_is_answered_with_its_percent_encoding() {
        let said = with_hint(
            Path::new("-"),
            "Invalid IRI code point ' '",
            RdfFormat::NTriples,
            false,
        );
        assert!(said.ends_with("write it percent-encoded, %20"), "{said}");
        let said = with_hint(
            Path::new("-"),
            "Invalid IRI code point '\u{a0}'",
            RdfFormat::Turtle,
            false,
        );
        assert!(said.ends_with("%C2%A0"), "{said}");
        assert_eq!(code_point_hint("No scheme found in an absolute IRI"), None);
    }

    #[test]
    fn guesses_format_and_compression_from_the_name() {
        let (f, gz) = InputFormat::guess(Path::new("a/kg.nt.gz"));
        assert_eq!(f, Some(InputFormat::Rdf(RdfFormat::NTriples)));
        assert!(gz);
        let (f, gz) = InputFormat::guess(Path::new("train.txt"));
        assert_eq!(f, Some(InputFormat::Tsv));
        assert!(!gz);
        assert_eq!(
            InputFormat::guess(Path::new("x.owl")).0,
            Some(InputFormat::Rdf(RdfFormat::RdfXml))
        );
        assert_eq!(InputFormat::guess(Path::new("x.json")).0, None);
        // Notation3: its Turtle subset, by the extension only (noted by the caller).
        assert_eq!(
            InputFormat::guess(Path::new("dest.N3.gz")),
            (Some(InputFormat::Rdf(RdfFormat::Turtle)), true)
        );
        assert!(InputFormat::is_n3(
            Path::new("dest.n3"),
            &SourceOptions::default()
        ));
        assert_eq!(
            InputFormat::from_name("n3"),
            None,
            "--format n3 is no syntax name"
        );
    }

    #[test]
    fn tsv_tokens_round_trip_through_iris() {
        for token in ["/m/027rn", "a b", "100%", "x#y?z", "Ω<>\"", "m.04ctbw8"] {
            let iri = tsv_token_iri(DEFAULT_TSV_BASE, token);
            assert!(NamedNode::new(iri.clone()).is_ok(), "{iri}");
            assert_eq!(tsv_token_of(DEFAULT_TSV_BASE, &iri).as_deref(), Some(token));
        }
    }

    #[test]
    fn tsv_tokens_written_as_iris_are_those_iris() {
        let text = "http://e.org/a\t<http://e.org/p>\tplain token\n";
        let (_dir, opened) = open_text("g.tsv", text);
        let quads: Vec<Quad> = statements(opened.unwrap(), &SourceOptions::default(), false)
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(quads.len(), 1);
        assert_eq!(quads[0].subject.to_string(), "<http://e.org/a>");
        assert_eq!(quads[0].predicate.to_string(), "<http://e.org/p>");
        assert_eq!(quads[0].object.to_string(), "<urn:kgrec:plain%20token>");
    }

    #[test]
    fn tsv_tails_in_quotes_are_literals_and_blank_separated_lines_are_triples() {
        let read = |text: &str| -> Result<Vec<Quad>> {
            let (_dir, opened) = open_text("g.tsv", text);
            statements(opened.unwrap(), &SourceOptions::default(), false)
                .unwrap()
                .collect::<Result<_>>()
        };
        let quads = read(
            "toy_story\ttitle\t\"Toy Story\"@en\n\
             toy_story\tyear\t\"1995\"^^<http://www.w3.org/2001/XMLSchema#gYear>\n",
        )
        .unwrap();
        let objects: Vec<String> = quads.iter().map(|q| q.object.to_string()).collect();
        assert_eq!(
            objects,
            [
                "\"Toy Story\"@en",
                "\"1995\"^^<http://www.w3.org/2001/XMLSchema#gYear>",
            ]
        );
        // A file of blank-separated lines (KGAT's `kg_final.txt`) is read so throughout.
        let quads = read("0 1 5\n5 1 7\n").unwrap();
        assert_eq!(quads[0].subject.to_string(), "<urn:kgrec:0>");
        assert_eq!(quads[0].object.to_string(), "<urn:kgrec:5>");
        // One file, one separator: a blank-separated line among tab-separated ones (and the
        // other way round) is refused at its line, saying why.
        let e = read("a\tr\tb\n0 1 5\n").unwrap_err();
        assert!(
            e.to_string().contains("g.tsv:2:1: this line has no tab"),
            "{e}"
        );
        let e = read("0 1 5\na\tr\tb\n").unwrap_err();
        assert!(e.to_string().contains("(line 1) is split by spaces"), "{e}");
        for (bad, needle) in [
            ("\"a\"\tp\tb\n", "can only be the tail"),
            ("a\tp\t\"unclosed\n", "not a literal"),
            ("a b c d\n", "expected 3 tab-separated fields"),
        ] {
            let (_dir, opened) = open_text("g.tsv", bad);
            let e = statements(opened.unwrap(), &SourceOptions::default(), false)
                .unwrap()
                .collect::<Result<Vec<_>>>()
                .unwrap_err();
            assert!(e.to_string().contains(needle), "{bad:?}: {e}");
        }
    }

    #[test]
    fn tsv_ids_with_control_characters_are_refused_where_they_are() {
        let read = |text: &str| -> Result<Vec<Quad>> {
            let (_dir, opened) = open_text("g.tsv", text);
            statements(opened.unwrap(), &SourceOptions::default(), false)
                .unwrap()
                .collect::<Result<_>>()
        };
        // C0 (NUL, a vertical tab, a carriage return inside the line), DEL and C1, in each
        // field, on tab- and on blank-separated lines: file, line, column of the character.
        for (text, needle) in [
            (
                "a\tr\tb\nx\u{1}y\tr\tb\n",
                "g.tsv:2:2: `head` \"x\\u{1}y\" holds a control \
              character (U+0001), which ids may not (it would break the tab-separated outputs): \
              remove it from the file",
            ),
            (
                "a\tr\0\tb\n",
                "g.tsv:1:4: `relation` \"r\\0\" holds a control character (U+0000)",
            ),
            (
                "a\tr\tb\rc\n",
                "g.tsv:1:6: `tail` \"b\\rc\" holds a control character (U+000D)",
            ),
            ("a\tr\tb\u{7f}\n", "(U+007F)"),
            ("a\tr\u{85}\tb\n", "g.tsv:1:4: `relation`"),
            (
                "0 1\u{b}2 5\n",
                "g.tsv:1:4: `relation` \"1\\u{b}2\" holds a control character",
            ),
            ("0\u{b}1\u{b}5\n", "g.tsv:1:2: `head`"),
            (
                "<http://e.org/a\u{1}>\tr\tb\n",
                "`head` \"<http://e.org/a\\u{1}>\"",
            ),
        ] {
            let e = read(text).unwrap_err();
            assert!(matches!(e, KgError::Syntax { .. }), "{text:?}: {e:?}");
            assert!(e.to_string().contains(needle), "{text:?}: {e}");
        }
        // A quoted tail is a literal, which may hold what an N-Triples string may; a tab
        // separates, and a line ending in CR LF is one line.
        let quads = read("a\tr\t\"one\u{b}two\"\r\nc\tr\td\r\n").unwrap();
        assert_eq!(quads.len(), 2);
        assert!(
            matches!(&quads[0].object, Term::Literal(l) if l.value() == "one\u{b}two"),
            "{quads:?}"
        );
    }

    #[test]
    fn absolute_iris_are_told_from_bare_tokens() {
        for iri in ["http://x/y", "urn:kgrec:m.1", "tag:a,2000:b", "a+b-c.d:e"] {
            assert!(is_absolute_iri(iri), "{iri}");
        }
        for token in ["m.04ctbw8", "/m/027rn", "1:x", ":x", "", "a b:c", "é:x"] {
            assert!(!is_absolute_iri(token), "{token}");
        }
    }

    #[test]
    fn parser_messages_lose_the_location_the_error_shows_anyway() {
        assert_eq!(
            without_location("Parser error at line 3 column 11: . is not a valid RDF object"),
            ". is not a valid RDF object"
        );
        assert_eq!(
            without_location("Parser error between line 1 column 1 and line 2 column 4: EOF"),
            "EOF"
        );
        assert_eq!(without_location("no scheme: x"), "no scheme: x");
    }

    /// `name` with `text` in a fresh directory, opened as `open` would (format from the name).
    fn open_text(name: &str, text: &str) -> (tempfile::TempDir, Result<OpenedSource>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let opened = open(&path, &SourceOptions::default());
        (dir, opened)
    }

    #[test]
    fn a_file_whose_start_shows_another_syntax_is_refused_with_the_right_flag() {
        let nt = "<http://ex.org/a> <http://ex.org/p> <http://ex.org/b> .\n";
        let (_dir, opened) = open_text("kg.rdf", nt);
        let message = opened.err().unwrap().to_string();
        assert!(message.contains("N-Triples statement"), "{message}");
        assert!(message.contains("--format nt"), "{message}");
        let xml = "<?xml version=\"1.0\"?>\n<rdf:RDF/>\n";
        for name in ["kg.ttl", "kg.nt", "kg.tsv"] {
            let (_dir, opened) = open_text(name, xml);
            let message = opened.err().unwrap().to_string();
            assert!(message.contains("--format rdf"), "{name}: {message}");
        }
        for (name, text, flag) in [
            ("g.nt", "a\tknows\tb\n", "--format tsv"),
            (
                "q.nt",
                "<http://e/a> <http://e/p> <http://e/b> <http://e/g> .\n",
                "--format nq",
            ),
        ] {
            let (_dir, opened) = open_text(name, text);
            let message = opened.err().unwrap().to_string();
            assert!(message.contains(flag), "{name}: {message}");
        }
        assert!(
            open_text(
                "q.nq",
                "<http://e/a> <http://e/p> <http://e/b> <http://e/g> .\n"
            )
            .1
            .is_ok()
        );
        for (name, text, flag) in [
            (
                "semi.nt",
                "<http://e/a> <http://e/p> <http://e/b> ;\n",
                "--format ttl",
            ),
            ("a.nt", "<http://e/a> a <http://e/C> .\n", "--format ttl"),
            ("p.nt", "ex:a ex:p ex:b .\n", "--format ttl"),
            ("t.ttl", "CS101\tteaches\tAlice\n", "--format tsv"),
        ] {
            let (_dir, opened) = open_text(name, text);
            let message = opened.err().unwrap().to_string();
            assert!(message.contains(flag), "{name}: {message}");
        }
        let turtle = "@prefix ex: <http://e/> .\nex:a ex:p ex:b .\n";
        assert!(open_text("ok.ttl", turtle).1.is_ok());
        // An RDF/XML document and a Turtle file starting with an IRI are not mistaken.
        assert!(open_text("kg.rdf", xml).1.is_ok());
        assert!(open_text("kg.ttl", nt).1.is_ok());
        assert!(!looks_like_ntriples("<rdf:RDF xmlns:rdf=\"http://x/\">"));
        assert!(looks_like_ntriples("_:b0 <http://ex.org/p> \"x\" ."));
    }

    #[test]
    fn rdf_xml_errors_get_the_line_and_column_where_the_xml_breaks() {
        let xml = "<?xml version=\"1.0\"?>\n<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"\n\
                   xmlns:ex=\"http://ex.org/\">\n  <rdf:Description rdf:about=\"http://ex.org/a\">\n\
                   <ex:q>unclosed\n  </rdf:Description>\n</rdf:RDF>\n";
        let (dir, opened) = open_text("kg.rdf", xml);
        let error = statements(opened.unwrap(), &SourceOptions::default(), false)
            .unwrap()
            .find_map(Result::err)
            .unwrap();
        assert!(
            matches!(
                error,
                KgError::Syntax {
                    location: Location { line: 6, column: 3 },
                    ..
                }
            ),
            "{error}"
        );
        // Well-formed XML has no XML error to point at.
        let good = dir.path().join("good.rdf");
        std::fs::write(&good, "<rdf:RDF/>").unwrap();
        assert_eq!(xml_error_location(&good, RdfFormat::RdfXml), None);
    }

    /// Latin-1 RDF/XML, with and without a declaration of its encoding: refused at the first
    /// byte that is not UTF-8 (or at the declaration), with the iconv hint.
    #[test]
    fn latin1_rdf_xml_is_refused_where_it_stops_being_utf8_with_the_iconv_hint() {
        let body = b"<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"\n \
                     xmlns:ex=\"http://ex.org/\">\n  <rdf:Description rdf:about=\"http://ex.org/a\">\n\
                     \x20   <ex:name>Caf\xe9 Ren\xe9</ex:name>\n  </rdf:Description>\n</rdf:RDF>\n";
        let dir = tempfile::tempdir().unwrap();
        for (name, declaration, line, column, needle) in [
            (
                "plain.rdf",
                &b"<?xml version=\"1.0\"?>\n"[..],
                5,
                17,
                "`iconv -f cp1252 -t utf-8",
            ),
            (
                "declared.rdf",
                &b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"[..],
                1,
                21,
                "encoding=\"UTF-8\"",
            ),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, [declaration, &body[..]].concat()).unwrap();
            let error = statements(
                open(&path, &SourceOptions::default()).unwrap(),
                &SourceOptions::default(),
                false,
            )
            .unwrap()
            .find_map(Result::err)
            .unwrap();
            let text = error.to_string();
            assert!(
                matches!(&error, KgError::Syntax { location, .. }
                    if *location == Location { line, column }),
                "{name}: {text}"
            );
            assert!(
                text.contains(needle) && text.contains("iconv"),
                "{name}: {text}"
            );
        }
        // The scan itself: a character cut by a read's end is not an error; a lone byte is.
        let text = "ab\ncé\n".as_bytes();
        assert_eq!(first_non_utf8(text), None);
        assert_eq!(
            first_non_utf8(&b"ab\nc\xe9d"[..]),
            Some(Location { line: 2, column: 2 })
        );
        assert_eq!(
            first_non_utf8(&b"ab\xc3"[..]),
            Some(Location { line: 1, column: 3 })
        );
        let long = "é".repeat(1 << 16) + "\n\u{ff}";
        let mut bytes = long.into_bytes();
        bytes.push(0xff);
        assert_eq!(
            first_non_utf8(&bytes[..]),
            Some(Location { line: 2, column: 2 })
        );
    }

    #[test]
    fn recbole_header_is_recognised_but_data_is_not() {
        assert!(TsvTriples::is_header_line(
            "head_id:token\trelation_id:token\ttail_id:token"
        ));
        assert!(!TsvTriples::is_header_line("m.1\tfilm.actor\tm.2"));
        assert!(TsvTriples::is_header_line("head\trelation\ttail"));
        assert!(TsvTriples::is_header_line("Subject\tPredicate\tObject"));
        assert!(TsvTriples::is_header_line("head_id\trelation_id\ttail_id"));
        assert!(!TsvTriples::is_header_line("head\trelation\tsomething"));
    }
}
