//! The link file (`item_id<TAB>iri` with a header) that ties interaction items to KG entities.
//! RecBole's `.link` (`item_id:token<TAB>entity_id:token`) is read by the same code. Like an
//! interaction file it may be `-` (standard input) or gzip-compressed; IRIs may be written bare or
//! in angle brackets as N-Triples writes them (`<http://...>`).

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use super::ParseError;
use super::columns::{
    self, ColumnRef, Delimiter, LINK_IRI, LINK_ITEM, LINKED_IRI, LINKED_ITEM, LINKS_IRI,
    LINKS_ITEM, Role,
};
use super::parse::Lines;
use super::source;

/// One item's entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemLink {
    /// The external item id, as in the interaction file.
    pub item: String,
    /// The entity's IRI (or the data set's entity token), without angle brackets.
    pub iri: String,
}

/// A link file's links, and what its reader noticed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkFile {
    /// The links, in file order, one per item.
    pub links: Vec<ItemLink>,
    /// Header columns other than the item's and the IRI's, which nothing reads (names, or
    /// `N (unnamed)`), and the header's line.
    pub ignored_columns: (usize, Vec<String>),
    /// The item column's name when it is none of the accepted names (read as the item's
    /// because it is the only column beside the IRI's).
    pub item_column: Option<String>,
    /// Rows that repeat an earlier row's item and IRI (read once): how many, and the first's
    /// line, item and earlier line.
    pub repeated: Option<(usize, usize, String, usize)>,
}

impl LinkFile {
    /// The notes on how the header was read, naming `file`.
    pub fn notes(&self, file: &Path) -> Vec<String> {
        let named = self.item_column.as_ref().map(|name| {
            format!(
                "{}:{}: column `{name}` read as the item id (the one column beside the IRI's)",
                file.display(),
                self.ignored_columns.0
            )
        });
        let repeated = self.repeated.as_ref().map(|(n, line, item, earlier)| {
            format!(
                "{}:{line}: {n} row(s) repeat an earlier row's item and IRI (here item {item:?}, \
                 as on line {earlier}) and were read once: {} distinct link(s)",
                file.display(),
                self.links.len()
            )
        });
        named
            .into_iter()
            .chain(self.note(file))
            .chain(repeated)
            .collect()
    }

    /// The note on ignored columns, if any, naming `file`.
    pub fn note(&self, file: &Path) -> Option<String> {
        let (line, ignored) = &self.ignored_columns;
        let noun = match ignored.len() {
            0 => return None,
            1 => "column",
            _ => "columns",
        };
        Some(format!(
            "{}:{line}: {noun} {} ignored (a link file gives each item its IRI; other columns \
             are not read)",
            file.display(),
            ignored.join(", ")
        ))
    }
}

/// Which columns of a link file hold the item and the IRI, when the user says so, and the
/// flags that say it (in messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkColumns {
    /// The item column, by header name or 1-based position.
    pub item: Option<ColumnRef>,
    /// The IRI column, by header name or 1-based position.
    pub iri: Option<ColumnRef>,
    roles: (&'static Role, &'static Role),
}

impl Default for LinkColumns {
    /// Columns found by their names, by a command without link column flags.
    fn default() -> Self {
        Self {
            item: None,
            iri: None,
            roles: (&LINK_ITEM, &LINK_IRI),
        }
    }
}

impl LinkColumns {
    /// The columns `import links` names with `--item-col` and `--iri-col`.
    pub fn of_link_file(item: Option<ColumnRef>, iri: Option<ColumnRef>) -> Self {
        Self {
            item,
            iri,
            roles: (&LINKS_ITEM, &LINKS_IRI),
        }
    }

    /// The columns of the `--link` file beside an interaction file (`--link-item-col`,
    /// `--link-iri-col`).
    pub fn beside_interactions(item: Option<ColumnRef>, iri: Option<ColumnRef>) -> Self {
        Self {
            item,
            iri,
            roles: (&LINKED_ITEM, &LINKED_IRI),
        }
    }
}

/// Reads a link file (`-`: standard input; gzip by its magic bytes). Several items may share one
/// IRI; one item linked to two IRIs is an error naming both lines.
pub fn parse_link_file(path: &Path) -> Result<Vec<ItemLink>, ParseError> {
    read_link_file(path, &LinkColumns::default()).map(|f| f.links)
}

