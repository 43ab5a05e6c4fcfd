//! Interaction files: parsing only. This module owns reading the contract's interaction formats
//! (`tsv`, `csv`, `movielens`, `recbole`, `kgat`) and the item→IRI link file into raw rows whose
//! user and item ids are the file's own strings, plus the two row-level clean-ups the import offers
//! (`--min-rating` and duplicate merging). Dense ids and matrices live in [`crate::cf`].
//!
//! Any input may be `-` (standard input) and gzip-compressed (recognised by its magic bytes). A
//! format not given is guessed ([`guess`]) and the guess is reported; headed files find their
//! columns by accepted names or by `--user-col`-like flags ([`columns`]) and report the columns
//! they ignore. What a reader noticed comes back as [`RawInteractions::notes`]; nothing prints.

mod clean;
pub mod columns;
mod datetime;
pub use datetime::parse_iso;
mod error;
mod events;
mod format;
pub mod guess;
mod id_list;
mod item_list;
mod link;
pub mod lookalike;
pub mod parse;
mod scale;
pub mod source;
mod unit;

pub use clean::{
    filter_min_rating, merge_duplicates, merge_strongest, rating_conflicts, strongest,
};
pub use columns::{ColumnMap, ColumnRef, Delimiter};
pub use error::{ParseError, decimal_comma_hint};
pub use events::{BadEventWeights, EventWeights};
pub use format::{Format, UnknownFormatName};
pub use guess::{Guess, GuessBasis};
pub use id_list::{quote_id, shell_word, split_id_list};
pub use item_list::{ItemList, read_item_lines, read_item_list};
pub use link::{
    ItemLink, LinkColumns, LinkFile, parse_link_file, parse_link_reader, read_link_file,
    strip_angle_brackets,
};
pub use parse::{Caller, ReadOptions, parse_file, parse_reader, read_file, read_reader};
pub use scale::{BadScale, RatingScale};
pub use unit::{TimeUnit, UnknownTimeUnit, millis_to_seconds};

use std::path::PathBuf;

/// The longest user or item id, in bytes: an import refuses longer ones (naming file, line and
/// field), so that the HTTP service, which takes ids in URL paths, can address every stored id.
pub const MAX_ID_BYTES: usize = 512;

/// One interaction as the file states it.
#[derive(Debug, Clone, PartialEq)]
pub struct RawInteraction {
    /// The external user id, exactly as written.
    pub user: String,
    /// The external item id, exactly as written.
    pub item: String,
    /// The explicit rating, when the format has one.
    pub rating: Option<f32>,
    /// Seconds since the epoch, when the format has one.
    pub timestamp: Option<i64>,
    /// How many rows of the file this row stands for (1 until [`merge_duplicates`] folds repeats).
    pub count: u32,
    /// When [`merge_duplicates`] folded rows with timestamps into this one: each timestamp and
    /// how many of the rows had it (the rest of `count` had none). Empty for a row that stands
    /// for itself (its `timestamp` and `count` say it). A store judges by them which rows are
    /// purchases after the ones it holds ([`RawInteraction::split_at`]).
    pub stamps: Vec<(i64, u32)>,
}

impl RawInteraction {
    /// The rows this one stands for, split by a stored pair's latest timestamp `latest`: how
    /// many have a later timestamp (events after the stored ones), and how many do not (a
    /// timestamp at or before it, or none, or no `latest` to compare with).
    pub fn split_at(&self, latest: Option<i64>) -> (u32, u32) {
        let Some(latest) = latest else {
            return (0, self.count);
        };
        let later: u32 = match self.stamps.as_slice() {
            [] => match self.timestamp {
                Some(t) if t > latest => self.count,
                _ => 0,
            },
            stamps => stamps
                .iter()
                .filter(|(t, _)| *t > latest)
                .fold(0u32, |n, (_, c)| n.saturating_add(*c)),
        };
        let later = later.min(self.count);
        (later, self.count - later)
    }

