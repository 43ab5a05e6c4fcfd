//! A list of ids in one text, as `recommend --exclude` and HTTP `exclude=` take it: comma
//! separated, with CSV quoting for an id that holds a comma (`a,"https://x.org/d?ids=1,2",b`;
//! `""` inside quotes is one `"`). Entries come back as written, blank ones included: the
//! caller refuses them (the command line) or drops them (HTTP).

/// The ids of `text` (see the module).
pub fn split_id_list(text: &str) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut ids = Vec::new();
    // Ids hold no line break (an import refuses control characters), so one record is the
    // list; a later record can only come from a line break in the text: its ids count too.
    for record in reader.records() {
        match record {
            Ok(record) => ids.extend(record.iter().map(str::to_owned)),
            // A record the CSV reader cannot read (not UTF-8 cannot occur in a &str): the
            // text split plainly.
            Err(_) => {
                return text.split(',').map(str::to_owned).collect();
            }
        }
    }
    ids
}

/// `text` as one entry of such a list: quoted when it holds a comma or a quote.
pub fn quote_id(id: &str) -> String {
    match id.contains([',', '"']) {
        true => format!("\"{}\"", id.replace('"', "\"\"")),
        false => id.to_owned(),
    }
}

/// `word` as one word a POSIX shell reads back unchanged, for a hint's command to paste: as
/// it is when it holds only letters, digits and `_ - . / : , + = @ %`, else in single quotes
/// (a `'` inside written `'\''`): `Bewertung (1-10)` → `'Bewertung (1-10)'`.
pub fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_alphanumeric() || "_-./:,+=@%".contains(c);
    match !word.is_empty() && word.chars().all(plain) && !word.starts_with('-') {
        true => word.to_owned(),
        false => format!("'{}'", word.replace('\'', "'\\''")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shell_words_are_quoted_when_a_shell_would_read_them() {
        assert_eq!(shell_word("play_seconds"), "play_seconds");
        assert_eq!(shell_word("дата"), "дата");
        assert_eq!(shell_word("Bewertung (1-10)"), "'Bewertung (1-10)'");
        assert_eq!(shell_word("it's $x"), "'it'\\''s $x'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn commas_split_and_quotes_keep_an_id_whole() {
        assert_eq!(split_id_list("a,b"), ["a", "b"]);
        assert_eq!(split_id_list("a, ,b,"), ["a", " ", "b", ""]);
        assert_eq!(
            split_id_list("a,\"https://x.org/d?ids=1,2\",b"),
            ["a", "https://x.org/d?ids=1,2", "b"]
        );
        assert_eq!(split_id_list("\"say \"\"hi\"\"\""), ["say \"hi\""]);
        assert!(split_id_list("").is_empty());
        assert_eq!(split_id_list(","), ["", ""]);
    }

    proptest! {
        /// Any ids without control characters or surrounding blanks, quoted as needed and
        /// joined by commas, split back to themselves.
        #[test]
        fn quoted_ids_split_back(ids in proptest::collection::vec("[^\\p{Cc}\\s]([^\\p{Cc}]*[^\\p{Cc}\\s])?", 1..6)) {
            // The CSV reader drops a byte-order mark at the start of its input.
            prop_assume!(!ids[0].starts_with('\u{feff}'));
            let text = ids.iter().map(|i| quote_id(i)).collect::<Vec<_>>().join(",");
            prop_assert_eq!(split_id_list(&text), ids);
        }
    }
}
