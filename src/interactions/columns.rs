//! Headed tables (`tsv`, `csv`, `recbole`, link files): which column holds what. A column is
//! found by one of its role's accepted names (compared without case, RecBole's `:type` suffix,
//! quotes and punctuation: `user_id`, `userId`, `User ID` and `user_id:token` are one name) or
//! given by the user (`--user-col NAME|N`); every other column is reported as ignored. Also the
//! delimiter of a headed file: `--delimiter`, else the format's own when the header splits on it,
//! else whichever of tab `,` `;` `|` splits the header.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use super::ParseError;

/// A column given on the command line: a header name or a 1-based position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnRef {
    /// The header field with this name (exact, else compared as accepted names are).
    Name(String),
    /// The N-th field, counting from 1.
    Index(usize),
}

/// Why a `--user-col`-like value is not a column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a column: give a header name or a position counting from 1")]
pub struct BadColumnRef(pub String);

impl FromStr for ColumnRef {
    type Err = BadColumnRef;

    /// All digits is a position (`3`); anything else a name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.is_empty() {
            return Err(BadColumnRef(s.to_owned()));
        }
        if t.bytes().all(|b| b.is_ascii_digit()) {
            return match t.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(Self::Index(n)),
                _ => Err(BadColumnRef(s.to_owned())),
            };
        }
        Ok(Self::Name(t.to_owned()))
    }
}

impl fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(n) => f.write_str(n),
            Self::Index(i) => write!(f, "{i}"),
        }
    }
}

/// Which columns hold the user, the item, the rating and the time, when the user says so.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnMap {
    /// `--user-col`.
    pub user: Option<ColumnRef>,
    /// `--item-col`.
    pub item: Option<ColumnRef>,
    /// `--rating-col`.
    pub rating: Option<ColumnRef>,
    /// `--time-col`.
    pub time: Option<ColumnRef>,
    /// `--event-col`: the column of each row's event kind (`view`, `purchase`), read when
    /// `events` is set.
    pub event: Option<ColumnRef>,
    /// `--event-weights` given: the event column is read (found by its name when `event` does
    /// not name it), and the rating column is not looked for by its name.
    pub events: bool,
    /// `--no-header`: the first line is data; columns go by position (user 1 and item 2
    /// unless given).
    pub headerless: bool,
    /// `--ignore-extra-fields`: rows with more fields than the header are read by their first
    /// fields (a note says how many); without it they are an error naming the first.
    pub extra_fields_ignored: bool,
}

impl ColumnMap {
    /// Whether any column is given.
    pub fn is_empty(&self) -> bool {
        self.user.is_none()
            && self.item.is_none()
            && self.rating.is_none()
            && self.time.is_none()
            && self.event.is_none()
    }

    /// The flags given, for messages.
    pub(crate) fn flags(&self) -> Vec<&'static str> {
        [
            (self.user.is_some(), USER.flag),
            (self.item.is_some(), ITEM.flag),
            (self.rating.is_some(), RATING.flag),
            (self.time.is_some(), TIME.flag),
            (self.event.is_some(), EVENT.flag),
        ]
        .into_iter()
        .filter_map(|(given, flag)| flag.filter(|_| given))
        .collect()
    }
}

/// A field delimiter of a headed file (`--delimiter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiter(u8);

impl Delimiter {
    /// Tab.
    pub const TAB: Delimiter = Delimiter(b'\t');
    /// Comma.
    pub const COMMA: Delimiter = Delimiter(b',');
    /// The candidates of detection, in order of preference.
    pub const DETECTED: [Delimiter; 4] = [
        Delimiter(b'\t'),
        Delimiter(b','),
        Delimiter(b';'),
        Delimiter(b'|'),
    ];

    /// The byte.
    pub fn byte(self) -> u8 {
        self.0
    }

    /// `tab`, `,`, ...
    pub fn name(self) -> String {
        match self.0 {
            b'\t' => "tab".to_owned(),
            b => format!("`{}`", char::from(b)),
        }
    }
}

impl fmt::Display for Delimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Why a `--delimiter` value is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", bad_delimiter(.0))]
pub struct BadDelimiter(pub String);