/// [`parse_link_file`] with the columns `columns` names, and what the reader noticed.
pub fn read_link_file(path: &Path, columns: &LinkColumns) -> Result<LinkFile, ParseError> {
    let mut source = source::open(path)?;
    let name = source.name.clone();
    // An RDF graph given as a link file would be read as a header and rows of nonsense.
    let sample = source.sample()?;
    if let Some(basis) = super::guess::rdf_graph(source.file_name.as_deref(), &sample) {
        return Err(ParseError::RdfLinkFile { file: name, basis });
    }
    parse_links(source.reader, &name, columns)
}

/// Reads link rows from `reader` (gzip by its magic bytes); `file` names the source in errors.
pub fn parse_link_reader<R: BufRead>(reader: R, file: &Path) -> Result<Vec<ItemLink>, ParseError> {
    let source = source::wrap(reader, file, None)?;
    parse_links(source.reader, file, &LinkColumns::default()).map(|f| f.links)
}

/// Whether `iri` starts with a scheme (`http:`, `urn:`, RFC 3986: a letter, then letters,
/// digits, `+`, `-` or `.`, then `:`).
fn has_scheme(iri: &str) -> bool {
    let Some((scheme, _)) = iri.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

/// Whether `text` holds none of the characters an IRI cannot (blanks, quotes, braces, `|`,
/// `^`, backquotes, backslashes).
fn is_iri_text(text: &str) -> bool {
    !text.contains(|c: char| c.is_whitespace() || "\"{}|^`\\".contains(c))
}

/// `<http://x>` → `http://x`; a bare IRI or token is returned as it is (surrounding blanks
/// removed). `None` for a bracket without its pair.
pub fn strip_angle_brackets(text: &str) -> Option<&str> {
    let t = text.trim();
    match (t.strip_prefix('<'), t.ends_with('>')) {
        (Some(inner), true) => inner.strip_suffix('>').map(str::trim),
        (None, false) => Some(t),
        _ => None,
    }
}

/// The fields of one line: split at tabs as they are, or read as a CSV record with
/// `delimiter` (quoted fields unquoted).
fn split_row(line: &str, delimiter: Delimiter) -> Vec<String> {
    if delimiter == Delimiter::TAB {
        return line.split('\t').map(str::to_owned).collect();
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter.byte())
        .from_reader(line.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => record.iter().map(str::to_owned).collect(),
        // Not UTF-8 cannot happen (`line` is a str); an empty line has no record.
        _ => line
            .split(char::from(delimiter.byte()))
            .map(str::to_owned)
            .collect(),
    }
}

fn parse_links<R: BufRead>(
    reader: R,
    file: &Path,
    columns: &LinkColumns,
) -> Result<LinkFile, ParseError> {
    let mut lines = Lines::new(reader, file);
    let Some((header_line, header)) = lines.next_nonblank()? else {
        return Err(ParseError::Empty {
            file: file.to_owned(),
        });
    };
    // Tab-separated, or the comma, semicolon or pipe that splits the header (quotes as in CSV).
    let (delimiter, _) = columns::delimiter(&header, None, Delimiter::TAB);
    let header_fields = split_row(&header, delimiter);
    let fields: Vec<&str> = header_fields.iter().map(String::as_str).collect();
    let missing = |role| columns::missing(role, &fields, file, header_line);
    let (item_role, iri_role) = columns.roles;
    let names: Vec<String> = fields.iter().map(|f| columns::normalised(f)).collect();
    // A column a flag names: by its header name or position.
    let given = |r: &Option<ColumnRef>, role: &Role| match (r, role.flag) {
        (Some(r), Some(flag)) => {
            columns::by_ref(&fields, &names, r, flag, (file, header_line)).map(Some)
        }
        _ => Ok(None),
    };
    let given_item = given(&columns.item, item_role)?;
    let iri_col = match given(&columns.iri, iri_role)? {
        Some(col) => col,
        None => columns::find(&fields, iri_role)
            .filter(|col| Some(*col) != given_item)
            .ok_or_else(|| missing(iri_role))?,
    };
    // Two columns, one of them the IRI's: the other is the item's, whatever its name (the
    // interaction file's own, `article`, `sku`...), and the note says so.
    let (item_col, item_named) = match given_item
        .or_else(|| columns::find(&fields, item_role).filter(|col| *col != iri_col))
    {
        Some(col) => (col, None),
        None if fields.len() == 2 => {
            let col = 1 - iri_col;
            (col, Some(fields[col].trim().to_owned()))
        }
        None => return Err(missing(item_role)),
    };
    if item_col == iri_col {
        return Err(ParseError::SameColumn {
            file: file.to_owned(),
            line: header_line,
            column: item_col + 1,
            first: item_role.flag.unwrap_or(item_role.field),
            second: iri_role.flag.unwrap_or(iri_role.field),
        });
    }
    let ignored: Vec<String> = fields
        .iter()
        .enumerate()
        .filter(|&(k, _)| k != item_col && k != iri_col)
        .map(|(k, name)| match name.trim() {
            "" => format!("{} (unnamed)", k + 1),
            name => name.to_owned(),
        })
        .collect();

    let mut links = Vec::new();
    let mut seen: HashMap<String, (usize, usize)> = HashMap::new();
    let mut repeated: Option<(usize, usize, String, usize)> = None;
    let width = fields.len();
    while let Some((n, text)) = lines.next_nonblank()? {
        let mut row = split_row(&text, delimiter);
        // An IRI with the delimiter in it, unquoted, in the last column: the rest of the line
        // (`…/Crouching_Tiger,_Hidden_Dragon` in a comma-separated file).
        if delimiter != Delimiter::TAB && row.len() > width && iri_col + 1 == width {
            let rest = row
                .split_off(iri_col)
                .join(&char::from(delimiter.byte()).to_string());
            row.push(rest);
        }
        let fields: Vec<&str> = row.iter().map(String::as_str).collect();
        let get =
            |col: usize, field: &'static str| super::parse::required(&fields, col, field, file, n);
        let item = super::parse::required_id(&fields, item_col, "item_id", file, n)
            .map_err(|e| super::parse::with_column_name(e, &header_fields))?
            .to_owned();
        let iri = match strip_angle_brackets(get(iri_col, "iri")?.trim()) {
            None => {
                return Err(ParseError::Malformed {
                    file: file.to_owned(),
                    line: n,
                    message: format!(
                        "column {}: an IRI with an unpaired angle bracket: {:?}",
                        iri_col + 1,
                        fields[iri_col]
                    ),
                });
            }
            Some("") => {
                return Err(ParseError::EmptyField {
                    file: file.to_owned(),
                    line: n,
                    column: iri_col + 1,
                    field: "iri",
                });
            }
            // A token of a TSV graph with blanks in it (`blade runner`): the IRI its import
            // minted. Quotes, braces and the like stay refused: more likely a mistyped IRI.
            Some(token)
                if !has_scheme(token)
                    && token.contains(' ')
                    && is_iri_text(&token.replace(' ', "")) =>
            {
                kgrec_kg::source::tsv_token_iri(kgrec_kg::source::DEFAULT_TSV_BASE, token)
            }
            Some(iri) if !is_iri_text(iri) => {
                return Err(ParseError::Malformed {
                    file: file.to_owned(),
                    line: n,
                    message: format!(
                        "column {}: {iri:?} is not an IRI (an IRI holds no spaces, quotes, braces, \
                         `|`, `^`, backquotes or backslashes; write such characters \
                         percent-encoded)",
                        iri_col + 1
                    ),
                });
            }
            // `news/a/4`: a path, which no graph entity is named by (a TSV graph's tokens
            // hold no `/`; the graph importer refuses relative IRIs too).
            Some(iri) if !has_scheme(iri) && iri.contains(['/', '#']) => {
                return Err(ParseError::Malformed {
                    file: file.to_owned(),
                    line: n,
                    message: format!(
                        "column {}: {iri:?} is a relative IRI (it has no scheme such as \
                         `http:`): write the entity's IRI in full, as the graph names it",
                        iri_col + 1
                    ),
                });
            }
            Some(iri) => iri.to_owned(),
        };
        if let Some(&(line, idx)) = seen.get(&item) {
            let earlier: &ItemLink = &links[idx];
            if earlier.iri != iri {
                return Err(ParseError::Malformed {
                    file: file.to_owned(),
                    line: n,
                    message: format!(
                        "item {item:?} is linked to <{iri}> here and to <{}> on line {line}; an \
                         item has one IRI",
                        earlier.iri
                    ),
                });
            }
            repeated.get_or_insert((0, n, item.clone(), line)).0 += 1;
            continue;
        }
        seen.insert(item.clone(), (n, links.len()));
        links.push(ItemLink { item, iri });
    }
    if links.is_empty() {
        return Err(ParseError::HeaderOnly {
            file: file.to_owned(),
            line: header_line,
        });
    }
    Ok(LinkFile {
        links,
        ignored_columns: (header_line, ignored),
        item_column: item_named,
        repeated,
    })
}