    /// How many of the rows this one stands for had no timestamp.
    pub fn untimed(&self) -> u32 {
        match self.stamps.as_slice() {
            [] if self.timestamp.is_some() => 0,
            [] => self.count,
            stamps => {
                let timed = stamps.iter().fold(0u32, |n, (_, c)| n.saturating_add(*c));
                self.count.saturating_sub(timed)
            }
        }
    }

    /// The timestamps of the rows this one stands for, with how many had each.
    fn own_stamps(&self) -> Vec<(i64, u32)> {
        match (self.stamps.is_empty(), self.timestamp) {
            (false, _) => self.stamps.clone(),
            (true, Some(t)) => vec![(t, self.count)],
            (true, None) => Vec::new(),
        }
    }
}

/// The rows of one interaction file.
#[derive(Debug, Clone, PartialEq)]
pub struct RawInteractions {
    /// The source file, for messages.
    pub file: PathBuf,
    /// The format it was read as.
    pub format: Format,
    /// The rows, in file order.
    pub rows: Vec<RawInteraction>,
    /// How the format was guessed, when `--format` did not give it.
    pub guess: Option<Guess>,
    /// The stream was gzip-compressed.
    pub gzip: bool,
    /// ... and its name did not end in `.gz`.
    pub gzip_unannounced: bool,
    /// The header's line, for headed formats.
    pub header_line: Option<usize>,
    /// The delimiter, when it was detected from the header rather than the format's own.
    pub delimiter: Option<Delimiter>,
    /// A spreadsheet's `sep=;` first line (Excel's): its line and the delimiter it names,
    /// read as such (a `--delimiter` given wins) and not as the header.
    pub excel_sep: Option<(usize, Delimiter)>,
    /// Header columns nothing reads (names, or `N (unnamed)`).
    pub ignored_columns: Vec<String>,
    /// Of the ignored columns, those that hold numbers and nothing else: (name as shown, the
    /// value of `--rating-col` that reads it).
    pub numeric_ignored: Vec<(String, String)>,
    /// Of the ignored columns, those whose every value reads as a time (`--time-col` would read
    /// them): (name as shown, the value of `--time-col` that reads it).
    pub time_ignored: Vec<(String, String)>,
    /// The header's fields, when the user and item columns were both given by position: the
    /// line may have been data (a file without a header wants `--no-header`).
    pub header_by_position: Option<String>,
    /// Rows with more fields than the header: the first's line, how many, the header's width.
    pub longer_rows: Option<(usize, usize, usize)>,
    /// Read with `--no-header`: the first line was data, and widths are the first line's.
    pub headerless: bool,
    /// The fields of a header line a headerless format (MovieLens) began with, skipped.
    pub skipped_header: Option<String>,
    /// Rows whose rating cell was empty, read as unrated.
    pub empty_ratings: usize,
    /// `--time-unit auto` found every timestamp in milliseconds: how many were converted to
    /// seconds.
    pub millis_converted: Option<usize>,
    /// The unit the numeric timestamps were read in (`--time-unit`).
    pub time_unit: TimeUnit,
    /// A column named as an event column (`event`, `action`, ...) left unread, since no
    /// `--event-weights` was given: its name and first distinct values.
    pub unread_event: Option<(String, Vec<String>)>,
    /// The rows' ratings are the weights of their events (`--event-weights`).
    pub events: bool,
    /// The command that read the file, whose flags the notes name.
    pub caller: Caller,
}