fn bad_delimiter(given: &str) -> String {
    if !given.is_empty() && given.trim().is_empty() {
        return format!(
            "{given:?}: blanks are not a --delimiter (runs of them would make empty columns); \
             lines of `user item rating [timestamp]` split by blanks read with --format \
             movielens, lists of `user item item ...` with --format kgat"
        );
    }
    format!("{given:?} is not a delimiter: give one character such as , ; | or `tab`")
}

impl FromStr for Delimiter {
    type Err = BadDelimiter;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tab" | "TAB" | "\\t" | "\t" => return Ok(Self::TAB),
            "comma" => return Ok(Self::COMMA),
            "semicolon" => return Ok(Self(b';')),
            "pipe" => return Ok(Self(b'|')),
            _ => {}
        }
        match s.as_bytes() {
            [b] if b.is_ascii_punctuation() && *b != b'"' => Ok(Self(*b)),
            _ => Err(BadDelimiter(s.to_owned())),
        }
    }
}

/// What a column is for, the names it is found by, and the flag that maps it.
#[derive(Debug, PartialEq, Eq)]
pub struct Role {
    /// The canonical column name in messages (`user_id`).
    pub field: &'static str,
    /// `--user-col`, or `None` where no flag maps the column (a link file read by a command
    /// without link column flags).
    pub flag: Option<&'static str>,
    /// Accepted header names, best first.
    pub aliases: &'static [&'static str],
    /// A column of a link file (messages say what a link file's header looks like).
    pub link: bool,
}

/// The user column of an interaction file.
pub const USER: Role = Role {
    field: "user_id",
    flag: Some("--user-col"),
    aliases: &[
        "user_id",
        "user",
        "userId",
        "uid",
        "customer_id",
        "customer",
        "client_id",
        "member_id",
        "account_id",
        "visitor_id",
        "reviewer_id",
        "person_id",
        "buyer_id",
        "listener_id",
        "listener",
        "reader_id",
        "viewer_id",
        "player_id",
    ],
    link: false,
};

/// The item column of an interaction file.
pub const ITEM: Role = Role {
    field: "item_id",
    flag: Some("--item-col"),
    aliases: &[
        "item_id",
        "item",
        "itemId",
        "iid",
        "sku",
        "product_id",
        "product",
        "movie_id",
        "movie",
        "book_id",
        "isbn",
        "asin",
        "article_id",
        "track_id",
        "track",
        "song_id",
        "song",
        "artist_id",
        "artist",
        "album_id",
        "business_id",
        "video_id",
        "content_id",
        "recipe_id",
        "anime_id",
        "game_id",
    ],
    link: false,
};

/// The rating column of an interaction file.
pub const RATING: Role = Role {
    field: "rating",
    flag: Some("--rating-col"),
    aliases: &[
        "rating",
        "ratings",
        "score",
        "stars",
        "star_rating",
        "book_rating",
        "overall",
        "preference",
    ],
    link: false,
};

/// The time column of an interaction file (seconds since the epoch or ISO 8601).
pub const TIME: Role = Role {
    field: "timestamp",
    flag: Some("--time-col"),
    aliases: &[
        "timestamp",
        "ts",
        "time",
        "unix_time",
        "datetime",
        "date",
        "created_at",
        "rated_at",
        "event_time",
    ],
    link: false,
};

/// The event column of an interaction file (each row's kind: `view`, `addtocart`, ...), read
/// with `--event-weights`.
pub const EVENT: Role = Role {
    field: "event",
    flag: Some("--event-col"),
    aliases: &[
        "event",
        "event_type",
        "action",
        "behavior",
        "behaviour",
        "interaction_type",
    ],
    link: false,
};

/// The item column of a link file.
pub const LINK_ITEM: Role = Role {
    flag: None,
    link: true,
    ..ITEM
};

/// The IRI column of a link file.
pub const LINK_IRI: Role = Role {
    field: "iri",
    flag: None,
    aliases: &[
        "iri",
        "uri",
        "url",
        "entity",
        "entity_id",
        "entity_iri",
        "resource",
    ],
    link: true,
};

/// The item column of a link file read by `import links` (`--item-col`).
pub const LINKS_ITEM: Role = Role {
    flag: Some("--item-col"),
    ..LINK_ITEM
};

/// The IRI column of a link file read by `import links` (`--iri-col`).
pub const LINKS_IRI: Role = Role {
    flag: Some("--iri-col"),
    ..LINK_IRI
};

