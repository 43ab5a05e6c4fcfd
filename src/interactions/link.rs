//! The link file (`item_id<TAB>iri` with a header) that ties interaction items to KG entities.
//! RecBole's `.link` (`item_id:token<TAB>entity_id:token`) is read by the same code.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::ParseError;
use super::parse::{Lines, column_name, find_column};

/// One item's entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemLink {
    /// The external item id, as in the interaction file.
    pub item: String,
    /// The entity's IRI (or the data set's entity token).
    pub iri: String,
}

/// Reads a link file. Several items may share one IRI; one item linked to two IRIs is an error.
pub fn parse_link_file(path: &Path) -> Result<Vec<ItemLink>, ParseError> {
    let file = File::open(path).map_err(|source| ParseError::Io {
        file: path.to_owned(),
        source,
    })?;
    parse_link_reader(BufReader::new(file), path)
}

/// Reads link rows from `reader`; `file` names the source in errors.
pub fn parse_link_reader<R: BufRead>(reader: R, file: &Path) -> Result<Vec<ItemLink>, ParseError> {
    let mut lines = Lines::new(reader, file);
    let Some((header_line, header)) = lines.next_nonblank()? else {
        return Err(ParseError::Empty {
            file: file.to_owned(),
        });
    };
    let fields: Vec<&str> = header.split('\t').collect();
    let names: Vec<String> = fields.iter().map(|f| column_name(f)).collect();
    let missing = |column| ParseError::MissingColumn {
        file: file.to_owned(),
        line: header_line,
        column,
        found: fields.join(", "),
    };
    let item_col = find_column(&names, &["item_id", "item"]).ok_or_else(|| missing("item_id"))?;
    let iri_col = find_column(&names, &["iri", "entity_id", "entity", "uri"])
        .ok_or_else(|| missing("iri"))?;

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
            Some(s) => Ok((*s).to_owned()),
        };
        let item = get(item_col, "item_id")?;
        let iri = get(iri_col, "iri")?;
        if let Some(&(line, idx)) = seen.get(&item) {
            let earlier: &ItemLink = &links[idx];
            if earlier.iri != iri {
                return Err(ParseError::Malformed {
                    file: file.to_owned(),
                    line: n,
                    message: format!(
                        "item {item:?} is linked to {iri:?} here and to {:?} on line {line}",
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
