//! Readers for each interaction format. They keep external ids as the exact strings of the file
//! (no trimming inside a field, no numeric conversion) so `2^40`, unicode and space-bearing ids
//! survive; only the line terminator (`\n`, `\r\n`) is removed.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::{Format, ParseError, RawInteraction, RawInteractions};

/// Reads an interaction file; the format is guessed from the file name when `format` is `None`.
pub fn parse_file(path: &Path, format: Option<Format>) -> Result<RawInteractions, ParseError> {
    let format = match format {
        Some(f) => f,
        None => Format::from_path(path).ok_or_else(|| ParseError::UnknownFormat {
            file: path.to_owned(),
        })?,
    };
    let file = File::open(path).map_err(|source| ParseError::Io {
        file: path.to_owned(),
        source,
    })?;
    parse_reader(BufReader::new(file), path, format)
}

/// Reads interactions in `format` from `reader`; `file` is only used to name the source in errors.
pub fn parse_reader<R: BufRead>(
    reader: R,
    file: &Path,
    format: Format,
) -> Result<RawInteractions, ParseError> {
    let rows = match format {
        Format::Tsv | Format::RecBole => parse_delimited(Lines::new(reader, file), file)?,
        Format::Csv => parse_csv(reader, file)?,
        Format::MovieLens => parse_movielens(Lines::new(reader, file), file)?,
        Format::Kgat => parse_kgat(Lines::new(reader, file), file)?,
    };
    Ok(RawInteractions {
        file: file.to_owned(),
        format,
        rows,
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
                source,
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
                    "not valid UTF-8 (byte {})",
                    e.utf8_error().valid_up_to() + 1
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

/// Positions of the known columns in a header.
#[derive(Debug, Clone, Copy)]
struct Columns {
    user: usize,
    item: usize,
    rating: Option<usize>,
    timestamp: Option<usize>,
}

/// A header field's column name: BOM, RecBole's `:type` suffix, surrounding blanks and case removed.
pub(crate) fn column_name(field: &str) -> String {
    let base = field.rsplit_once(':').map_or(field, |(name, _)| name);
    base.trim().to_ascii_lowercase()
}

/// The index of the first header field whose name is one of `names`.
pub(crate) fn find_column(names: &[String], wanted: &[&str]) -> Option<usize> {
    names.iter().position(|n| wanted.contains(&n.as_str()))
}

fn header_columns(fields: &[&str], file: &Path, line: usize) -> Result<Columns, ParseError> {
    let names: Vec<String> = fields.iter().map(|f| column_name(f)).collect();
    let missing = |column| ParseError::MissingColumn {
        file: file.to_owned(),
        line,
        column,
        found: fields.join(", "),
    };
    // MovieLens' own CSV (`userId,movieId,rating,timestamp`) is accepted under its names too.
    let user =
        find_column(&names, &["user_id", "userid", "user"]).ok_or_else(|| missing("user_id"))?;
    let item = find_column(
        &names,
        &["item_id", "itemid", "item", "movie_id", "movieid"],
    )
    .ok_or_else(|| missing("item_id"))?;
    let rating = find_column(&names, &["rating", "ratings"]);
    let timestamp = find_column(&names, &["timestamp", "ts", "time"]);
    Ok(Columns {
        user,
        item,
        rating,
        timestamp,
    })
}

/// Builds one row from a line's fields (`fields[i]` is 1-based column `i + 1`).
fn row_from_fields(
    fields: &[&str],
    cols: Columns,
    file: &Path,
    line: usize,
) -> Result<RawInteraction, ParseError> {
    let user = required(fields, cols.user, "user_id", file, line)?;
    let item = required(fields, cols.item, "item_id", file, line)?;
    let rating = match cols.rating {
        Some(c) => Some(parse_rating(
            required(fields, c, "rating", file, line)?,
            c,
            file,
            line,
        )?),
        None => None,
    };
    let timestamp = match cols.timestamp {
        // An empty timestamp means "unknown", which RecBole writes for some data sets.
        Some(c) => match fields.get(c).map(|s| s.trim()) {
            None | Some("") => None,
            Some(text) => Some(parse_timestamp(text, c, file, line)?),
        },
        None => None,
    };
    Ok(RawInteraction {
        user: user.to_owned(),
        item: item.to_owned(),
        rating,
        timestamp,
        count: 1,
    })
}

fn required<'f>(
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
        Some(s) => Ok(s),
    }
}

fn parse_rating(text: &str, col: usize, file: &Path, line: usize) -> Result<f32, ParseError> {
    match text.trim().parse::<f32>() {
        Ok(r) if r.is_finite() => Ok(r),
        _ => Err(ParseError::NotANumber {
            file: file.to_owned(),
            line,
            column: col + 1,
            field: "rating",
            value: text.to_owned(),
        }),
    }
}

/// Seconds since the epoch; RecBole declares timestamps `:float`, so `881250949.0` is accepted too.
fn parse_timestamp(text: &str, col: usize, file: &Path, line: usize) -> Result<i64, ParseError> {
    if let Ok(t) = text.parse::<i64>() {
        return Ok(t);
    }
    match text.parse::<f64>() {
        // i64::MAX as f64 rounds up, so the bound is exclusive to keep the cast exact-or-saturating-free.
        Ok(t) if t.is_finite() && t.abs() < i64::MAX as f64 => Ok(t.trunc() as i64),
        _ => Err(ParseError::NotANumber {
            file: file.to_owned(),
            line,
            column: col + 1,
            field: "timestamp",
            value: text.to_owned(),
        }),
    }
}

/// TSV and RecBole: a header line, then tab-separated rows.
fn parse_delimited<R: BufRead>(
    mut lines: Lines<'_, R>,
    file: &Path,
) -> Result<Vec<RawInteraction>, ParseError> {
    let Some((header_line, header)) = lines.next_nonblank()? else {
        return Err(ParseError::Empty {
            file: file.to_owned(),
        });
    };
    let header_fields: Vec<&str> = header.split('\t').collect();
    let cols = header_columns(&header_fields, file, header_line)?;
    let mut rows = Vec::new();
    while let Some((n, text)) = lines.next_nonblank()? {
        let fields: Vec<&str> = text.split('\t').collect();
        rows.push(row_from_fields(&fields, cols, file, n)?);
    }
    if rows.is_empty() {
        return Err(ParseError::HeaderOnly {
            file: file.to_owned(),
            line: header_line,
        });
    }
    Ok(rows)
}

/// CSV through the `csv` crate, so quoted fields (with commas, quotes or newlines) are read right.
fn parse_csv<R: Read>(reader: R, file: &Path) -> Result<Vec<RawInteraction>, ParseError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(reader);
    let mut record = csv::StringRecord::new();
    let mut header: Option<(usize, Columns)> = None;
    let mut rows = Vec::new();
    loop {
        let more = csv
            .read_record(&mut record)
            .map_err(|e| csv_error(e, file))?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line() as usize);
        let fields: Vec<&str> = record.iter().collect();
        if fields.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        match header {
            None => header = Some((line, header_columns(&fields, file, line)?)),
            Some((_, cols)) => rows.push(row_from_fields(&fields, cols, file, line)?),
        }
    }
    match header {
        None => Err(ParseError::Empty {
            file: file.to_owned(),
        }),
        Some((line, _)) if rows.is_empty() => Err(ParseError::HeaderOnly {
            file: file.to_owned(),
            line,
        }),
        Some(_) => Ok(rows),
    }
}

