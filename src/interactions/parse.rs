//! Readers for each interaction format. They keep external ids as the exact strings of the file
//! (no trimming inside a field, no numeric conversion) so `2^40`, unicode and space-bearing ids
//! survive; only the line terminator (`\n`, `\r\n`) is removed.

use std::io::{BufRead, Cursor, Read};
use std::path::Path;

use super::columns::{self, ColumnMap, ColumnRef, Columns, Delimiter};
use super::source::{self, Source};
use super::unit::{self, TimeUnit};
use super::{
    Format, MILLISECONDS, ParseError, RatingScale, RawInteraction, RawInteractions, datetime,
    far_future, guess,
};

/// Who reads the files, for the messages that say what to pass or run: the command line
/// names its inputs differently in `kgrec import` (and the data directory's other commands)
/// and in `kgrec eval`, which reads its own files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Caller {
    /// `import interactions` (`--format`); graphs come by `import kg`, links by `import links`.
    #[default]
    Import,
    /// `eval` (`--input-format`); graphs come by `--kg`, links by `--link`.
    Eval,
}

impl Caller {
    /// The flag that names an interaction file's format.
    pub fn format_flag(self) -> &'static str {
        match self {
            Self::Import => "--format",
            Self::Eval => "--input-format",
        }
    }

    /// How to give a model its knowledge graph (`FILE` its placeholder).
    pub fn graph_remedy(self) -> &'static str {
        match self {
            Self::Import => "`import kg FILE`",
            Self::Eval => "eval --kg FILE",
        }
    }

    /// How to link items to the graph's entities with a link file.
    pub fn links_remedy(self) -> &'static str {
        match self {
            Self::Import => "`import links LINK.tsv`",
            Self::Eval => "eval --link LINK.tsv",
        }
    }

    /// Every way to link items to the graph's entities.
    pub fn any_links_remedy(self) -> &'static str {
        match self {
            Self::Import => "`import links LINK.tsv` or `import interactions --link`",
            Self::Eval => "eval --link LINK.tsv",
        }
    }
}

/// How to read an interaction file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// The format (`--format`); guessed from the name and the first lines when `None`.
    pub format: Option<Format>,
    /// Which columns hold what (`--user-col`, ...), for the headed formats.
    pub columns: ColumnMap,
    /// The field delimiter of a `tsv` or `csv` file (`--delimiter`); detected when `None`.
    pub delimiter: Option<Delimiter>,
    /// The data's rating scale (`--rating-scale`): a rating outside it is an error naming its
    /// line.
    pub rating_scale: Option<RatingScale>,
    /// The unit of numeric timestamps (`--time-unit`); stored as seconds.
    pub time_unit: TimeUnit,
    /// The weight of each event kind (`--event-weights`): each row's weight, found by its
    /// event column's value, is its rating; an event without a weight is an error naming its
    /// line. Set `columns.events` with it.
    pub events: Option<super::EventWeights>,
    /// `events` are the weights the data directory stores, not given by `--event-weights`: an
    /// event without a weight is refused naming them so ([`super::EventWeights::unknown_stored`]).
    pub stored_events: bool,
    /// Who reads: the flags and commands messages name.
    pub caller: Caller,
}

impl ReadOptions {
    /// Options naming only a format (or none).
    pub fn format(format: Option<Format>) -> Self {
        Self {
            format,
            ..Self::default()
        }
    }
}

/// Reads an interaction file (`-`: standard input; gzip by its magic bytes); the format is
/// guessed from the file name and its first lines when `format` is `None`.
pub fn parse_file(path: &Path, format: Option<Format>) -> Result<RawInteractions, ParseError> {
    read_file(path, &ReadOptions::format(format))
}

/// Reads interactions in `format` from `reader`; `file` is only used to name the source in errors.
pub fn parse_reader<R: BufRead>(
    reader: R,
    file: &Path,
    format: Format,
) -> Result<RawInteractions, ParseError> {
    read_reader(reader, file, &ReadOptions::format(Some(format)))
}

/// Reads an interaction file (`-`: standard input) as `options` say.
pub fn read_file(path: &Path, options: &ReadOptions) -> Result<RawInteractions, ParseError> {
    read_source(source::open(path)?, options)
}

/// Reads interactions from `reader` (gzip by its magic bytes) as `options` say; `file` names the
/// source in messages and, when the format is not given, in guessing.
pub fn read_reader<R: BufRead>(
    reader: R,
    file: &Path,
    options: &ReadOptions,
) -> Result<RawInteractions, ParseError> {
    let file_name = file
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_ascii_lowercase);
    read_source(source::wrap(reader, file, file_name)?, options)
}

/// [`read_source_as`], its errors naming the caller's flags.
fn read_source(source: Source<'_>, options: &ReadOptions) -> Result<RawInteractions, ParseError> {
    read_source_as(source, options).map_err(|e| e.for_caller(options.caller))
}