impl RawInteractions {
    /// What the reader chose or noticed without being told, one sentence each, each starting
    /// with the file's name: the guessed format, gzip found by its bytes, a detected delimiter,
    /// ignored columns. The CLI prints them as notes.
    pub fn notes(&self) -> Vec<String> {
        let file = self.file.display();
        let at = match self.header_line {
            Some(line) => format!("{file}:{line}"),
            None => file.to_string(),
        };
        let mut notes = Vec::new();
        if let Some(guess) = self.guess.as_ref().filter(|g| g.is_worth_a_note()) {
            notes.push(format!("{file}: {guess}"));
        }
        if self.gzip_unannounced {
            notes.push(format!(
                "{file}: gzip-compressed (recognised by its first bytes)"
            ));
        }
        if let Some(d) = self.delimiter {
            let own = match self.format {
                Format::Csv => Delimiter::COMMA,
                _ => Delimiter::TAB,
            };
            let first = match self.headerless {
                true => "first line",
                false => "header",
            };
            notes.push(format!(
                "{at}: the {first} is split by {d}, not by {own}: the file is read with {d} \
                 (--delimiter overrides)"
            ));
        }
        if let Some((line, d)) = self.excel_sep {
            notes.push(format!(
                "{file}:{line}: `sep={}` (a spreadsheet's delimiter line) read: the file is split \
                 by {d} (--delimiter overrides), and the header is the line after it",
                char::from(d.byte())
            ));
        }
        if let Some(fields) = &self.header_by_position {
            notes.push(format!(
                "{at}: read as the header ({fields}); if that line is data, import again with \
                 --no-header"
            ));
        }
        if let Some(fields) = &self.skipped_header {
            notes.push(format!(
                "{at}: read as a header ({fields}) and skipped: {} files have none, so it is \
                 not imported as a row",
                self.format
            ));
        }
        if let Some((line, n, width)) = self.longer_rows {
            let first = match self.headerless {
                true => "first line's",
                false => "header's",
            };
            notes.push(format!(
                "{file}:{line}: {n} row(s) have more fields than the {first} {width}; the extra \
                 fields were ignored (is a field's delimiter unquoted?)"
            ));
        }
        if self.empty_ratings > 0 {
            notes.push(format!(
                "{file}: {} row(s) have an empty rating cell: read as unrated, as the rows of a \
                 file without a rating column (a stored rating is kept)",
                self.empty_ratings
            ));
        }
        if let Some((column, kinds)) = &self.unread_event {
            let (values, weights) = match kinds.as_slice() {
                [] => (String::new(), "KIND=W,...".to_owned()),
                kinds => (
                    format!(
                        " (values {}{})",
                        kinds.join(", "),
                        if kinds.len() >= EVENT_KINDS_SHOWN {
                            ", ..."
                        } else {
                            ""
                        }
                    ),
                    kinds
                        .iter()
                        .map(|k| format!("{k}=W"))
                        .collect::<Vec<_>>()
                        .join(","),
                ),
            };
            notes.push(match self.caller {
                Caller::Import => format!(
                    "{at}: column {column}{values} {UNREAD_EVENT_WORDS}: every row counts as a \
                     plain interaction. To weigh the kinds, import with \
                     --event-weights {weights}, W each kind's weight (e.g. view=1,addtocart=3,\
                     transaction=5): a pair's strength is then the largest weight among its \
                     events (a weight of 0 drops a kind)"
                ),
                // eval reads files whole, without event weights.
                Caller::Eval => format!(
                    "{at}: column {column}{values} {UNREAD_EVENT_WORDS}: every row counts as a \
                     plain interaction (eval does not weigh event kinds); to score one kind \
                     alone, give eval files holding only its rows, or import into a data \
                     directory with --event-weights {weights} and train there"
                ),
            });
        }
        match self.ignored_columns.as_slice() {
            [] => {}
            [one] => notes.push(format!("{at}: column {one} ignored")),
            many => notes.push(format!("{at}: columns {} ignored", many.join(", "))),
        }
        // An ignored column of numbers (`play_seconds`, `quantity`), when no column was read
        // as the rating: it may be the weight the user meant to keep.
        let looks_like_time = |c: &str| {
            let c = c.to_ascii_lowercase();
            c.ends_with("_at") || ["time", "date", "when"].iter().any(|w| c.contains(w))
        };
        if self.rows.iter().all(|r| r.rating.is_none())
            && let Some((name, flag)) = self
                .numeric_ignored
                .iter()
                .find(|(name, _)| !looks_like_time(name))
        {
            notes.push(format!(
                "{at}: column {name} holds numbers only; to keep them as each interaction's \
                 rating (a weight such as stars, a count or seconds played), import with \
                 --rating-col {flag} (--min-rating R then keeps the rows rated R or more)"
            ));
        }
        // An ignored column whose every value reads as a time (an ISO 8601 date, seconds or
        // milliseconds since 1970), whatever its name (`дата`).
        if let Some((time, flag)) = self.time_ignored.first() {
            match self.rows.iter().all(|r| r.timestamp.is_none()) {
                true => notes.push(format!(
                    "{at}: column {time} looks like a time; to keep it as the timestamp (seconds \
                     since 1970 or ISO 8601 dates, which `tune --split time` orders by), import \
                     with --time-col {flag}"
                )),
                false => notes.push(format!(
                    "{at}: column {time} holds times too (every value reads as one), but another \
                     column is read as the timestamp; to read this one instead, import with \
                     --time-col {flag}"
                )),
            }
        }
        if let Some(latest) = self.rows.iter().filter_map(|r| r.timestamp).max()
            && latest < PLAUSIBLE_TIMESTAMP
        {
            notes.push(format!(
                "{file}: every timestamp is below {PLAUSIBLE_TIMESTAMP} (the latest is {latest}, \
                 which as seconds since 1970 is before March 1973): is the column read as the \
                 timestamp really one? (--time-col names another)"
            ));
        }
        if let Some(n) = self.millis_converted {
            notes.push(format!(
                "{file}: the timestamps are milliseconds (every numeric one is {MILLISECONDS} or more, \
                 after the year 5138 as seconds): {n} converted to the seconds kgrec stores \
                 (--time-unit s reads them as seconds)"
            ));
        }
        if self.time_unit == TimeUnit::Seconds
            && let Some(earliest) = self.rows.iter().filter_map(|r| r.timestamp).min()
            && earliest >= MILLISECONDS
        {
            notes.push(format!(
                "{file}: every timestamp is {MILLISECONDS} or more (the earliest is {earliest}, \
                 which as seconds since 1970 is after the year 5138): they look like \
                 milliseconds, but --time-unit s stores them as seconds; --time-unit ms (or \
                 auto) converts them"
            ));
        }
        let ids = self.rows.iter().flat_map(|r| {
            [
                (IdKind::User, r.user.as_str()),
                (IdKind::Item, r.item.as_str()),
            ]
        });
        notes.extend(spaced_ids_note(&self.file, ids.clone()));
        notes.extend(invisible_ids_note_in(
            &self.file.display().to_string(),
            "the file",
            ids,
        ));
        notes
    }
}