/// The item column of the `--link` file of `import interactions` (`--link-item-col`).
pub const LINKED_ITEM: Role = Role {
    flag: Some("--link-item-col"),
    ..LINK_ITEM
};

/// The IRI column of the `--link` file of `import interactions` (`--link-iri-col`).
pub const LINKED_IRI: Role = Role {
    flag: Some("--link-iri-col"),
    ..LINK_IRI
};

/// A header field's name as names are compared: RecBole's `:type` suffix, quotes, a byte-order
/// mark, case and everything but letters and digits removed.
pub(crate) fn normalised(field: &str) -> String {
    let field = field
        .trim()
        .trim_start_matches('\u{feff}')
        .trim_matches('"');
    let base = field.rsplit_once(':').map_or(field, |(name, _)| name);
    base.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether every one of at least two fields is an accepted column name (`user_id,item_id`):
/// a header, not data, whatever `--no-header` says.
pub(crate) fn all_column_names(fields: &[&str]) -> bool {
    fields.len() >= 2
        && fields.iter().all(|f| {
            let name = normalised(f);
            !name.is_empty()
                && [&USER, &ITEM, &RATING, &TIME]
                    .iter()
                    .any(|role| role.aliases.iter().any(|a| normalised(a) == name))
        })
}

/// Where the known columns of a headed file are (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Columns {
    pub user: usize,
    pub item: usize,
    pub rating: Option<usize>,
    pub timestamp: Option<usize>,
    /// The event column, read with `--event-weights`.
    pub event: Option<usize>,
}

/// A header read: its columns, and the names of the columns nothing reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub columns: Columns,
    pub ignored: Vec<String>,
    /// Every column's name as the header writes it.
    pub names: Vec<String>,
    /// A column named as the event column (`event`, `action`, ...) that is not read, since no
    /// `--event-weights` was given: an import says how to use it.
    pub unread_event: Option<usize>,
}

/// Finds a role's column among `names` (normalised), skipping `taken` columns: the best alias
/// any column carries wins, the first such column on a tie.
fn by_alias(names: &[String], role: &Role, taken: &[usize]) -> Option<usize> {
    role.aliases.iter().find_map(|alias| {
        let alias = normalised(alias);
        names
            .iter()
            .enumerate()
            .position(|(k, n)| *n == alias && !taken.contains(&k))
    })
}

/// The column of `role` among a header's `fields`, by its accepted names.
pub(crate) fn find(fields: &[&str], role: &Role) -> Option<usize> {
    let names: Vec<String> = fields.iter().map(|f| normalised(f)).collect();
    by_alias(&names, role, &[])
}

/// The column a flag names.
pub(crate) fn by_ref(
    fields: &[&str],
    names: &[String],
    r: &ColumnRef,
    flag: &'static str,
    at: (&Path, usize),
) -> Result<usize, ParseError> {
    let found = match r {
        ColumnRef::Index(i) => (*i <= fields.len()).then(|| i - 1),
        ColumnRef::Name(name) => fields
            .iter()
            .position(|f| f.trim() == name)
            .or_else(|| names.iter().position(|n| *n == normalised(name))),
    };
    found.ok_or_else(|| ParseError::NoSuchColumn {
        headerless: false,
        file: at.0.to_owned(),
        line: at.1,
        flag,
        value: r.to_string(),
        found: fields.join(", "),
    })
}