fn read_source_as(
    mut source: Source<'_>,
    options: &ReadOptions,
) -> Result<RawInteractions, ParseError> {
    let mut double_colon = false;
    NUMERIC_STAMPS.set(NumericStamps::NONE);
    if let Some(first) = source.sample()?.first() {
        json_lines(first, &source.name)?;
    }
    let sample = match options.format {
        Some(_) => Vec::new(),
        None => source.sample()?,
    };
    if let Some(basis) = guess::rdf_graph(source.file_name.as_deref(), &sample)
        && options.format.is_none()
    {
        return Err(ParseError::RdfGraph {
            file: source.name.clone(),
            basis,
            caller: options.caller,
        });
    }
    let (format, guess) = match options.format {
        Some(f) => (f, None),
        None => {
            let sample = source.sample()?;
            let named = |c: &Option<ColumnRef>| matches!(c, Some(ColumnRef::Name(_)));
            let columns = &options.columns;
            let delimited = sample
                .first()
                .is_some_and(|l| l.contains(['\t', ',', ';', '|']));
            let g = match delimited
                && !columns.headerless
                && (named(&columns.user) || named(&columns.item))
            {
                // `UserID::MovieID::Rating::Timestamp`: a header, so a table whose columns are
                // found by their names, read with `::` between them.
                _ if double_colon_header(&sample) => {
                    double_colon = true;
                    guess::Guess {
                        format: Format::Tsv,
                        basis: guess::GuessBasis::Content(
                            "a `::`-separated header (columns found by their names)",
                        ),
                        caller: options.caller,
                    }
                }
                // A `.tsv` or `.csv` named so: its extension decides, as without the flags
                // (and the note says so). Otherwise columns named by their header names: a
                // headed table, whatever the extension or the names (a header of names nobody
                // accepts is a header all the same).
                true => match table_extension(source.file_name.as_deref()) {
                    Some((ext, format)) => guess::Guess {
                        format,
                        basis: guess::GuessBasis::Extension(ext),
                        caller: options.caller,
                    },
                    None => guess::Guess {
                        format: match sample.first().is_some_and(|l| l.contains('\t')) {
                            true => Format::Tsv,
                            false => Format::Csv,
                        },
                        basis: guess::GuessBasis::Content(
                            "a header, its columns named by --user-col/--item-col",
                        ),
                        caller: options.caller,
                    },
                },
                false => match guess::guess(&source.name, source.file_name.as_deref(), &sample) {
                    // `--no-header` says the first line is data: lines split by a delimiter
                    // are a table (stdin has no extension to tell it by).
                    Err(ParseError::UnknownFormat { .. }) if columns.headerless && delimited => {
                        let tab = sample.first().is_some_and(|l| l.contains('\t'));
                        guess::Guess {
                            format: match tab {
                                true => Format::Tsv,
                                false => Format::Csv,
                            },
                            basis: guess::GuessBasis::Content(match tab {
                                true => "tab-separated lines, --no-header",
                                false => "delimited lines, --no-header",
                            }),
                            caller: options.caller,
                        }
                    }
                    g => guess::Guess {
                        caller: options.caller,
                        ..g?
                    },
                },
            };
            (g.format, Some(g))
        }
    };
    check_options(format, options, &source.name, guess.as_ref())?;
    let file = source.name.clone();
    let mut out = RawInteractions {
        file: file.clone(),
        format,
        rows: Vec::new(),
        guess,
        gzip: source.gzip,
        gzip_unannounced: source.gzip_unannounced,
        header_line: None,
        delimiter: None,
        excel_sep: None,
        ignored_columns: Vec::new(),
        numeric_ignored: Vec::new(),
        time_ignored: Vec::new(),
        header_by_position: None,
        longer_rows: None,
        headerless: false,
        skipped_header: None,
        empty_ratings: 0,
        millis_converted: None,
        time_unit: options.time_unit,
        unread_event: None,
        events: false,
        caller: options.caller,
    };
    match format {
        Format::Tsv | Format::Csv | Format::RecBole => {
            let headed = match double_colon {
                true => parse_headed(
                    std::io::BufReader::new(DoubleColonToTab::new(source.reader)),
                    &file,
                    format,
                    options,
                )?,
                false => parse_headed(source.reader, &file, format, options)?,
            };
            if headed.rated {
                out.empty_ratings = headed.rows.iter().filter(|r| r.rating.is_none()).count();
            }
            out.rows = headed.rows;
            out.header_line = Some(headed.header_line);
            out.delimiter = headed.detected;
            out.excel_sep = headed.excel_sep;
            out.ignored_columns = headed.ignored;
            out.numeric_ignored = headed.numeric_ignored;
            out.time_ignored = headed.time_ignored;
            out.unread_event = headed.unread_event;
            out.events = options.events.is_some();
            out.longer_rows = headed.longer.map(|(line, n)| (line, n, headed.names.len()));
            out.headerless = options.columns.headerless;
            if let Some((line, n, width)) = out.longer_rows
                && !options.columns.extra_fields_ignored
            {
                let first = match out.headerless {
                    true => "first line's",
                    false => "header's",
                };
                return Err(ParseError::Malformed {
                    file,
                    line,
                    message: format!(
                        "{n} row(s) have more fields than the {first} {width}, the first here: is \
                         a field holding the delimiter unquoted (`Crime, and Punishment`), or is \
                         the header short of a column? Quote such fields or name every column; \
                         --ignore-extra-fields reads each row's first {width} fields instead"
                    ),
                });
            }
            let by_position = |r: &Option<ColumnRef>| matches!(r, Some(ColumnRef::Index(_)));
            if !options.columns.headerless
                && by_position(&options.columns.user)
                && by_position(&options.columns.item)
            {
                out.header_by_position = Some(headed.names.join(", "));
            }
        }
        Format::MovieLens => {
            let read = parse_movielens(
                Lines::new(source.reader, &file),
                &file,
                RowRules::of(options),
            )?;
            out.rows = read.rows;
            out.empty_ratings = out.rows.iter().filter(|r| r.rating.is_none()).count();
            if let Some((line, names)) = read.header {
                out.header_line = Some(line);
                out.skipped_header = Some(names);
            }
        }
        Format::Kgat => out.rows = parse_kgat(Lines::new(source.reader, &file), &file)?,
    }
    if options.time_unit == TimeUnit::Auto {
        out.millis_converted = auto_milliseconds(&mut out.rows, &file)?;
    }
    Ok(out)
}

/// `--time-unit auto`: when every numeric timestamp is 10¹¹ or more (after the year 5138 as
/// seconds), they are milliseconds: converted to seconds, and how many is returned. A file where
/// some are and some are not mixes the units: refused, naming the first line of each. ISO 8601
/// dates take no part: they are dates, and none is 10¹¹ or more once read (a date more than a
/// year after now is refused as it is read, [`far_future`]).
fn auto_milliseconds(
    rows: &mut [RawInteraction],
    file: &Path,
) -> Result<Option<usize>, ParseError> {
    let numeric = NUMERIC_STAMPS.get();
    match (numeric.first_millis, numeric.first_seconds) {
        (None, _) => Ok(None),
        (Some(_), None) => {
            let mut n = 0;
            for row in rows.iter_mut() {
                if let Some(t) = row.timestamp.filter(|&t| t >= MILLISECONDS) {
                    row.timestamp = Some(unit::millis_to_seconds(t));
                    n += 1;
                }
            }
            Ok(Some(n))
        }
        (Some((big_line, big)), Some((small_line, small))) => Err(ParseError::MixedTimeUnits {
            file: file.to_owned(),
            millis: numeric.millis,
            seconds: numeric.seconds,
            big,
            big_line,
            small,
            small_line,
        }),
    }
}

/// The numeric timestamps of the file being read (dates are not counted: the unit rule is for
/// numbers only): how many look like milliseconds and how many like seconds, with the first
/// line and value of each. Kept per thread, reset as each file's reading starts
/// ([`read_source_as`]) and read once its rows are in ([`auto_milliseconds`]), so that the row
/// readers need not carry it.
#[derive(Debug, Clone, Copy)]
struct NumericStamps {
    millis: usize,
    first_millis: Option<(usize, i64)>,
    seconds: usize,
    first_seconds: Option<(usize, i64)>,
}

impl NumericStamps {
    const NONE: Self = Self {
        millis: 0,
        first_millis: None,
        seconds: 0,
        first_seconds: None,
    };

    fn observe(mut self, t: i64, line: usize) -> Self {
        if t >= MILLISECONDS {
            self.millis += 1;
            self.first_millis.get_or_insert((line, t));
        } else {
            self.seconds += 1;
            self.first_seconds.get_or_insert((line, t));
        }
        self
    }
}

thread_local! {
    static NUMERIC_STAMPS: std::cell::Cell<NumericStamps> =
        const { std::cell::Cell::new(NumericStamps::NONE) };
}

/// A JSON object's keys, in the order written (a `serde_json::Map` sorts them).
struct JsonKeys(Vec<String>);

