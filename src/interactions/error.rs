//! The one error type of interaction and link parsing: every variant names the file, and the line
//! and column (1-based field number) where there is one, so the CLI can print `file:line:col`.

use std::path::PathBuf;

use super::columns::{ColumnHint, Role};
use super::{Caller, Format};

/// Why an interaction or link file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The file could not be opened or read.
    #[error("{}: cannot read: {error}{}", file.display(), damaged_gzip_hint(error))]
    Io {
        /// The file.
        file: PathBuf,
        /// The underlying error (in the message, so not also a `source`).
        error: std::io::Error,
    },
    /// The format was not given and neither the name nor the first lines tell it.
    #[error(
        "{}: cannot guess the interaction format from the file name or its first lines; pass \
         {} (tsv, csv, movielens, recbole, kgat)",
        file.display(),
        caller.format_flag()
    )]
    UnknownFormat {
        /// The file.
        file: PathBuf,
        /// Who reads it (the flag named).
        caller: Caller,
    },
    /// The format was not given and the file is an RDF graph (by its extension or first lines).
    #[error(
        "{}: this looks like an RDF graph ({basis}), not interactions: {}",
        file.display(),
        match caller {
            Caller::Import => "import it with `kgrec import kg FILE` (interactions are a table \
                               of users and items; pass --format to read it as one anyway)",
            Caller::Eval => "give it with `eval --kg FILE` (interactions are a table of users \
                             and items; pass --input-format to read it as one anyway)",
        }
    )]
    RdfGraph {
        /// The file.
        file: PathBuf,
        /// What it was recognised by.
        basis: String,
        /// Who reads it (the command named).
        caller: Caller,
    },
    /// A link file that is an RDF graph (by its extension or its first statement).
    #[error(
        "{}: this looks like an RDF graph ({basis}), not a link file: import it with `kgrec \
         import kg FILE` (a link file is a table of item ids and their IRIs, `item_id<TAB>iri`)",
        file.display()
    )]
    RdfLinkFile {
        /// The file.
        file: PathBuf,
        /// What it was recognised by.
        basis: String,
    },
    /// The file holds JSON lines (one object per line), which no format reads.
    #[error(
        "{}: its first line is a JSON object ({keys}), and JSON lines are not a format kgrec \
         reads (--format or not): convert them to a tab-separated table first, e.g. `jq -r \
         '{jq} | @tsv' FILE > FILE.tsv` (the user's key first, the item's second), then \
         `kgrec import interactions FILE.tsv --format tsv --no-header`",
        file.display()
    )]
    JsonLines {
        /// The file.
        file: PathBuf,
        /// The first object's keys, listed.
        keys: String,
        /// A jq array of those keys: `[.user, .item]`.
        jq: String,
    },
    /// The first line is a header whose names are separated by spaces, which no format reads.
    #[error(
        "{}:1: the first line looks like a header of space-separated names ({names}); headers \
         are read split by tab, `,`, `;` or `|`: convert the separators, or drop the header \
         and pass {}",
        file.display(),
        caller.format_flag()
    )]
    SpaceSeparatedHeader {
        /// The file.
        file: PathBuf,
        /// The names found.
        names: String,
        /// Who reads it (the flag named).
        caller: Caller,
    },
    /// The format was not given and the first lines read as more than one format.
    #[error(
        "{}: {}",
        file.display(),
        ambiguity(*columns, *rating, *lines, candidates, caller.format_flag())
    )]
    AmbiguousFormat {
        /// The file.
        file: PathBuf,
        /// How many numeric columns every line has (3 or 4).
        columns: usize,
        /// Whether the 3rd column looks like a rating (else it is some other number: a count).
        rating: bool,
        /// How many lines were looked at.
        lines: usize,
        /// The formats it could be.
        candidates: Vec<Format>,
        /// Who reads it (the flag named).
        caller: Caller,
    },
    /// The name ends in `.gz` but the bytes are not gzip.
    #[error(
        "{}: named .gz but is not a gzip file (it does not start with the gzip magic bytes)",
        file.display()
    )]
    NotGzip {
        /// The file.
        file: PathBuf,
    },
    /// The file holds nothing but blank lines.
    #[error("{}: the file is empty", file.display())]
    Empty {
        /// The file.
        file: PathBuf,
    },
    /// `--time-unit auto` found timestamps in both units: some 10¹¹ or more (milliseconds),
    /// some below (seconds).
    #[error(
        "{}: {millis} timestamp(s) look like milliseconds (10^11 or more, e.g. {big}) and \
         {seconds} like seconds (e.g. {small}): kgrec stores seconds and will not guess row by \
         row; give --time-unit ms or --time-unit s to say the file's unit, or split the file by \
         unit",
        file.display()
    )]
    MixedTimeUnits {
        /// The file.
        file: PathBuf,
        /// Timestamps of 10¹¹ or more.
        millis: usize,
        /// The others.
        seconds: usize,
        /// One of the first.
        big: i64,
        /// One of the others.
        small: i64,
    },
    /// The file holds a header and no data row.
    #[error("{}:{line}: the file has a header but no data rows", file.display())]
    HeaderOnly {
        /// The file.
        file: PathBuf,
        /// The header's line.
        line: usize,
    },
    /// The file has lines but not one interaction (e.g. KGAT lines naming a user and no item).
    #[error(
        "{}: no interaction found in {lines} lines read as kgat (`user item item ...`, split by \
         white space): every line holds a single token. If the fields are split by `;`, `,` or \
         `|`, pass {} csv (and --no-header when the first line is data)",
        file.display(),
        caller.format_flag()
    )]
    NoInteractions {
        /// The file.
        file: PathBuf,
        /// How many lines were read.
        lines: usize,
        /// Who reads it (the flag named).
        caller: Caller,
    },
    /// The header does not name a required column.
    #[error(
        "{}:{line}: {}the header has no `{column}` column (found: {found}); accepted names: \
         {}{}{}",
        file.display(),
        delimiter_lead(found),
        role.aliases.join(", "),
        role.flag.map(|f| match role.link {
            false => format!(
                "; or name the column with {f} NAME|N (a file without a header: --no-header)"
            ),
            true => format!("; or name the column with {f} NAME|N"),
        }).unwrap_or_default(),
        hint.text(*caller)
    )]
    MissingColumn {
        /// The file.
        file: PathBuf,
        /// The header's line.
        line: usize,
        /// The required column.
        column: &'static str,
        /// The header's fields, comma-separated.
        found: String,
        /// What the column is for: the names it is found by, the flag that maps it.
        role: &'static Role,
        /// A hint when the header looks like something else.
        hint: ColumnHint,
        /// Who reads it (the flag the hint names).
        caller: Caller,
    },
    /// A column flag names no column of the header (or, with `--no-header`, of the first line).
    #[error(
        "{}:{line}: {flag} {value}: {}",
        file.display(),
        match headerless {
            false => format!("the header has no such column (found: {found}){}", delimiter_hint(found)),
            true => format!(
                "the first line has no such column (--no-header: its {} field(s) are columns {found})",
                found.split(", ").count()
            ),
        }
    )]
    NoSuchColumn {
        /// Read with `--no-header`: the columns are the first line's positions.
        headerless: bool,
        /// The file.
        file: PathBuf,
        /// The header's line.
        line: usize,
        /// The flag (`--user-col`, ...).
        flag: &'static str,
        /// Its value.
        value: String,
        /// The header's fields, comma-separated.
        found: String,
    },
    /// Two column flags name the same column.
    #[error(
        "{}:{line}: {first} and {second} both name column {column}",
        file.display()
    )]
    SameColumn {
        /// The file.
        file: PathBuf,
        /// The header's line.
        line: usize,
        /// The 1-based column.
        column: usize,
        /// The first flag.
        first: &'static str,
        /// The second flag.
        second: &'static str,
    },
    /// An option that does not apply to the file's format.
    #[error("{}: {message}", file.display())]
    Unsupported {
        /// The file.
        file: PathBuf,
        /// What does not apply.
        message: String,
    },
    /// A data line has fewer fields than the column it needs.
    #[error(
        "{}:{line}:{column}: missing field `{field}` (the line has {found} fields)",
        file.display()
    )]
    MissingField {
        /// The file.
        file: PathBuf,
        /// The line.
        line: usize,
        /// The 1-based field number that is missing.
        column: usize,
        /// The field's name.
        field: &'static str,
        /// How many fields the line has.
        found: usize,
    },
    /// A required field is empty.
    #[error("{}:{line}:{column}: empty `{field}`", file.display())]
    EmptyField {
        /// The file.
        file: PathBuf,
        /// The line.
        line: usize,
        /// The 1-based field number.
        column: usize,
        /// The field's name.
        field: &'static str,
    },
    /// A field (an id) holds a control character (a tab, a line break...): it would break the
    /// tab-separated outputs, and HTTP refuses such ids too.
    #[error(
        "{}:{line}:{column}: `{field}` {value:?} holds a control character, which ids and \
         values may not (it would break the tab-separated outputs): remove it from the file{}",
        file.display(),
        c1_hint(value)
    )]
    ControlCharacter {
        /// The file.
        file: PathBuf,
        /// The line.
        line: usize,
        /// The 1-based field number.
        column: usize,
        /// The field's name.
        field: &'static str,
        /// The id as read.
        value: String,
    },
    /// An id longer than the HTTP service can address ([`super::MAX_ID_BYTES`]).
    #[error(
        "{}:{line}:{column}: {} starting {start:?} is {bytes} bytes long; ids are at \
         most {} bytes (the limit of ids over HTTP, which could never ask for a longer one): \
         shorten it, e.g. to a hash or a number with a lookup table of your own",
        file.display(),
        match header {
            Some(name) => format!("`{name}` (read as the {field})"),
            None => format!("`{field}`"),
        },
        super::MAX_ID_BYTES
    )]
    IdTooLong {
        /// The file.
        file: PathBuf,
        /// The line.
        line: usize,
        /// The 1-based field number.
        column: usize,
        /// The field's role (`user_id`, `item_id`).
        field: &'static str,
        /// The column's own name in the header, when it is not the role's (`customer_id`).
        header: Option<String>,
        /// The id's length in bytes.
        bytes: usize,
        /// The id's first characters.
        start: String,
    },
    /// A numeric field does not hold a (finite) number (a timestamp: nor an ISO 8601 date).
    #[error(
        "{}:{line}:{column}: {} {}: {value:?}{}",
        file.display(),
        match header {
            Some(name) => format!("`{name}` (read as the {field})"),
            None => format!("`{field}`"),
        },
        not_a_number_cause(field, value),
        decimal_comma_hint(value)
    )]
    NotANumber {
        /// The file.
        file: PathBuf,
        /// The line.
        line: usize,
        /// The 1-based field number.
        column: usize,
        /// The field's role (`rating`, `timestamp`).
        field: &'static str,
        /// The column's own name in the header, when it is not the role's.
        header: Option<String>,
        /// The text found.
        value: String,
    },
    /// Any other defect of one line (bad UTF-8, broken CSV quoting, a conflicting link).
    #[error("{}:{line}: {message}", file.display())]
    Malformed {
        /// The file.
        file: PathBuf,
        /// The line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl ParseError {
    /// The line the error points at, when there is one (for exit-code 2 messages and tests).
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::HeaderOnly { line, .. }
            | Self::MissingColumn { line, .. }
            | Self::NoSuchColumn { line, .. }
            | Self::SameColumn { line, .. }
            | Self::MissingField { line, .. }
            | Self::EmptyField { line, .. }
            | Self::ControlCharacter { line, .. }
            | Self::IdTooLong { line, .. }
            | Self::NotANumber { line, .. }
            | Self::Malformed { line, .. } => Some(*line),
            Self::Io { .. }
            | Self::UnknownFormat { .. }
            | Self::JsonLines { .. }
            | Self::RdfGraph { .. }
            | Self::RdfLinkFile { .. }
            | Self::AmbiguousFormat { .. }
            | Self::SpaceSeparatedHeader { .. }
            | Self::NotGzip { .. }
            | Self::Unsupported { .. }
            | Self::Empty { .. }
            | Self::MixedTimeUnits { .. }
            | Self::NoInteractions { .. } => None,
        }
    }
}

