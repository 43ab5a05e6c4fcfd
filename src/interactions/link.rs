//! The link file (`item_id<TAB>iri` with a header) that ties interaction items to KG entities.
//! RecBole's `.link` (`item_id:token<TAB>entity_id:token`) is read by the same code. Like an
//! interaction file it may be `-` (standard input) or gzip-compressed; IRIs may be written bare or
//! in angle brackets as N-Triples writes them (`<http://...>`).

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use super::ParseError;
use super::columns::{self, LINK_IRI, LINK_ITEM};
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

/// Reads a link file (`-`: standard input; gzip by its magic bytes). Several items may share one
/// IRI; one item linked to two IRIs is an error naming both lines.
pub fn parse_link_file(path: &Path) -> Result<Vec<ItemLink>, ParseError> {
    let source = source::open(path)?;
    let name = source.name.clone();
    parse_links(source.reader, &name)
}

/// Reads link rows from `reader` (gzip by its magic bytes); `file` names the source in errors.
pub fn parse_link_reader<R: BufRead>(reader: R, file: &Path) -> Result<Vec<ItemLink>, ParseError> {
    let source = source::wrap(reader, file, None)?;
    parse_links(source.reader, file)
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

fn parse_links<R: BufRead>(reader: R, file: &Path) -> Result<Vec<ItemLink>, ParseError> {
    let mut lines = Lines::new(reader, file);
    let Some((header_line, header)) = lines.next_nonblank()? else {
        return Err(ParseError::Empty {
            file: file.to_owned(),
        });
    };
    let fields: Vec<&str> = header.split('\t').collect();
    let missing = |role| columns::missing(role, &fields, file, header_line);
    let item_col = columns::find(&fields, &LINK_ITEM).ok_or_else(|| missing(&LINK_ITEM))?;
    let iri_col = columns::find(&fields, &LINK_IRI).ok_or_else(|| missing(&LINK_IRI))?;

    let mut links = Vec::new();
    let mut seen: HashMap<String, (usize, usize)> = HashMap::new();
    while let Some((n, text)) = lines.next_nonblank()? {
        let fields: Vec<&str> = text.split('\t').collect();
        let get = |col: usize, field: &'static str| match fields.get(col) {
            None => Err(ParseError::MissingField {
                file: file.to_owned(),
                line: n,
                column: col + 1,
                field,
                found: fields.len(),
            }),
            Some(s) if s.trim().is_empty() => Err(ParseError::EmptyField {
                file: file.to_owned(),
                line: n,
                column: col + 1,
                field,
            }),
            Some(s) => Ok(*s),
        };
        let item = get(item_col, "item_id")?.to_owned();
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
            Some(iri) if iri.contains(|c: char| c.is_whitespace() || "\"{}|^`\\".contains(c)) => {
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
    Ok(links)
}