impl<'de> serde::Deserialize<'de> for JsonKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = JsonKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<JsonKeys, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    keys.push(key);
                }
                Ok(JsonKeys(keys))
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// Refuses a file whose first non-blank line, `first`, is a JSON object: JSON lines, which
/// every format would misread (`{"user": "u1"` as an id), with a `jq` line to convert them.
fn json_lines(first: &str, file: &Path) -> Result<(), ParseError> {
    let text = first.trim().trim_start_matches('\u{feff}');
    if !text.starts_with('{') {
        return Ok(());
    }
    let Ok(JsonKeys(keys)) = serde_json::from_str::<JsonKeys>(text) else {
        return Ok(());
    };
    let plain = |k: &str| {
        k.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let jq: Vec<String> = keys
        .iter()
        .map(|k| match plain(k) {
            true => format!(".{k}"),
            false => format!(".[{k:?}]"),
        })
        .collect();
    Err(ParseError::JsonLines {
        file: file.to_owned(),
        keys: match keys.is_empty() {
            true => "no keys".to_owned(),
            false => format!(
                "keys {}",
                keys.iter()
                    .map(|k| format!("{k:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
        jq: format!("[{}]", jq.join(", ")),
    })
}

/// Whether the first line is `::`-separated names only (a MovieLens-style file with a header).
fn double_colon_header(sample: &[String]) -> bool {
    sample
        .first()
        .is_some_and(|first| names_only(&first.split("::").collect::<Vec<_>>()))
}

/// A line of names only (`UserID::MovieID::Rating::Timestamp`): at least two fields, none
/// empty, none a number — a header, not data.
fn names_only(fields: &[&str]) -> bool {
    fields.len() >= 2
        && fields
            .iter()
            .all(|f| !f.trim().is_empty() && f.trim().parse::<f64>().is_err())
}

/// A reader that turns every `::` into a tab, line by line, so a `::`-separated table reads as
/// a tab-separated one (ids of such files hold no tabs).
struct DoubleColonToTab<R> {
    inner: R,
    line: Vec<u8>,
    pos: usize,
}

impl<R: BufRead> DoubleColonToTab<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            line: Vec::new(),
            pos: 0,
        }
    }
}

impl<R: BufRead> Read for DoubleColonToTab<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.line.len() {
            let mut raw = Vec::new();
            if self.inner.read_until(b'\n', &mut raw)? == 0 {
                return Ok(0);
            }
            self.line.clear();
            self.pos = 0;
            let mut bytes = raw.iter().peekable();
            while let Some(&b) = bytes.next() {
                if b == b':' && bytes.peek() == Some(&&b':') {
                    bytes.next();
                    self.line.push(b'\t');
                } else {
                    self.line.push(b);
                }
            }
        }
        let n = out.len().min(self.line.len() - self.pos);
        out[..n].copy_from_slice(&self.line[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The extension of a file named `file_name` (lower-case, `.gz` removed) when it names a
/// delimited table (`.tsv`, `.tab`, `.csv`), with that format.
fn table_extension(file_name: Option<&str>) -> Option<(String, Format)> {
    let ext = file_name?.rsplit_once('.')?.1;
    Format::from_extension(ext)
        .filter(|f| matches!(f, Format::Tsv | Format::Csv))
        .map(|f| (ext.to_owned(), f))
}

/// Column flags apply to the headed formats, `--delimiter` to tsv and csv.
fn check_options(
    format: Format,
    options: &ReadOptions,
    file: &Path,
    guess: Option<&guess::Guess>,
) -> Result<(), ParseError> {
    let flags = options.columns.flags();
    let message =
        if !flags.is_empty() && !matches!(format, Format::Tsv | Format::Csv | Format::RecBole) {
            format!(
                "{} {} to files with a header (tsv, csv, recbole), not to {format}",
                flags.join(", "),
                if flags.len() == 1 { "applies" } else { "apply" }
            )
        } else if options.events.is_some()
            && !matches!(format, Format::Tsv | Format::Csv | Format::RecBole)
        {
            format!(
                "--event-weights applies to files with a header (tsv, csv, recbole) or read \
                 with --no-header and --event-col N, not to {format}"
            )
        } else if options.delimiter.is_some() && !matches!(format, Format::Tsv | Format::Csv) {
            format!("--delimiter applies to tsv and csv files, not to {format}")
        } else if options.columns.headerless && !matches!(format, Format::Tsv | Format::Csv) {
            format!("--no-header applies to tsv and csv files, not to {format}")
        } else {
            return Ok(());
        };
    let how = guess.map(|g| format!(" ({g})")).unwrap_or_default();
    Err(ParseError::Unsupported {
        file: file.to_owned(),
        message: message + &how,
    })
}

/// Numbered lines of a reader, UTF-8 checked, terminator removed.
pub(crate) struct Lines<'a, R> {
    reader: R,
    file: &'a Path,
    line: usize,
    buf: Vec<u8>,
}

impl<'a, R: BufRead> Lines<'a, R> {
    pub(crate) fn new(reader: R, file: &'a Path) -> Self {
        Self {
            reader,
            file,
            line: 0,
            buf: Vec::new(),
        }
    }

    /// The next line as `(line number, text)`, or `None` at the end.
    pub(crate) fn next_line(&mut self) -> Result<Option<(usize, String)>, ParseError> {
        self.buf.clear();
        let n = self
            .reader
            .read_until(b'\n', &mut self.buf)
            .map_err(|source| ParseError::Io {
                file: self.file.to_owned(),
                error: source,
            })?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        }
        let text = String::from_utf8(std::mem::take(&mut self.buf)).map_err(|e| {
            ParseError::Malformed {
                file: self.file.to_owned(),
                line: self.line,
                message: format!(
                    "not valid UTF-8 (byte {} of the line); {}",
                    e.utf8_error().valid_up_to() + 1,
                    not_utf8(self.file, e.as_bytes())
                ),
            }
        })?;
        // A byte-order mark (spreadsheet exports) is not part of the first id or column name.
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) if self.line == 1 => rest.to_owned(),
            _ => text,
        };
        Ok(Some((self.line, text)))
    }

    /// The next line that is not blank.
    pub(crate) fn next_nonblank(&mut self) -> Result<Option<(usize, String)>, ParseError> {
        while let Some((n, text)) = self.next_line()? {
            if !text.trim().is_empty() {
                return Ok(Some((n, text)));
            }
        }
        Ok(None)
    }

    pub(crate) fn lines_read(&self) -> usize {
        self.line
    }
}

/// What a row's values are checked and read against: the rating scale (`--rating-scale`), and
/// the unit of numeric timestamps (`--time-unit`).
#[derive(Debug, Clone, Copy)]
struct RowRules<'a> {
    scale: Option<RatingScale>,
    unit: TimeUnit,
    /// `--event-weights`: each row's rating is its event's weight.
    events: Option<&'a super::EventWeights>,
    /// `events` are the data directory's stored weights ([`ReadOptions::stored_events`]).
    stored_events: bool,
}

impl<'a> RowRules<'a> {
    fn of(options: &'a ReadOptions) -> Self {
        Self {
            scale: options.rating_scale,
            unit: options.time_unit,
            events: options.events.as_ref(),
            stored_events: options.stored_events,
        }
    }
}