/// For a value holding a C1 control character (U+0080–U+009F): what it usually means.
fn c1_hint(value: &str) -> &'static str {
    match value.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)) {
        true => {
            "; a character U+0080–U+009F usually means a Windows-1252 file converted as \
             Latin-1 (its € and curly quotes): convert the original with `iconv -f cp1252 -t \
             utf-8` instead"
        }
        false => "",
    }
}

/// When a header read as one field holds another delimiter (`--delimiter tab` on a CSV): the
/// delimiter it seems to be split by.
fn delimiter_hint(found: &str) -> String {
    if found.contains(", ") {
        return String::new();
    }
    [(',', "`,`"), (';', "`;`"), ('|', "`|`"), ('\t', "tab")]
        .into_iter()
        .find(|(c, _)| found.contains(*c))
        .map(|(_, name)| {
            format!(
                "; the header was read as one field, and it holds {name}: is the file split by \
                 {name}? (--delimiter names the delimiter; without it, it is detected)"
            )
        })
        .unwrap_or_default()
}

/// The cause said first when a header read as one field holds another delimiter (`--delimiter
/// ';'` on a comma file): the delimiter, not the column names, is what is wrong.
fn delimiter_lead(found: &str) -> String {
    if found.contains(", ") {
        return String::new();
    }
    [
        (',', "`,`", "','"),
        (';', "`;`", "';'"),
        ('|', "`|`", "'|'"),
        ('\t', "tab", "tab"),
    ]
    .into_iter()
    .find(|(c, _, _)| found.contains(*c))
    .map(|(_, name, flag)| {
        format!(
            "the delimiter looks wrong: the header was read as one field, and it holds \
                 {name}, so the file seems split by {name} (pass --delimiter {flag}, or leave \
                 --delimiter out to detect it); as read, "
        )
    })
    .unwrap_or_default()
}