fn csv_error(e: csv::Error, file: &Path) -> ParseError {
    let line = e.position().map_or(0, |p| p.line() as usize);
    match e.into_kind() {
        csv::ErrorKind::Io(source) => ParseError::Io {
            file: file.to_owned(),
            source,
        },
        kind => ParseError::Malformed {
            file: file.to_owned(),
            line,
            message: format!("{kind:?}"),
        },
    }
}

/// MovieLens: `u.data` (tab-separated) or `ratings.dat` (`::`-separated), `user item rating [ts]`.
fn parse_movielens<R: BufRead>(
    mut lines: Lines<'_, R>,
    file: &Path,
) -> Result<Vec<RawInteraction>, ParseError> {
    let cols = Columns {
        user: 0,
        item: 1,
        rating: Some(2),
        timestamp: Some(3),
    };
    let mut rows = Vec::new();
    while let Some((n, text)) = lines.next_nonblank()? {
        let fields: Vec<&str> = if text.contains("::") {
            text.split("::").collect()
        } else {
            text.split('\t').collect()
        };
        rows.push(row_from_fields(&fields, cols, file, n)?);
    }
    if rows.is_empty() {
        return Err(ParseError::Empty {
            file: file.to_owned(),
        });
    }
    Ok(rows)
}

/// KGAT: `user item item ...` per line, whitespace-separated; a user alone on a line has no items.
fn parse_kgat<R: BufRead>(
    mut lines: Lines<'_, R>,
    file: &Path,
) -> Result<Vec<RawInteraction>, ParseError> {
    let mut rows = Vec::new();
    let mut any_line = false;
    while let Some((_, text)) = lines.next_nonblank()? {
        any_line = true;
        let mut tokens = text.split_whitespace();
        let Some(user) = tokens.next() else { continue };
        rows.extend(tokens.map(|item| RawInteraction {
            user: user.to_owned(),
            item: item.to_owned(),
            rating: None,
            timestamp: None,
            count: 1,
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
        });
    }
    Ok(rows)
}