/// Builds one row from a line's fields (`fields[i]` is 1-based column `i + 1`).
fn row_from_fields(
    fields: &[&str],
    cols: Columns,
    rules: RowRules<'_>,
    file: &Path,
    line: usize,
) -> Result<RawInteraction, ParseError> {
    let scale = rules.scale;
    let user = required_id(fields, cols.user, "user_id", file, line)?;
    let item = required_id(fields, cols.item, "item_id", file, line)?;
    let rating = match cols.rating {
        // An empty rating cell (`u2,i2,`) is a row without a rating, as in a file without a
        // rating column: read as unrated (counted in a note), never erasing a stored rating.
        Some(c) if fields.get(c).is_some_and(|s| s.trim().is_empty()) => None,
        Some(c) => {
            let r = parse_rating(required(fields, c, "rating", file, line)?, c, file, line)?;
            if let Some(scale) = scale.filter(|s| !s.contains(r)) {
                return Err(ParseError::Malformed {
                    file: file.to_owned(),
                    line,
                    message: format!(
                        "rating {r} (field {}) is outside the rating scale {scale}",
                        c + 1
                    ),
                });
            }
            Some(r)
        }
        None => match (cols.event, rules.events) {
            // The event's weight is the row's strength.
            (Some(c), Some(weights)) => {
                let event = required(fields, c, "event", file, line)?;
                match weights.get(event) {
                    Some(w) => Some(w),
                    None => {
                        let why = match rules.stored_events {
                            true => weights.unknown_stored(event),
                            false => weights.unknown(event),
                        };
                        return Err(ParseError::Malformed {
                            file: file.to_owned(),
                            line,
                            message: format!("field {}: {why}", c + 1),
                        });
                    }
                }
            }
            _ => None,
        },
    };
    let timestamp = match cols.timestamp {
        // An empty timestamp means "unknown", which RecBole writes for some data sets.
        Some(c) => match fields.get(c).map(|s| s.trim()) {
            None | Some("") => None,
            Some(text) => Some(parse_timestamp(text, c, file, line, rules.unit)?),
        },
        None => None,
    };
    Ok(RawInteraction {
        user: user.to_owned(),
        item: item.to_owned(),
        rating,
        timestamp,
        count: 1,
        stamps: Vec::new(),
    })
}

/// Field `col` of a row, present and not blank; a field holding a control character (a tab
/// in a quoted CSV id, say) is refused too, naming where: the rule of ids given over HTTP.
pub(crate) fn required<'f>(
    fields: &[&'f str],
    col: usize,
    field: &'static str,
    file: &Path,
    line: usize,
) -> Result<&'f str, ParseError> {
    match fields.get(col) {
        None => Err(ParseError::MissingField {
            file: file.to_owned(),
            line,
            column: col + 1,
            field,
            found: fields.len(),
        }),
        Some(s) if s.trim().is_empty() => Err(ParseError::EmptyField {
            file: file.to_owned(),
            line,
            column: col + 1,
            field,
        }),
        Some(s) if s.chars().any(char::is_control) => Err(ParseError::ControlCharacter {
            file: file.to_owned(),
            line,
            column: col + 1,
            field,
            value: (*s).to_owned(),
        }),
        Some(s) => Ok(s),
    }
}

/// [`required`] for an id: also at most [`super::MAX_ID_BYTES`] long, the limit of ids given
/// over HTTP, so that every stored id can be asked for there.
pub(crate) fn required_id<'f>(
    fields: &[&'f str],
    col: usize,
    field: &'static str,
    file: &Path,
    line: usize,
) -> Result<&'f str, ParseError> {
    let id = required(fields, col, field, file, line)?;
    check_id_length(id, field, file, line, col + 1)?;
    Ok(id)
}

/// Refuses an id longer than [`super::MAX_ID_BYTES`] at `file:line:column`.
pub(crate) fn check_id_length(
    id: &str,
    field: &'static str,
    file: &Path,
    line: usize,
    column: usize,
) -> Result<(), ParseError> {
    if id.len() <= super::MAX_ID_BYTES {
        return Ok(());
    }
    let start: String = id.chars().take(40).collect();
    Err(ParseError::IdTooLong {
        file: file.to_owned(),
        line,
        column,
        field,
        header: None,
        bytes: id.len(),
        start,
    })
}

fn parse_rating(text: &str, col: usize, file: &Path, line: usize) -> Result<f32, ParseError> {
    match text.trim().parse::<f32>() {
        Ok(r) if r.is_finite() && r.abs() <= super::MAX_RATING => Ok(r),
        _ => Err(ParseError::NotANumber {
            file: file.to_owned(),
            line,
            column: col + 1,
            field: "rating",
            header: None,
            value: text.to_owned(),
        }),
    }
}

/// Seconds since the epoch (milliseconds under `--time-unit ms`, returned as seconds; under
/// `auto` counted for [`auto_milliseconds`], which converts them when every one looks like
/// milliseconds); RecBole declares timestamps `:float`, so `881250949.0` is accepted too, and so
/// are ISO 8601 dates and date-times (`2015-03-04`, `2015-03-04T12:30:00Z`), whatever the unit:
/// a date is never taken for milliseconds. A time more than a year after now (a "no end"
/// `9999-12-31`, a mistyped year) is refused, naming the line: it would make every later real
/// event of its pair look already seen. Under `--time-unit s` numbers are kept as read.
fn parse_timestamp(
    text: &str,
    col: usize,
    file: &Path,
    line: usize,
    unit: TimeUnit,
) -> Result<i64, ParseError> {
    let numeric = |t: i64| match unit {
        TimeUnit::Seconds => Ok(t),
        TimeUnit::Milliseconds => not_far_future(unit::millis_to_seconds(t), text, col, file, line),
        TimeUnit::Auto => {
            NUMERIC_STAMPS.set(NUMERIC_STAMPS.get().observe(t, line));
            let seconds = match t >= MILLISECONDS {
                true => unit::millis_to_seconds(t),
                false => t,
            };
            not_far_future(seconds, text, col, file, line).map(|_| t)
        }
    };
    if let Ok(t) = text.parse::<i64>() {
        return numeric(t);
    }
    if let Some(t) = datetime::parse_iso(text) {
        return not_far_future(t, text, col, file, line);
    }
    match text.parse::<f64>() {
        // i64::MAX as f64 rounds up, so the bound is exclusive to keep the cast exact-or-saturating-free.
        Ok(t) if t.is_finite() && t.abs() < i64::MAX as f64 => numeric(t.floor() as i64),
        _ => Err(ParseError::NotANumber {
            file: file.to_owned(),
            line,
            column: col + 1,
            field: "timestamp",
            header: None,
            value: text.to_owned(),
        }),
    }
}

/// `seconds`, read from `text`, unless it is more than a year after now ([`far_future`]).
fn not_far_future(
    seconds: i64,
    text: &str,
    col: usize,
    file: &Path,
    line: usize,
) -> Result<i64, ParseError> {
    match far_future(seconds) {
        false => Ok(seconds),
        true => Err(ParseError::Malformed {
            file: file.to_owned(),
            line,
            message: format!(
                "timestamp {text:?} (field {}) is more than a year after now: kgrec's \
                 timestamps say when an interaction happened, and one far in the future (a \
                 \"no end\" 9999-12-31, a mistyped year) would make every later real event of \
                 the pair look already seen; correct it, or leave the cell empty (a row without \
                 a timestamp)",
                col + 1
            ),
        }),
    }
}

/// A headed file read.
struct Headed {
    rows: Vec<RawInteraction>,
    header_line: usize,
    /// The delimiter, when it was detected rather than the format's own.
    detected: Option<Delimiter>,
    /// A spreadsheet's `sep=X` line: its line and delimiter.
    excel_sep: Option<(usize, Delimiter)>,
    ignored: Vec<String>,
    /// The header's fields as written.
    names: Vec<String>,
    /// Rows with more fields than the header: the first's line, how many.
    longer: Option<(usize, usize)>,
    /// A column was read as the rating.
    rated: bool,
    /// Ignored columns whose every value is a number: (name as shown, `--rating-col` value).
    numeric_ignored: Vec<(String, String)>,
    /// Ignored columns whose every value is a time: (name as shown, `--time-col` value).
    time_ignored: Vec<(String, String)>,
    /// A column named as the event column, not read (no `--event-weights`): its name and
    /// first distinct values.
    unread_event: Option<(String, Vec<String>)>,
}