impl ParseError {
    /// This error as `caller` words it: the flags and commands its message names. The readers
    /// make their errors for [`Caller::Import`]; the public entry points set the caller's.
    pub fn for_caller(mut self, caller: Caller) -> Self {
        match &mut self {
            Self::UnknownFormat { caller: c, .. }
            | Self::SpaceSeparatedHeader { caller: c, .. }
            | Self::AmbiguousFormat { caller: c, .. }
            | Self::NoInteractions { caller: c, .. }
            | Self::MissingColumn { caller: c, .. } => *c = caller,
            _ => {}
        }
        self
    }
}

/// The message of [`ParseError::AmbiguousFormat`].
fn ambiguity(
    columns: usize,
    rating: bool,
    lines: usize,
    candidates: &[Format],
    flag: &str,
) -> String {
    let what = match (columns, rating) {
        (4, true) => "4 columns, the 3rd like a rating and the 4th like a timestamp".to_owned(),
        (4, false) => format!(
            "4 columns of numbers, the 3rd a number (a rating or a count? {flag} movielens \
             reads it as the rating) and the 4th a time that is no Unix timestamp (a date? \
             a small time?) or an id"
        ),
        (3, false) => "3 columns of numbers, the 3rd no rating (a count? an item?)".to_owned(),
        _ => "3 columns, the 3rd like a rating".to_owned(),
    };
    let readings: Vec<String> = candidates
        .iter()
        .map(|f| format!("{} ({flag} {f})", f.shape()))
        .collect();
    let flags: Vec<String> = candidates.iter().map(|f| format!("{flag} {f}")).collect();
    format!(
        "ambiguous format: every line looked at ({lines}) has {what}; it may be {}; pass {}",
        readings.join(" or "),
        flags.join(" or ")
    )
}

