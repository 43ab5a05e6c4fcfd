//! A list of item ids, one per line (`import links --retire FILE`, `--restore FILE`): `-` is
//! standard input, gzip is recognised. Blank lines are skipped and each line is trimmed; a first
//! line that is an item column's name (`item_id`, `sku`, ...) is a header and skipped (said in
//! [`ItemList::header`]). Ids are kept in file order, each once.

use std::collections::HashSet;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use super::{MAX_ID_BYTES, ParseError, columns, source};

/// The ids of an item list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemList {
    /// Distinct ids, in the order they were first read.
    pub items: Vec<String>,
    /// Lines that held an id (repeats included).
    pub read: usize,
    /// The first line, when it was taken as a header.
    pub header: Option<String>,
    /// The name of the file in messages (`<stdin>` for `-`).
    pub name: PathBuf,
}

/// Reads the item list at `path` to the end.
pub fn read_item_list(path: &Path) -> Result<ItemList, ParseError> {
    let source = source::open(path)?;
    let name = source.name.clone();
    read_item_lines(source.reader, &name)
}

/// Reads an item list from `reader` (named `name` in errors).
pub fn read_item_lines(reader: impl BufRead, name: &Path) -> Result<ItemList, ParseError> {
    let mut list = ItemList {
        name: name.to_owned(),
        ..ItemList::default()
    };
    let mut seen = HashSet::new();
    let mut first = true;
    for (n, line) in reader.split(b'\n').enumerate() {
        let number = n + 1;
        let bytes = line.map_err(|error| ParseError::Io {
            file: name.to_owned(),
            error,
        })?;
        let text = String::from_utf8(bytes).map_err(|_| ParseError::Malformed {
            file: name.to_owned(),
            line: number,
            message: "not valid UTF-8 (save the list as UTF-8)".to_owned(),
        })?;
        let id = text.trim_start_matches('\u{feff}').trim();
        if id.is_empty() {
            continue;
        }
        if std::mem::take(&mut first) && is_item_header(id) {
            list.header = Some(id.to_owned());
            continue;
        }
        if id.chars().any(char::is_control) {
            return Err(ParseError::ControlCharacter {
                file: name.to_owned(),
                line: number,
                column: 1,
                field: "item_id",
                value: id.to_owned(),
            });
        }
        if id.len() > MAX_ID_BYTES {
            return Err(ParseError::IdTooLong {
                file: name.to_owned(),
                line: number,
                column: 1,
                field: "item_id",
                header: None,
                bytes: id.len(),
                start: id.chars().take(40).collect(),
            });
        }
        list.read += 1;
        if seen.insert(id.to_owned()) {
            list.items.push(id.to_owned());
        }
    }
    if list.read == 0 {
        return Err(ParseError::Empty {
            file: name.to_owned(),
        });
    }
    Ok(list)
}

/// Whether `line` names an item column (as an interaction file's header would).
fn is_item_header(line: &str) -> bool {
    columns::ITEM
        .aliases
        .iter()
        .any(|a| a.eq_ignore_ascii_case(line))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<ItemList, ParseError> {
        read_item_lines(text.as_bytes(), Path::new("sold.txt"))
    }

    #[test]
    fn ids_in_order_once_with_a_header_skipped() {
        let list = read("item_id\r\n a1 \n\nb2\na1\n").unwrap();
        assert_eq!(list.items, vec!["a1", "b2"]);
        assert_eq!(list.read, 3);
        assert_eq!(list.header.as_deref(), Some("item_id"));
    }

    #[test]
    fn a_first_id_that_is_not_a_column_name_is_kept() {
        let list = read("a1\nitem_id\n").unwrap();
        assert_eq!(list.items, vec!["a1", "item_id"]);
        assert_eq!(list.header, None);
    }

    #[test]
    fn bad_lists_are_refused_with_their_line() {
        assert!(matches!(read("\n\n"), Err(ParseError::Empty { .. })));
        assert!(matches!(read("sku\n"), Err(ParseError::Empty { .. })));
        let err = read("a1\nb\u{7}2\n").unwrap_err();
        assert_eq!(err.line(), Some(2));
        let err = read_item_lines(&b"a1\n\xff\n"[..], Path::new("x")).unwrap_err();
        assert!(err.to_string().starts_with("x:2:"), "{err}");
    }
}