/// Reads a header: the user and item columns must be found, the rating and time columns may.
pub(crate) fn header(
    fields: &[&str],
    map: &ColumnMap,
    file: &Path,
    line: usize,
) -> Result<Header, ParseError> {
    let names: Vec<String> = fields.iter().map(|f| normalised(f)).collect();
    let at = (file, line);
    // Columns given by flags first, so that the names find only the others.
    let mut given: Vec<(&Role, usize)> = Vec::new();
    for (role, r) in [
        (&USER, &map.user),
        (&ITEM, &map.item),
        (&RATING, &map.rating),
        (&TIME, &map.time),
        (&EVENT, &map.event),
    ] {
        let (Some(r), Some(flag)) = (r, role.flag) else {
            continue;
        };
        let col = by_ref(fields, &names, r, flag, at)?;
        if let Some((other, _)) = given.iter().find(|(_, c)| *c == col) {
            return Err(ParseError::SameColumn {
                file: file.to_owned(),
                line,
                column: col + 1,
                first: other.flag.unwrap_or(other.field),
                second: flag,
            });
        }
        given.push((role, col));
    }
    let mut taken: Vec<usize> = given.iter().map(|(_, c)| *c).collect();
    let mut find = |role: &Role| -> Option<usize> {
        let col = given
            .iter()
            .find(|(r, _)| r.field == role.field)
            .map(|(_, c)| *c)
            .or_else(|| by_alias(&names, role, &taken))?;
        taken.push(col);
        Some(col)
    };
    let user = find(&USER);
    let item = find(&ITEM);
    // Event strengths are the rows' ratings: a column named like a rating is not read then.
    let rating = match map.events {
        true => None,
        false => find(&RATING),
    };
    let timestamp = find(&TIME);
    let event = match map.events {
        true => find(&EVENT),
        false => None,
    };
    if map.events && event.is_none() {
        return Err(ParseError::Malformed {
            file: file.to_owned(),
            line,
            message: format!(
                "--event-weights, but no column holds the event kinds (none is named {}; the \
                 columns: {}): name it with --event-col NAME|N",
                EVENT.aliases.join(", "),
                fields.join(", ")
            ),
        });
    }
    let (Some(user), Some(item)) = (user, item) else {
        let role = if user.is_none() { &USER } else { &ITEM };
        // The column the names would give the role, taken by another role's flag
        // (`--rating-col 2` on `member_id,product_id,stars`): said so, not "no such column".
        if let Some(col) = by_alias(&names, role, &[])
            && let Some((other, _)) = given.iter().find(|(_, c)| *c == col)
        {
            return Err(ParseError::Malformed {
                file: file.to_owned(),
                line,
                message: format!(
                    "column {} (`{}`) would be the {} column, but {} takes it: give {} another \
                     column, or name the {} column with {}",
                    col + 1,
                    fields[col].trim(),
                    role.field,
                    other.flag.unwrap_or(other.field),
                    other.flag.unwrap_or(other.field),
                    role.field,
                    role.flag.unwrap_or(role.field),
                ),
            });
        }
        return Err(missing(role, fields, file, line));
    };
    // `user_id,user_id,item_id`: which one is the user's is a guess; refused, unless a flag
    // named the column.
    for (role, col) in [
        (&USER, Some(user)),
        (&ITEM, Some(item)),
        (&RATING, rating),
        (&TIME, timestamp),
        (&EVENT, event),
    ] {
        let Some(col) = col else { continue };
        if given.iter().any(|(r, _)| r.field == role.field) {
            continue;
        }
        if let Some(twin) = (0..names.len()).find(|&k| k != col && names[k] == names[col]) {
            return Err(ParseError::Malformed {
                file: file.to_owned(),
                line,
                message: format!(
                    "columns {} and {} are both named `{}`: say which holds the {} with {} N",
                    col.min(twin) + 1,
                    col.max(twin) + 1,
                    fields[col].trim(),
                    role.field,
                    role.flag.unwrap_or("--*-col")
                ),
            });
        }
    }
    let ignored = fields
        .iter()
        .enumerate()
        .filter(|(k, _)| !taken.contains(k))
        .map(|(k, f)| match f.trim() {
            "" => format!("{} (unnamed)", k + 1),
            name => name.to_owned(),
        })
        .collect();
    let unread_event = match map.events {
        true => None,
        false => by_alias(&names, &EVENT, &taken),
    };
    Ok(Header {
        columns: Columns {
            user,
            item,
            rating,
            timestamp,
            event,
        },
        ignored,
        names: fields.iter().map(|f| f.trim().to_owned()).collect(),
        unread_event,
    })
}

/// What a header without a needed column looks like instead, for the message's hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnHint {
    /// Nothing in particular.
    None,
    /// A link file's header of a single column.
    LinkHeader,
    /// A header of a single column: the delimiter read does not split it.
    SingleColumn,
    /// A link file whose first line is a link.
    LinkData,
    /// An interaction file whose first line is numbers: data.
    Data,
}

