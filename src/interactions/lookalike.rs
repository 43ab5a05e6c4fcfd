//! Ids that look alike without being equal: `5` and `0005`, `café` composed and decomposed,
//! `Ａlice` (full-width) and `Alice`, `Ann@Example.com` and `ann@example.com` (letter case).
//! They stay distinct ids (no silent merge); an import names
//! them in a note, and an unknown id is answered with the stored one it looks like.

use std::borrow::Cow;
use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;

/// How many pairs a note names.
pub const SHOWN: usize = 3;

/// The form that ids looking alike share: Unicode NFKC (accents composed, full-width and other
/// compatibility forms as their plain letters), lower case and, for an id of digits only, no
/// leading zeros.
pub fn key(id: &str) -> Cow<'_, str> {
    let id: Cow<'_, str> = match id.is_ascii() {
        true if id.bytes().any(|b| b.is_ascii_uppercase()) => Cow::Owned(id.to_ascii_lowercase()),
        true => Cow::Borrowed(id),
        false => Cow::Owned(id.nfkc().collect::<String>().to_lowercase()),
    };
    if id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit()) {
        let trimmed = id.trim_start_matches('0');
        return Cow::Owned(if trimmed.is_empty() { "0" } else { trimmed }.to_owned());
    }
    id
}

/// Whether [`key`] may differ from the id itself.
fn may_differ(id: &str) -> bool {
    !id.is_ascii()
        || (id.len() > 1 && id.starts_with('0'))
        || id.bytes().any(|b| b.is_ascii_uppercase())
}

/// The ids of `names` after the first `stored` (those an import added) that look like another
/// id of `names` (stored, or added before them): how many, and the first [`SHOWN`] as `(added,
/// the one it looks like)`. `index` finds a name's position in `names`. One pass over the stored
/// names' non-ASCII, zero-led or upper-case ones, one over the added.
pub fn added_lookalikes(
    names: &[String],
    stored: usize,
    index: impl Fn(&str) -> Option<usize>,
) -> (u64, Vec<(String, String)>) {
    let mut keys: HashMap<Cow<'_, str>, &str> = names[..stored.min(names.len())]
        .iter()
        .filter(|n| may_differ(n))
        .map(|n| (key(n), n.as_str()))
        .collect();
    let (mut count, mut shown) = (0, Vec::new());
    for (at, name) in names.iter().enumerate().skip(stored) {
        let k = key(name);
        let other = keys
            .get(&k)
            .copied()
            .or_else(|| {
                // An earlier id that is its own key (`5`, `Alice`).
                index(&k)
                    .filter(|&i| i < at)
                    .and_then(|i| names.get(i))
                    .map(String::as_str)
            })
            .filter(|other| other != name);
        if let Some(other) = other {
            count += 1;
            if shown.len() < SHOWN {
                shown.push((name.clone(), other.to_owned()));
            }
        }
        keys.entry(k).or_insert(name.as_str());
    }
    (count, shown)
}

/// The first of `names` that looks like `id` without being it, if any.
pub fn lookalike<'a>(id: &str, names: &'a [String]) -> Option<&'a str> {
    let k = key(id);
    names
        .iter()
        .find(|n| n.as_str() != id && (may_differ(n) || may_differ(id)) && key(n) == k)
        .map(String::as_str)
}

/// Whether `id` looks like a number a spreadsheet shows (and then saves) in scientific
/// notation: `4,00638E+12`, `1.23457E+11`, `4E+12` — a long numeric id (an EAN, an account
/// number) whose digits past the sixth or so are gone, so that different ids may have become
/// one.
pub fn is_spreadsheet_number(id: &str) -> bool {
    let Some((mantissa, exponent)) = id.split_once(['E', 'e']) else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once(['.', ',']) {
        Some((whole, fraction)) => whole.len() == 1 && digits(whole) && digits(fraction),
        None => mantissa.len() == 1 && digits(mantissa),
    };
    let exponent_ok = exponent
        .strip_prefix(['+', '-'])
        .is_some_and(|e| digits(e) && e.len() <= 3);
    mantissa_ok && exponent_ok
}