/// The hint of a number written with a decimal comma (`4,5`, as some locales write 4.5): kgrec
/// reads decimal points only, and does not guess (`1,000` may be a thousand).
/// The cause behind a gzip stream that stops decoding (flate2 says "corrupt deflate stream" or
/// "incomplete deflate stream"); nothing for other errors.
fn damaged_gzip_hint(error: &std::io::Error) -> &'static str {
    match error.to_string().contains("deflate") || error.kind() == std::io::ErrorKind::UnexpectedEof
    {
        true => {
            ": the gzip data ends early or is damaged (the file is truncated or corrupt; `gzip \
             -t FILE` checks it)"
        }
        false => "",
    }
}

/// What is wrong with a numeric field's text: a number too large for its type (a rating is a
/// 32-bit float, a timestamp a 64-bit count of seconds), an infinity or NaN, or no number.
fn not_a_number_cause(field: &str, value: &str) -> &'static str {
    match value.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && field == "timestamp" => {
            "is out of range (seconds since 1970 that fit a 64-bit integer)"
        }
        Ok(v) if v.is_finite() && v.abs() <= f64::from(f32::MAX) => {
            "is implausibly large (kgrec refuses ratings beyond ±16777216, 2^24, \
             whatever the store holds: fix the row, or scale such values down)"
        }
        Ok(v) if v.is_finite() => {
            "is out of range (ratings are 32-bit floats: at most about 3.4e38)"
        }
        Ok(_) => "is not a finite number",
        Err(_) if field == "timestamp" => "is not a number nor an ISO 8601 date",
        Err(_) => "is not a number",
    }
}

/// `; it has a decimal comma: ... write it 3.5 ...` when `value` is a number written with a
/// decimal comma (`3,5`), else nothing: said by file fields and command-line numbers alike.
pub fn decimal_comma_hint(value: &str) -> String {
    let v = value.trim();
    let decimal_comma = v.split_once(',').is_some_and(|(whole, part)| {
        let whole = whole.strip_prefix('-').unwrap_or(whole);
        !whole.is_empty()
            && !part.is_empty()
            && whole.bytes().all(|b| b.is_ascii_digit())
            && part.bytes().all(|b| b.is_ascii_digit())
    });
    match decimal_comma {
        true => format!(
            "; it has a decimal comma: kgrec reads decimal points only, so write it {} (e.g. \
             `sed 's/\\([0-9]\\),\\([0-9]\\)/\\1.\\2/g'` on a file whose fields are not \
             comma-separated)",
            v.replacen(',', ".", 1)
        ),
        false => String::new(),
    }
}