impl ColumnHint {
    /// The hint (starting with `; `), naming `caller`'s flags; empty for [`ColumnHint::None`].
    pub fn text(self, caller: super::Caller) -> String {
        match self {
            Self::None => String::new(),
            Self::LinkHeader => "; a link file's header names the item and IRI columns, \
                                 separated by a tab, `,`, `;` or `|`: `item_id<TAB>iri`"
                .to_owned(),
            Self::SingleColumn => "; the header has a single column, so the delimiter read \
                                   does not separate its columns (without --delimiter, tab , ; \
                                   and | are tried): pass --delimiter with the one the file uses"
                .to_owned(),
            Self::LinkData => "; the first line looks like data, not a header: a link file \
                               starts with the line `item_id<TAB>iri`"
                .to_owned(),
            Self::Data => format!(
                "; the first line looks like data, not a header: pass --no-header (columns by \
                 position: user 1 and item 2 unless --user-col N, --item-col N say otherwise), \
                 or {} movielens for lines of `user item rating timestamp`",
                caller.format_flag()
            ),
        }
    }
}

/// The error of a header without a column `role` needs.
pub(crate) fn missing(
    role: &'static Role,
    fields: &[&str],
    file: &Path,
    line: usize,
) -> ParseError {
    let numeric = fields
        .iter()
        .all(|f| f.trim().parse::<f64>().is_ok() || f.trim().is_empty());
    let hint = if fields.len() == 1 && role.link {
        ColumnHint::LinkHeader
    } else if fields.len() == 1 {
        ColumnHint::SingleColumn
    } else if role.link && fields.iter().any(|f| f.contains("://")) {
        ColumnHint::LinkData
    } else if numeric && !role.link {
        ColumnHint::Data
    } else {
        ColumnHint::None
    };
    ParseError::MissingColumn {
        file: file.to_owned(),
        line,
        column: role.field,
        found: fields.join(", "),
        role,
        hint,
        caller: super::Caller::default(),
    }
}