/// The note of an import's added ids that look like others, `what` naming them ("user",
/// "item"); `None` when there is none.
pub fn note(what: &str, (count, shown): &(u64, Vec<(String, String)>)) -> Option<String> {
    let first = shown.first()?;
    let pairs: Vec<String> = shown
        .iter()
        .map(|(new, old)| format!("{new:?} beside {old:?}"))
        .collect();
    let more = count.saturating_sub(shown.len() as u64);
    Some(format!(
        "{count} new {what} id(s) differ from another only by leading zeros, letter case, \
         Unicode normalisation or character width ({}{}); they are kept apart as written, so if {:?} \
         and {:?} are one {what}, write the id one way in every file",
        pairs.join(", "),
        match more {
            0 => String::new(),
            n => format!(", and {n} more"),
        },
        first.0,
        first.1
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn spreadsheet_scientific_notation_is_recognised() {
        for id in ["4,00638E+12", "1.23457E+11", "4E+12", "9.9e-05"] {
            assert!(is_spreadsheet_number(id), "{id}");
        }
        for id in [
            "4006381333931",
            "E+12",
            "12E+3",
            "4,00638E12",
            "P1E+1",
            "1.2E+",
            "B12",
        ] {
            assert!(!is_spreadsheet_number(id), "{id}");
        }
    }

    #[test]
    fn keys_fold_zeros_normalisation_and_width() {
        assert_eq!(key("0005"), "5");
        assert_eq!(key("000"), "0");
        assert_eq!(key("0a5"), "0a5");
        assert_eq!(key("cafe\u{301}"), "caf\u{e9}");
        assert_eq!(key("\u{ff21}lice"), "alice");
        assert_eq!(key("Alice"), "alice");
        assert_eq!(key("Ann@Example.COM"), "ann@example.com");
        assert_eq!(key("\u{c9}MILE"), "\u{e9}mile");
        assert_eq!(key("u1"), "u1");
    }

    #[test]
    fn added_ids_that_look_like_stored_or_earlier_ones_are_found() {
        let all = names(&[
            "0005",
            "caf\u{e9}",
            "Alice",
            "5",
            "cafe\u{301}",
            "\u{ff21}lice",
            "u1",
            "07",
            "7",
        ]);
        let index = |n: &str| all.iter().position(|x| x == n);
        let (count, shown) = added_lookalikes(&all, 3, index);
        assert_eq!(count, 4, "{shown:?}");
        assert_eq!(shown[0], ("5".to_owned(), "0005".to_owned()));
        assert_eq!(shown[1], ("cafe\u{301}".to_owned(), "caf\u{e9}".to_owned()));
        assert_eq!(shown[2], ("\u{ff21}lice".to_owned(), "Alice".to_owned()));
        // None among ids that differ otherwise.
        let plain = names(&["u1", "u2", "10", "100"]);
        let index = |n: &str| plain.iter().position(|x| x == n);
        assert_eq!(added_lookalikes(&plain, 1, index).0, 0);
        let n = note("user", &(count, shown)).unwrap_or_default();
        assert!(n.starts_with("4 new user id(s) differ"), "{n}");
        assert!(n.contains("\"5\" beside \"0005\""), "{n}");
        assert!(n.contains(", and 1 more"), "{n}");
    }

    #[test]
    fn ids_that_differ_only_in_case_are_lookalikes_either_way_round() {
        // Stored lower case, added mixed; and stored mixed, added lower case.
        let all = names(&[
            "ann@example.com",
            "Bob@Example.com",
            "Ann@Example.com",
            "bob@example.com",
            "u1",
            "U2",
        ]);
        let index = |n: &str| all.iter().position(|x| x == n);
        let (count, shown) = added_lookalikes(&all, 2, index);
        assert_eq!(count, 2, "{shown:?}");
        assert_eq!(
            shown[0],
            ("Ann@Example.com".to_owned(), "ann@example.com".to_owned())
        );
        assert_eq!(
            shown[1],
            ("bob@example.com".to_owned(), "Bob@Example.com".to_owned())
        );
        let n = note("user", &(count, shown)).unwrap_or_default();
        assert!(n.contains("letter case"), "{n}");
    }

    #[test]
    fn an_unknown_id_finds_its_stored_lookalike() {
        let stored = names(&["0123", "Alice", "caf\u{e9}"]);
        assert_eq!(lookalike("123", &stored), Some("0123"));
        assert_eq!(lookalike("\u{ff21}lice", &stored), Some("Alice"));
        assert_eq!(lookalike("cafe\u{301}", &stored), Some("caf\u{e9}"));
        assert_eq!(lookalike("124", &stored), None);
        assert_eq!(lookalike("alice", &stored), Some("Alice"));
        assert_eq!(lookalike("CAF\u{c9}", &stored), Some("caf\u{e9}"));
        assert_eq!(lookalike("0123", &stored), None, "itself is no lookalike");
    }
}