/// Per column, what its non-blank values are ([`ColumnValues`]); the first distinct values of an
/// unread event column (`kinds.0`, once the header is read); and how many rows were observed.
#[derive(Debug, Default)]
struct NumericColumns(Vec<ColumnValues>, (Option<usize>, Vec<String>), usize);

/// What one column's non-blank values are.
#[derive(Debug, Clone, Copy)]
struct ColumnValues {
    /// Every one is a number.
    numbers: bool,
    /// Every one reads as a timestamp `--time-col` accepts ([`time_value`]).
    times: bool,
    /// How many there are (the rest of the rows leave the column blank).
    filled: usize,
    /// The latest of the times, in seconds.
    latest: i64,
}

impl Default for ColumnValues {
    fn default() -> Self {
        Self {
            numbers: true,
            times: true,
            filled: 0,
            latest: i64::MIN,
        }
    }
}

/// The seconds since 1970 of a value `--time-col` would read as a plausible time: an ISO 8601
/// date or date-time, or a number of seconds (or milliseconds, 10^11 or more) from March 1973
/// on; smaller numbers are counts or ids more likely than times.
fn time_value(text: &str) -> Option<i64> {
    match text.parse::<f64>() {
        Ok(t) if t.is_finite() && t >= super::PLAUSIBLE_TIMESTAMP as f64 => {
            let seconds = match t >= MILLISECONDS as f64 {
                true => t / 1000.0,
                false => t,
            };
            (seconds < i64::MAX as f64).then_some(seconds as i64)
        }
        Ok(_) => None,
        Err(_) => datetime::parse_iso(text),
    }
}

/// Whether a column's name says it holds identifiers (`transactionid`, `order_id`,
/// `sessionId`, `Order ID`): its numbers are no rating, nor times.
fn id_like(name: &str) -> bool {
    name.trim().to_lowercase().ends_with("id")
}

impl NumericColumns {
    fn observe(&mut self, fields: &[&str]) {
        self.2 += 1;
        if self.0.len() < fields.len() {
            self.0.resize(fields.len(), ColumnValues::default());
        }
        if let (Some(c), kinds) = &mut self.1
            && kinds.len() < super::EVENT_KINDS_SHOWN
            && let Some(kind) = fields.get(*c).map(|f| f.trim())
            && !kind.is_empty()
            && !kinds.iter().any(|k| k == kind)
        {
            kinds.push(kind.to_owned());
        }
        for (seen, field) in self.0.iter_mut().zip(fields) {
            let field = field.trim();
            if field.is_empty() {
                continue;
            }
            seen.filled += 1;
            seen.numbers &= field.parse::<f64>().is_ok_and(f64::is_finite);
            if seen.times {
                match time_value(field) {
                    Some(t) => seen.latest = seen.latest.max(t),
                    None => seen.times = false,
                }
            }
        }
    }

    /// The columns of `header` nothing reads, not named like identifiers, with a value on at
    /// least half of the rows, whose values `keep` keeps: (name as shown, the value of a column
    /// flag that names it).
    fn unread(
        &self,
        header: &columns::Header,
        keep: impl Fn(&ColumnValues) -> bool,
    ) -> Vec<(String, String)> {
        let c = header.columns;
        let read = [Some(c.user), Some(c.item), c.rating, c.timestamp, c.event];
        self.0
            .iter()
            .enumerate()
            .filter(|&(k, v)| {
                v.filled > 0 && v.filled * 2 >= self.2 && keep(v) && !read.contains(&Some(k))
            })
            .filter_map(|(k, _)| match header.names.get(k).map(|n| n.trim()) {
                Some(name) if id_like(name) => None,
                Some(name) if !name.is_empty() => Some((name.to_owned(), super::shell_word(name))),
                _ => Some((format!("{} (unnamed)", k + 1), (k + 1).to_string())),
            })
            .collect()
    }

    /// The unread columns that hold numbers and nothing else, times aside: each may be the
    /// rating the user meant to keep.
    fn ignored(&self, header: &columns::Header) -> Vec<(String, String)> {
        self.unread(header, |v| v.numbers && !v.times)
    }

    /// The unread columns whose every value reads as a time (no later than [`far_future`]
    /// allows): each may be the timestamp the user meant to keep.
    fn times(&self, header: &columns::Header) -> Vec<(String, String)> {
        self.unread(header, |v| v.times && !far_future(v.latest))
    }
}

/// The delimiter a spreadsheet's first line `sep=;` names (Excel writes and reads it; quoted
/// as `"sep=;"` by some tools), else `None`.
fn excel_sep_line(line: &str) -> Option<Delimiter> {
    let line = line.trim().trim_matches('"');
    let (key, value) = line.split_at_checked(4)?;
    if !key.eq_ignore_ascii_case("sep=") || value.chars().count() != 1 {
        return None;
    }
    value.parse().ok()
}

/// The bytes up to and including the first non-blank line, and that line (BOM removed).
fn first_line<R: BufRead>(
    reader: &mut R,
    file: &Path,
) -> Result<(Vec<u8>, Option<String>), ParseError> {
    let mut prefix = Vec::new();
    loop {
        let start = prefix.len();
        let n = reader
            .read_until(b'\n', &mut prefix)
            .map_err(|source| ParseError::Io {
                file: file.to_owned(),
                error: source,
            })?;
        if n == 0 {
            return Ok((prefix, None));
        }
        let line = String::from_utf8_lossy(&prefix[start..]);
        let line = line
            .trim_start_matches('\u{feff}')
            .trim_end_matches(['\r', '\n']);
        if !line.trim().is_empty() {
            let line = line.to_owned();
            return Ok((prefix, Some(line)));
        }
    }
}

/// TSV, CSV and RecBole: a header line, then rows. Tab-separated `tsv` and `recbole` files are
/// split on tabs (no quoting: ids may hold quotes); every other delimiter is read as CSV (RFC 4180
/// quoting), so quoted fields with delimiters, quotes or newlines are read right.
fn parse_headed<R: BufRead>(
    mut reader: R,
    file: &Path,
    format: Format,
    options: &ReadOptions,
) -> Result<Headed, ParseError> {
    let (mut prefix, mut header) = first_line(&mut reader, file)?;
    // A spreadsheet's `sep=;` line names the delimiter: read as such, and blanked (its line
    // break kept, so that lines keep their numbers) before the header after it is read.
    let mut excel_sep = None;
    if format != Format::RecBole
        && let Some(sep) = header.as_deref().and_then(excel_sep_line)
    {
        let line = prefix.iter().filter(|&&b| b == b'\n').count();
        let start = prefix[..prefix.len().saturating_sub(1)]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |at| at + 1);
        prefix.truncate(start);
        prefix.push(b'\n');
        let (rest, next) = first_line(&mut reader, file)?;
        prefix.extend(rest);
        header = next;
        excel_sep = Some((line.max(1), sep));
    }
    let Some(header) = header else {
        return Err(ParseError::Empty {
            file: file.to_owned(),
        });
    };
    let default = match format {
        Format::Csv => Delimiter::COMMA,
        _ => Delimiter::TAB,
    };
    let (delimiter, detected) = match (format, excel_sep) {
        (Format::RecBole, _) => (Delimiter::TAB, false),
        (_, Some((_, sep))) => (options.delimiter.unwrap_or(sep), false),
        _ => columns::delimiter(&header, options.delimiter, default),
    };
    let reader = Cursor::new(prefix).chain(reader);
    let mut numeric = NumericColumns::default();
    let first = header;
    let (header_line, header, rows, longer) =
        if format == Format::Csv || delimiter != Delimiter::TAB {
            parse_quoted(reader, file, delimiter, options, &mut numeric)
        } else {
            parse_tabbed(Lines::new(reader, file), file, options, &mut numeric)
        }
        .map_err(|e| wrong_delimiter(e, &first, delimiter))?;
    if rows.is_empty() {
        return Err(ParseError::HeaderOnly {
            file: file.to_owned(),
            line: header_line,
        });
    }
    Ok(Headed {
        rows,
        header_line,
        detected: detected.then_some(delimiter),
        excel_sep,
        rated: header.columns.rating.is_some(),
        numeric_ignored: numeric.ignored(&header),
        time_ignored: numeric.times(&header),
        unread_event: header
            .unread_event
            .and_then(|c| header.names.get(c))
            .map(|name| (name.clone(), numeric.1.1.clone())),
        ignored: header.ignored,
        names: header.names,
        longer,
    })
}