/// The delimiter of a headed file whose header line is `header`: `given` if any; else
/// `default` when it splits the header; else the detected one that splits it into the most
/// fields; else `default`. Returns whether it was detected (differs from `default`).
pub(crate) fn delimiter(
    header: &str,
    given: Option<Delimiter>,
    default: Delimiter,
) -> (Delimiter, bool) {
    if let Some(d) = given {
        return (d, false);
    }
    let fields = |d: Delimiter| header.split(char::from(d.byte())).count();
    if fields(default) >= 2 {
        return (default, false);
    }
    let best = Delimiter::DETECTED
        .into_iter()
        .filter(|d| *d != default)
        .map(|d| (fields(d), d))
        .filter(|(n, _)| *n >= 2)
        .fold(None::<(usize, Delimiter)>, |best, (n, d)| match best {
            Some((m, _)) if m >= n => best,
            _ => Some((n, d)),
        });
    match best {
        Some((_, d)) => (d, true),
        None => (default, false),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn read(fields: &[&str], map: &ColumnMap) -> Result<Header, ParseError> {
        header(fields, map, Path::new("h.csv"), 1)
    }

    #[test]
    fn a_flag_taking_the_column_a_name_would_give_another_role_is_said() {
        let map = ColumnMap {
            rating: Some(ColumnRef::Index(2)),
            ..ColumnMap::default()
        };
        let e = read(&["member_id", "product_id", "stars"], &map).unwrap_err();
        assert!(
            e.to_string().contains(
                "column 2 (`product_id`) would be the item_id column, but --rating-col takes it"
            ),
            "{e}"
        );
    }

    #[test]
    fn names_compare_without_case_punctuation_or_types() {
        for f in [
            "user_id",
            "userId",
            "User ID",
            "user_id:token",
            "\"USER-ID\"",
        ] {
            assert_eq!(normalised(f), "userid", "{f}");
        }
    }

    #[test]
    fn aliases_find_the_columns_and_the_rest_is_ignored() {
        let h = read(&["customer_id", "sku", "quantity"], &ColumnMap::default()).unwrap();
        assert_eq!(
            h.columns,
            Columns {
                user: 0,
                item: 1,
                rating: None,
                timestamp: None,
                event: None
            }
        );
        assert_eq!(h.ignored, ["quantity"]);
        let h = read(
            &["Timestamp", "movieId", "Rating", "userId", ""],
            &ColumnMap::default(),
        )
        .unwrap();
        assert_eq!(
            h.columns,
            Columns {
                user: 3,
                item: 1,
                rating: Some(2),
                timestamp: Some(0),
                event: None
            }
        );
        assert_eq!(h.ignored, ["5 (unnamed)"]);
        // The better alias wins over the earlier column.
        let h = read(&["customer", "user_id", "item"], &ColumnMap::default()).unwrap();
        assert_eq!(
            (h.columns.user, h.ignored.clone()),
            (1, vec!["customer".to_owned()])
        );
    }

    #[test]
    fn flags_map_columns_by_name_or_position() {
        let map = ColumnMap {
            user: Some("who".parse().unwrap()),
            item: Some("2".parse().unwrap()),
            rating: Some("qty".parse().unwrap()),
            time: None,
            headerless: false,
            extra_fields_ignored: false,
            ..ColumnMap::default()
        };
        let h = read(&["who", "what", "qty", "when"], &map).unwrap();
        assert_eq!(
            h.columns,
            Columns {
                user: 0,
                item: 1,
                rating: Some(2),
                timestamp: None,
                event: None
            }
        );
        assert_eq!(h.ignored, ["when"]);
        // A flag takes the column from an alias: `user` is then free for nothing.
        let map = ColumnMap {
            item: Some("user".parse().unwrap()),
            user: Some("uid".parse().unwrap()),
            ..ColumnMap::default()
        };
        let h = read(&["uid", "user"], &map).unwrap();
        assert_eq!((h.columns.user, h.columns.item), (0, 1));
    }

    #[test]
    fn bad_flags_and_missing_columns_are_located() {
        let map = ColumnMap {
            user: Some("4".parse().unwrap()),
            ..ColumnMap::default()
        };
        let e = read(&["a", "item"], &map).unwrap_err();
        assert!(
            matches!(&e, ParseError::NoSuchColumn { flag: "--user-col", value, line: 1, .. } if value == "4"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "h.csv:1: --user-col 4: the header has no such column (found: a, item)"
        );
        let map = ColumnMap {
            user: Some("1".parse().unwrap()),
            item: Some("a".parse().unwrap()),
            ..ColumnMap::default()
        };
        let e = read(&["a", "b"], &map).unwrap_err();
        assert!(
            matches!(
                e,
                ParseError::SameColumn {
                    column: 1,
                    first: "--user-col",
                    second: "--item-col",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = read(&["who", "what", "qty"], &ColumnMap::default()).unwrap_err();
        let text = e.to_string();
        assert!(matches!(
            e,
            ParseError::MissingColumn {
                column: "user_id",
                ..
            }
        ));
        for needle in [
            "found: who, what, qty",
            "customer_id",
            "userId",
            "--user-col NAME|N",
        ] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
        let e = read(&["196", "242", "3", "881250949"], &ColumnMap::default()).unwrap_err();
        assert!(e.to_string().contains("--format movielens"), "{e}");
        let e = read(&["user_id item_id"], &ColumnMap::default()).unwrap_err();
        assert!(e.to_string().contains("--delimiter"), "{e}");
    }

    #[test]
    fn column_refs_and_delimiters_parse() {
        assert_eq!("3".parse::<ColumnRef>().unwrap(), ColumnRef::Index(3));
        assert_eq!(
            "sku".parse::<ColumnRef>().unwrap(),
            ColumnRef::Name("sku".into())
        );
        assert!("0".parse::<ColumnRef>().is_err());
        assert!(" ".parse::<ColumnRef>().is_err());
        assert_eq!("tab".parse::<Delimiter>().unwrap(), Delimiter::TAB);
        assert_eq!(";".parse::<Delimiter>().unwrap().byte(), b';');
        assert!("ab".parse::<Delimiter>().is_err());
        assert!("\"".parse::<Delimiter>().is_err());
    }

    #[test]
    fn delimiters_are_detected_from_the_header() {
        let d = |h: &str, default| delimiter(h, None, default);
        assert_eq!(d("user,item", Delimiter::COMMA), (Delimiter::COMMA, false));
        assert_eq!(d("user;item;rating", Delimiter::COMMA).0.byte(), b';');
        assert!(d("user;item;rating", Delimiter::COMMA).1);
        assert_eq!(d("user|item", Delimiter::TAB).0.byte(), b'|');
        assert_eq!(d("user\titem", Delimiter::COMMA), (Delimiter::TAB, true));
        assert_eq!(d("useritem", Delimiter::TAB), (Delimiter::TAB, false));
        assert_eq!(
            delimiter("a;b", Some(Delimiter::COMMA), Delimiter::TAB),
            (Delimiter::COMMA, false)
        );
    }
}