/// An invisible character: a zero-width space, joiner or non-joiner, a direction mark or
/// embedding, a word joiner, a soft hyphen, a Hangul filler... (Unicode format characters and
/// fillers that print as nothing). Ids holding one look like another id in every list.
pub fn invisible_char(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}'
        | '\u{17B5}' | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FFA0}'
        | '\u{FEFF}')
}

/// A note on ids from `source` (a file's name, `POST /v1/interactions`; the note calls it
/// `what`) holding an invisible character ([`invisible_char`]): they are kept as written
/// (zero-width joiners belong in some scripts and emoji), so `"u\u{200B}1"` and `"u1"` are two
/// users that print alike; the note names the first such id, its character, and counts them.
pub fn invisible_ids_note_in<'a>(
    source: &str,
    what: &str,
    ids: impl Iterator<Item = (IdKind, &'a str)>,
) -> Option<String> {
    let mut seen = std::collections::HashSet::new();
    let mut first: Option<(IdKind, &str, char)> = None;
    let mut count = 0usize;
    for (kind, id) in ids {
        if let Some(c) = id.chars().find(|&c| invisible_char(c))
            && seen.insert((kind, id))
        {
            count += 1;
            first.get_or_insert((kind, id, c));
        }
    }
    let (kind, id, c) = first?;
    let visible: String = id.chars().filter(|&c| !invisible_char(c)).collect();
    Some(format!(
        "{source}: {count} id(s) hold an invisible character, kept as written, the first {} \
         {id:?} (U+{:04X}), which prints like {visible:?} but is another {}; remove such \
         characters from {what} unless they belong to the ids (e.g. `sed \
         's/\\xE2\\x80\\x8B//g'` removes U+200B)",
        kind.name(),
        u32::from(c),
        kind.name(),
    ))
}