/// A column flag that names no column of a first line read as one field (`--no-header
/// --delimiter ,` on a file split by `;`): the delimiter is what is wrong, and the message says
/// which one the line holds instead. Other errors pass unchanged.
fn wrong_delimiter(e: ParseError, first: &str, delimiter: Delimiter) -> ParseError {
    let ParseError::NoSuchColumn {
        headerless: true,
        file,
        line,
        flag,
        value,
        ..
    } = &e
    else {
        return e;
    };
    let used = char::from(delimiter.byte());
    let line_text = first.trim_end_matches(['\r', '\n']);
    if line_text.contains(used) {
        return e;
    }
    let Some(other) = Delimiter::DETECTED
        .into_iter()
        .find(|d| d.byte() != delimiter.byte() && line_text.contains(char::from(d.byte())))
    else {
        return e;
    };
    let flag_value = match other.byte() {
        b'\t' => "tab".to_owned(),
        b => format!("'{}'", char::from(b)),
    };
    let shown: String = line_text.chars().take(60).collect();
    ParseError::Malformed {
        file: file.clone(),
        line: *line,
        message: format!(
            "{flag} {value}: the first line has no {} but does have {} ({shown:?}), so with \
             --no-header it is one field: is the file split by {}? Pass --delimiter {flag_value}, \
             or leave --delimiter out to detect it",
            delimiter.name(),
            other.name(),
            other.name(),
        ),
    }
}

/// The header's line, the header, the rows, and the rows longer than the header: (first
/// line, how many).
type HeadedRows = (
    usize,
    columns::Header,
    Vec<RawInteraction>,
    Option<(usize, usize)>,
);

/// Refuses what two files joined with `cat` leave inside a file: the header again (it would be
/// imported as user `user_id` and item `item_id`) and a byte-order mark (U+FEFF, the start of
/// the second file, which would become part of an id). `lines`: the header's, this row's.
fn joined_file(
    fields: &[&str],
    header: &columns::Header,
    headerless: bool,
    file: &Path,
    (header_line, line): (usize, usize),
) -> Result<(), ParseError> {
    let plain = |f: &str| f.trim_start_matches('\u{feff}').trim().to_owned();
    let joined = "two files joined with `cat`? The second one's header and byte-order mark \
                  came along";
    let repeated = !headerless
        && fields.len() == header.names.len()
        && fields
            .iter()
            .zip(&header.names)
            .all(|(f, h)| plain(f) == plain(h));
    if repeated {
        return Err(ParseError::Malformed {
            file: file.to_owned(),
            line,
            message: format!(
                "this line repeats the header of line {header_line} ({}), which would be \
                 imported as a user and an item ({joined}): remove the repeated header line",
                header.names.join(", ")
            ),
        });
    }
    if let Some(column) = fields.iter().position(|f| f.contains('\u{feff}')) {
        return Err(ParseError::Malformed {
            file: file.to_owned(),
            line,
            message: format!(
                "field {}: a byte-order mark (U+FEFF) inside the file, which would become part \
                 of an id ({joined}): remove it, e.g. `sed -i 's/\\xEF\\xBB\\xBF//g' FILE`",
                column + 1
            ),
        });
    }
    Ok(())
}

/// Counts a row of `len` fields on `line` when it is longer than the header.
fn count_longer(
    longer: &mut Option<(usize, usize)>,
    header: &columns::Header,
    len: usize,
    line: usize,
) {
    if len > header.names.len() {
        longer.get_or_insert((line, 0)).1 += 1;
    }
}

fn parse_tabbed<R: BufRead>(
    mut lines: Lines<'_, R>,
    file: &Path,
    options: &ReadOptions,
    numeric: &mut NumericColumns,
) -> Result<HeadedRows, ParseError> {
    let (map, scale) = (&options.columns, RowRules::of(options));
    let Some((header_line, text)) = lines.next_nonblank()? else {
        return Err(ParseError::Empty {
            file: file.to_owned(),
        });
    };
    let fields: Vec<&str> = text.split('\t').collect();
    let mut rows = Vec::new();
    let header = if map.headerless {
        let (header, first) = headerless_start(&fields, map, scale, file, header_line)?;
        numeric.observe(&fields);
        rows.push(first);
        header
    } else {
        columns::header(&fields, map, file, header_line)?
    };
    numeric.1.0 = header.unread_event;
    let mut longer = None;
    while let Some((n, text)) = lines.next_nonblank()? {
        let fields: Vec<&str> = text.split('\t').collect();
        joined_file(&fields, &header, map.headerless, file, (header_line, n))?;
        count_longer(&mut longer, &header, fields.len(), n);
        numeric.observe(&fields);
        rows.push(
            row_from_fields(&fields, header.columns, scale, file, n)
                .map_err(|e| with_column_name(e, &header.names))?,
        );
    }
    Ok((header_line, header, rows, longer))
}

/// The start of a file without a header (`--no-header`) whose first line, `line`, has `first`
/// for its fields: its columns, named by their positions (the user in 1 and the item in 2 unless
/// the flags say otherwise), and that line's row.
fn headerless_start(
    first: &[&str],
    map: &ColumnMap,
    scale: RowRules<'_>,
    file: &Path,
    line: usize,
) -> Result<(columns::Header, RawInteraction), ParseError> {
    if columns::all_column_names(first) {
        return Err(ParseError::Malformed {
            file: file.to_owned(),
            line,
            message: format!(
                "--no-header, but this line is a header of accepted column names ({}): it \
                 would be imported as a user and an item; drop --no-header",
                first.join(", ")
            ),
        });
    }
    let names: Vec<String> = (1..=first.len()).map(|k| k.to_string()).collect();
    let fields: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut map = map.clone();
    map.user.get_or_insert(ColumnRef::Index(1));
    map.item.get_or_insert(ColumnRef::Index(2));
    // A column flag then names a position of the first line, not a header's column.
    let header = columns::header(&fields, &map, file, line).map_err(|mut e| {
        if let ParseError::NoSuchColumn { headerless, .. } = &mut e {
            *headerless = true;
        }
        e
    })?;
    // The id columns both holding accepted names (`reader_id,article_id,clicked_at`): a
    // header, whatever the other columns hold.
    let (user, item) = (header.columns.user, header.columns.item);
    if let (Some(u), Some(i)) = (first.get(user), first.get(item))
        && columns::all_column_names(&[u, i])
    {
        return Err(ParseError::Malformed {
            file: file.to_owned(),
            line,
            message: format!(
                "--no-header, but this line's user and item fields ({u}, {i}) are accepted \
                 column names: it looks like a header and would be imported as a user {u:?} \
                 and an item {i:?}; drop --no-header"
            ),
        });
    }
    let row = row_from_fields(first, header.columns, scale, file, line)
        .map_err(|e| with_column_name(e, &header.names))?;
    Ok((header, row))
}

/// CSV through the `csv` crate.
fn parse_quoted<R: Read>(
    reader: R,
    file: &Path,
    delimiter: Delimiter,
    options: &ReadOptions,
    numeric: &mut NumericColumns,
) -> Result<HeadedRows, ParseError> {
    let (map, scale) = (&options.columns, RowRules::of(options));
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter.byte())
        .from_reader(CrlfToLf::new(std::io::BufReader::new(reader)));
    let mut record = csv::StringRecord::new();
    let mut header: Option<(usize, columns::Header)> = None;
    let mut rows = Vec::new();
    let mut longer = None;
    // The last record's field that runs over lines, if any: (line, column, the field).
    let mut spanning: Option<(usize, usize, String)> = None;
    loop {
        let more = csv
            .read_record(&mut record)
            .map_err(|e| csv_error(e, file))?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line() as usize);
        let fields: Vec<&str> = record.iter().collect();
        spanning = fields
            .iter()
            .enumerate()
            .find(|(_, f)| f.contains('\n'))
            .map(|(c, f)| (line, c, (*f).to_owned()));
        if fields.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        match &header {
            None if map.headerless => {
                let (h, first) = headerless_start(&fields, map, scale, file, line)?;
                numeric.observe(&fields);
                rows.push(first);
                header = Some((line, h));
            }
            None => {
                let h = columns::header(&fields, map, file, line)?;
                numeric.1.0 = h.unread_event;
                header = Some((line, h));
            }
            Some((header_line, h)) => {
                joined_file(&fields, h, map.headerless, file, (*header_line, line))?;
                unclosed_quote(&fields, &h.columns, file, line)?;
                count_longer(&mut longer, h, fields.len(), line);
                numeric.observe(&fields);
                rows.push(
                    row_from_fields(&fields, h.columns, scale, file, line)
                        .map_err(|e| with_column_name(e, &h.names))?,
                );
            }
        }
    }
    // A quote never closed runs to the end of the file, through rows of the delimiter: said,
    // even in a column nothing reads, since every row after it is lost.
    if let Some((line, column, field)) = spanning {
        let swallowed = field
            .lines()
            .skip(1)
            .any(|l| l.contains(char::from(delimiter.byte())));
        if field.ends_with('\n') || swallowed {
            return Err(ParseError::Malformed {
                file: file.to_owned(),
                line,
                message: format!(
                    "field {} opens a double quote that is never closed: it runs to the end of \
                     the file ({} more line(s)), and every row after it would be lost. Close \
                     the quote, or remove it",
                    column + 1,
                    field.matches('\n').count()
                ),
            });
        }
    }
    match header {
        None => Err(ParseError::Empty {
            file: file.to_owned(),
        }),
        Some((line, h)) => Ok((line, h, rows, longer)),
    }
}

/// Reads `\r\n` as `\n`: the `csv` crate counts a CRLF file's lines one short (a record's
/// position is taken before the `\n` of the line above is read), and error messages must name
/// the line an editor shows. A lone `\r` is kept.
struct CrlfToLf<R> {
    inner: R,
    pending_cr: bool,
}

impl<R: BufRead> CrlfToLf<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            pending_cr: false,
        }
    }
}

impl<R: BufRead> Read for CrlfToLf<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < out.len() {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                if std::mem::take(&mut self.pending_cr) {
                    out[n] = b'\r';
                    n += 1;
                }
                break;
            }
            if std::mem::take(&mut self.pending_cr) && buf[0] != b'\n' {
                out[n] = b'\r';
                n += 1;
                continue;
            }
            let mut used = 0;
            while used < buf.len() && n < out.len() {
                let byte = buf[used];
                used += 1;
                if byte == b'\r' {
                    match buf.get(used) {
                        // Decided by the next buffer's first byte.
                        None => self.pending_cr = true,
                        Some(b'\n') => {}
                        Some(_) => {
                            out[n] = byte;
                            n += 1;
                        }
                    }
                } else {
                    out[n] = byte;
                    n += 1;
                }
            }
            self.inner.consume(used);
            if n > 0 {
                break;
            }
        }
        Ok(n)
    }
}

/// Refuses a row whose id, rating or time holds a line break: RFC 4180 lets a quoted field run
/// over lines, so a double quote that is never closed makes the rest of the file one field, and
/// every later row would be lost without a word. No id of a catalogue holds a line break.
fn unclosed_quote(
    fields: &[&str],
    columns: &columns::Columns,
    file: &Path,
    line: usize,
) -> Result<(), ParseError> {
    let used = [
        Some(columns.user),
        Some(columns.item),
        columns.rating,
        columns.timestamp,
    ];
    let Some((column, field)) = used
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c, *fields.get(c)?)))
        .find(|(_, f)| f.contains(['\n', '\r']))
    else {
        return Ok(());
    };
    let lines = field.matches('\n').count();
    Err(ParseError::Malformed {
        file: file.to_owned(),
        line,
        message: format!(
            "field {} is quoted and runs over {} more line(s), to line {}, but ids, ratings \
             and times cannot hold line breaks: if its double quote was meant to close on this \
             line, close it (an unclosed quote reads every later row into this field)",
            column + 1,
            lines,
            line + lines
        ),
    })
}

/// A number that does not parse, or an id too long, named by its column's own header name too
/// when that is not the role's (`date`, read as the timestamp; `customer_id`, read as the
/// user_id). `names`: the header's column names as written.
pub(crate) fn with_column_name(e: ParseError, names: &[String]) -> ParseError {
    let own_name = |column: usize, field: &str| {
        column
            .checked_sub(1)
            .and_then(|c| names.get(c))
            .map(|n| n.trim())
            .filter(|n| !n.is_empty() && columns::normalised(n) != columns::normalised(field))
            .map(str::to_owned)
    };
    match e {
        ParseError::NotANumber {
            file,
            line,
            column,
            field,
            header: None,
            value,
        } => ParseError::NotANumber {
            header: own_name(column, field),
            file,
            line,
            column,
            field,
            value,
        },
        ParseError::IdTooLong {
            file,
            line,
            column,
            field,
            header: None,
            bytes,
            start,
        } => ParseError::IdTooLong {
            header: own_name(column, field),
            file,
            line,
            column,
            field,
            bytes,
            start,
        },
        other => other,
    }
}

/// The advice for a file that is not UTF-8, naming its likely encoding
/// ([`kgrec_kg::encoding::not_utf8_advice`]; `seen`, the bytes read, when the file cannot be
/// read again).
pub(crate) fn not_utf8(file: &Path, seen: &[u8]) -> String {
    kgrec_kg::encoding::not_utf8_advice(file, seen)
}