/// Words of the note on an unread event column, by which a removal (which weighs nothing)
/// leaves it out.
pub const UNREAD_EVENT_WORDS: &str = "looks like each row's kind of event and is not read";

/// How many distinct values of an unread event column its note names.
const EVENT_KINDS_SHOWN: usize = 8;

/// Seconds since 1970 of 3 March 1973: a file whose timestamps all fall before it probably
/// holds something else (a quantity, a rating) in the column read as the timestamp.
const PLAUSIBLE_TIMESTAMP: i64 = 100_000_000;

/// Seconds since 1970 of the year 5138: timestamps from it on are milliseconds (a file import
/// with `--time-unit auto` converts them to seconds when all are, and refuses a file where only
/// some are; the HTTP service refuses a posted one).
pub const MILLISECONDS: i64 = 100_000_000_000;

/// How far after now a timestamp may be: a year (clocks and time zones differ by less). A later
/// one (a "no end" `9999-12-31`, a mistyped year) is refused by a file import under
/// `--time-unit auto` or `ms` and by the HTTP service, naming where: stored, it would make every
/// later real event of its pair look already seen. `--time-unit s` keeps numbers as read.
pub const FUTURE_SLACK: i64 = 366 * 86_400;

/// Whether `seconds` (since 1970) is more than [`FUTURE_SLACK`] after now. A clock before 1970
/// refuses nothing.
pub fn far_future(seconds: i64) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    match now {
        Ok(now) => seconds > now.saturating_add(FUTURE_SLACK),
        Err(_) => false,
    }
}

/// The largest rating magnitude kgrec accepts: 2^24, beyond which a 32-bit float no longer
/// holds every whole number. No rating scale, play count or dwell time in seconds comes near
/// it, so a larger rating (`1e30`) is a mistake in the data, refused with its place whatever
/// the store holds (a scale inferred from it would make every other rating look alike).
pub const MAX_RATING: f32 = 16_777_216.0;

/// What an external id names, in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdKind {
    User,
    Item,
}

impl IdKind {
    fn name(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Item => "item",
        }
    }
}

/// How many ids with surrounding white space a note names.
const SPACED_NAMED: usize = 3;

/// A note on the ids of `file` that start or end with white space. Ids are kept exactly as
/// written (they round-trip: what is imported is what `recommend` prints), so `"alice "` and
/// `"alice"` are two users; a spreadsheet export rarely means that, so the note names the first
/// few (with the trimmed twin when the file has one too) and counts them.
pub fn spaced_ids_note<'a>(
    file: &std::path::Path,
    ids: impl Iterator<Item = (IdKind, &'a str)>,
) -> Option<String> {
    spaced_ids_note_in(
        &file.display().to_string(),
        ("the file", "the file also has"),
        ids,
    )
}

/// [`spaced_ids_note`] of ids from `source` (a file's name, `POST /v1/interactions`), which
/// the note calls `what` (`the file`), saying `also` of a trimmed twin (`the file also has`).
pub fn spaced_ids_note_in<'a>(
    source: &str,
    (what, also): (&str, &str),
    ids: impl Iterator<Item = (IdKind, &'a str)>,
) -> Option<String> {
    let mut all = std::collections::HashSet::new();
    let mut spaced = Vec::new();
    for (kind, id) in ids {
        if all.insert((kind, id)) && id.trim() != id {
            spaced.push((kind, id));
        }
    }
    let first = spaced.first()?;
    let named: Vec<String> = spaced
        .iter()
        .take(SPACED_NAMED)
        .map(|&(kind, id)| {
            if all.contains(&(kind, id.trim())) {
                format!("{} {id:?} ({also} {:?})", kind.name(), id.trim())
            } else {
                format!("{} {id:?}", kind.name())
            }
        })
        .collect();
    let more = spaced.len().saturating_sub(SPACED_NAMED);
    Some(format!(
        "{}: {} id(s) start or end with white space and are kept as written, so {:?} and {:?} \
         are different {}s: {}{}; remove the spaces from {what} if they are not part of the \
         ids",
        source,
        spaced.len(),
        first.1,
        first.1.trim(),
        first.0.name(),
        named.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    ))
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