fn csv_error(e: csv::Error, file: &Path) -> ParseError {
    let line = e.position().map_or(0, |p| p.line() as usize);
    match e.into_kind() {
        csv::ErrorKind::Io(source) => ParseError::Io {
            file: file.to_owned(),
            error: source,
        },
        csv::ErrorKind::Utf8 { err, .. } => ParseError::Malformed {
            file: file.to_owned(),
            line,
            message: format!(
                "field {}: not valid UTF-8 (byte {} of the field); {}",
                err.field() + 1,
                err.valid_up_to() + 1,
                not_utf8(file, &[])
            ),
        },
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => ParseError::Malformed {
            file: file.to_owned(),
            line,
            message: format!("{len} fields where the first line has {expected_len}"),
        },
        kind => ParseError::Malformed {
            file: file.to_owned(),
            line,
            message: format!("not readable as CSV: {kind:?}"),
        },
    }
}

/// The rows of a MovieLens file and the header it began with, if any: its line and its fields.
struct MovieLensRows {
    rows: Vec<RawInteraction>,
    header: Option<(usize, String)>,
}

/// MovieLens: `u.data` (tab-separated), `ratings.dat` (`::`-separated), `ratings.csv` of the
/// newer releases (comma-separated, with a header) or the same lines split by spaces:
/// `user item rating [ts]`. A first line of names only is a header: skipped, and returned so
/// the import can say so. A line of names later on is refused naming its line.
fn parse_movielens<R: BufRead>(
    mut lines: Lines<'_, R>,
    file: &Path,
    scale: RowRules<'_>,
) -> Result<MovieLensRows, ParseError> {
    let cols = Columns {
        user: 0,
        item: 1,
        rating: Some(2),
        timestamp: Some(3),
        event: None,
    };
    let mut rows = Vec::new();
    let mut header = None;
    let mut first = true;
    while let Some((n, text)) = lines.next_nonblank()? {
        let fields: Vec<&str> = if text.contains("::") {
            text.split("::").collect()
        } else if text.contains('\t') {
            text.split('\t').collect()
        } else if text.contains(',') {
            text.split(',').collect()
        } else {
            text.split_whitespace().collect()
        };
        // A header, then rows that are no `user item rating [timestamp]`: a headed table read
        // under `--format movielens`.
        if let Some((_, names)) = header.as_ref().filter(|_| !(3..=4).contains(&fields.len())) {
            return Err(ParseError::Malformed {
                file: file.to_owned(),
                line: n,
                message: format!(
                    "{} field(s), where MovieLens rows have 3 or 4: `user item rating \
                     [timestamp]`; the file starts with a header ({names}), so it looks like a \
                     headed table: drop --format movielens (or give --format tsv or csv) to read \
                     its columns by their names",
                    fields.len()
                ),
            });
        }
        if names_only(&fields) {
            if first {
                let names: Vec<&str> = fields.iter().map(|f| f.trim()).collect();
                header = Some((n, names.join(", ")));
                first = false;
                continue;
            }
            // After a header, a row without a number where the rating goes (ids and dates):
            // a headed table read under `--format movielens`, not a second header.
            let message = match header.as_ref().filter(|_| rows.is_empty()) {
                Some((_, names)) => format!(
                    "no rating in the third field ({:?}) where MovieLens rows are `user item \
                     rating [timestamp]`; the file starts with a header ({names}), so it looks \
                     like a headed table: drop --format movielens (or give --format tsv or csv) \
                     to read its columns by their names",
                    fields.get(2).map_or("", |f| f.trim())
                ),
                None => format!(
                    "a line of names ({}) among MovieLens rows of `user item rating timestamp` \
                     (a second header? a file joined to another?)",
                    fields.join(", ")
                ),
            };
            return Err(ParseError::Malformed {
                file: file.to_owned(),
                line: n,
                message,
            });
        }
        first = false;
        rows.push(row_from_fields(&fields, cols, scale, file, n)?);
    }
    if rows.is_empty() {
        return Err(ParseError::Empty {
            file: file.to_owned(),
        });
    }
    Ok(MovieLensRows { rows, header })
}

/// Refuses a KGAT line (`text`, line `n`; `first`: the file's first) that is not `user item
/// item ...` ids: a header of column names, or a token holding a character of another format
/// (`{`, `}`, a quote, `,`, `;`: JSON, CSV), which would be imported as ids; and over-long ids.
fn kgat_shape(text: &str, first: bool, file: &Path, n: usize) -> Result<(), ParseError> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    if first && columns::all_column_names(&tokens) {
        return Err(ParseError::Malformed {
            file: file.to_owned(),
            line: n,
            message: format!(
                "a header of column names ({}), but KGAT lines (`user item item ...`) have \
                 none: it would be imported as a user {:?}; remove the line, or import a table \
                 with its --format (tsv, csv)",
                tokens.join(", "),
                tokens[0]
            ),
        });
    }
    let mut column = 1;
    for (k, token) in tokens.iter().enumerate() {
        let at = text[column - 1..]
            .find(token)
            .map_or(column, |p| column + p);
        if let Some(p) = token.find(['{', '}', '"', ',', ';']) {
            let c = token[p..].chars().next().unwrap_or(',');
            return Err(ParseError::Malformed {
                file: file.to_owned(),
                line: n,
                message: format!(
                    "column {}: `{c}` in {token:?}: KGAT lines are ids separated by spaces \
                     (`user item item ...`), and this looks like another format (CSV, JSON) \
                     whose pieces would be imported as ids: import it with its --format (tsv, \
                     csv), or without --format to let kgrec recognise it",
                    text[..at - 1 + p].chars().count() + 1
                ),
            });
        }
        let field = match k {
            0 => "user_id",
            _ => "item_id",
        };
        check_id_length(token, field, file, n, k + 1)?;
        column = at + token.len();
    }
    Ok(())
}

/// KGAT: `user item item ...` per line, whitespace-separated; a user alone on a line has no items.
fn parse_kgat<R: BufRead>(
    mut lines: Lines<'_, R>,
    file: &Path,
) -> Result<Vec<RawInteraction>, ParseError> {
    let mut rows = Vec::new();
    let mut any_line = false;
    while let Some((n, text)) = lines.next_nonblank()? {
        let first = !any_line;
        any_line = true;
        kgat_shape(&text, first, file, n)?;
        let mut tokens = text.split_whitespace();
        let Some(user) = tokens.next() else { continue };
        rows.extend(tokens.map(|item| RawInteraction {
            user: user.to_owned(),
            item: item.to_owned(),
            rating: None,
            timestamp: None,
            count: 1,
            stamps: Vec::new(),
        }));
    }
    if !any_line {
        return Err(ParseError::Empty {
            file: file.to_owned(),
        });
    }
    if rows.is_empty() {
        return Err(ParseError::NoInteractions {
            file: file.to_owned(),
            lines: lines.lines_read(),
            caller: Caller::default(),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod crlf_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn crlf_becomes_lf_across_every_buffer_boundary_and_lone_cr_stays() {
        let text = b"a,b\r\nc,d\r\n\re\r\r\nf\r";
        for capacity in 1..8 {
            let mut out = Vec::new();
            CrlfToLf::new(std::io::BufReader::with_capacity(capacity, &text[..]))
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, b"a,b\nc,d\n\re\r\nf\r", "capacity {capacity}");
        }
    }
}
