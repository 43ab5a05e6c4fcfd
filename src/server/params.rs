//! Query strings and path segments, checked: an unknown or repeated parameter, a number out of
//! range or an over-long id is a `400` that names it, never silently ignored.

use std::ops::RangeInclusive;

use super::error::ApiError;

/// The longest user or item id accepted, in bytes: the limit of every import too.
pub use kgrec::interactions::MAX_ID_BYTES;

/// Most items of one recommendation page (`k`).
pub const MAX_K: usize = 1000;

/// Most items of an explained page (explanations search paths for every item).
pub const MAX_EXPLAINED_K: usize = 100;

/// The deepest page start (`offset`).
pub const MAX_OFFSET: usize = 10_000;

/// Most `filter=` conditions of one request.
pub const MAX_FILTERS: usize = 16;

/// Most values of one `filter=` condition (`PREDICATE=V1|V2|...`).
pub const MAX_FILTER_VALUES: usize = 64;

/// A parsed query string.
#[derive(Debug, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses `raw` (`a=1&b=2`, percent-decoded); refuses names not in `allowed` and, except
    /// for those in `repeatable`, names given twice.
    pub fn parse(
        raw: Option<&str>,
        allowed: &[&str],
        repeatable: &[&str],
    ) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        for (n, (name, _)) in pairs.iter().enumerate() {
            if !allowed.contains(&name.as_str()) {
                return Err(ApiError::bad_parameter(format!(
                    "unknown query parameter {name:?} (this route takes: {})",
                    if allowed.is_empty() {
                        "none".to_owned()
                    } else {
                        allowed.join(", ")
                    }
                )));
            }
            if !repeatable.contains(&name.as_str()) && pairs[..n].iter().any(|(k, _)| k == name) {
                return Err(ApiError::bad_parameter(format!(
                    "query parameter {name:?} is given more than once"
                )));
            }
        }
        Ok(Self { pairs })
    }

    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `name` is given.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A whole number in `range`, or `default` when absent.
    pub fn number(
        &self,
        name: &str,
        default: usize,
        range: RangeInclusive<usize>,
    ) -> Result<usize, ApiError> {
        let Some(text) = self.get(name) else {
            return Ok(default);
        };
        let out_of_range = || {
            ApiError::bad_parameter(format!(
                "{name}={text}: expected a whole number from {} to {}",
                range.start(),
                range.end()
            ))
        };
        let value: usize = text.trim().parse().map_err(|_| out_of_range())?;
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(out_of_range())
        }
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`, in any letter case), or `default`
    /// when absent.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        let Some(given) = self.get(name).map(str::trim) else {
            return Ok(default);
        };
        match given.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(ApiError::bad_parameter(format!(
                "{name}={given}: expected true or false (or 1/0, yes/no, on/off)"
            ))),
        }
    }

    /// Every value of every `name` parameter, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The ids of the `name` parameters: one parameter is a comma-separated list (an id that
    /// holds a comma in double quotes, `exclude=a,"b,c"`:
    /// [`kgrec::interactions::split_id_list`]); repeated, each names one id as it is
    /// (`exclude=a&exclude=b,c`). Trimmed, empty ones dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        let values: Vec<&str> = self
            .pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect();
        let ids = match values.as_slice() {
            [one] => kgrec::interactions::split_id_list(one),
            many => many.iter().map(|v| (*v).to_owned()).collect(),
        };
        ids.iter()
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// Refuses an empty or over-long user or item id (`what` names it in the message).
pub fn check_id(what: &str, id: &str) -> Result<(), ApiError> {
    // White space alone is no id, as a file import says of an empty field.
    if id.trim().is_empty() {
        return Err(ApiError::bad_parameter(format!(
            "the id of the {what} is {}",
            match id.is_empty() {
                true => "empty",
                false => "white space only",
            }
        )));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(ApiError::bad_parameter(format!(
            "the id of the {what} is {} bytes long; ids are at most {MAX_ID_BYTES} bytes",
            id.len()
        )));
    }
    // As an empty id: the same code for every id no import could have stored.
    if id.chars().any(char::is_control) {
        return Err(ApiError::bad_parameter(format!(
            "the id of the {what} {id:?} holds a control character; no id holds one (imports \
             refuse them)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn flags_take_the_usual_spellings_in_any_case() {
        for (given, want) in [
            ("TRUE", true),
            ("On", true),
            ("yes", true),
            ("1", true),
            ("False", false),
            ("OFF", false),
            ("no", false),
            ("0", false),
        ] {
            let text = format!("explain={given}");
            let q = Query::parse(Some(&text), &["explain"], &[]).unwrap();
            assert_eq!(q.flag("explain", !want).unwrap(), want, "{given}");
        }
        let q = Query::parse(Some("explain=maybe"), &["explain"], &[]).unwrap();
        let err = q.flag("explain", false).unwrap_err();
        assert!(
            err.message
                .contains("explain=maybe: expected true or false"),
            "{}",
            err.message
        );
    }

    #[test]
    fn parameters_are_checked() {
        let q = Query::parse(
            Some("k=5&exclude=a,b&exclude=c&explain=true"),
            &["k", "exclude", "explain"],
            &["exclude"],
        )
        .unwrap();
        assert_eq!(q.number("k", 10, 1..=1000).unwrap(), 5);
        assert_eq!(q.number("offset", 0, 0..=10).unwrap(), 0);
        assert!(q.flag("explain", false).unwrap());
        // Repeated, each parameter is one id; alone, a list with CSV quoting.
        assert_eq!(q.list("exclude"), ["a,b", "c"]);
        let q = Query::parse(Some("exclude=a,%22b,c%22"), &["exclude"], &["exclude"]).unwrap();
        assert_eq!(q.list("exclude"), ["a", "b,c"]);

        let err = Query::parse(Some("kk=5"), &["k"], &[]).unwrap_err();
        assert!(
            err.message.contains("unknown query parameter \"kk\""),
            "{}",
            err.message
        );
        let err = Query::parse(Some("k=5&k=6"), &["k"], &[]).unwrap_err();
        assert!(err.message.contains("more than once"), "{}", err.message);
        for bad in [
            "k=-1",
            "k=0",
            "k=1001",
            "k=ten",
            "k=99999999999999999999999",
        ] {
            let q = Query::parse(Some(bad), &["k"], &[]).unwrap();
            let err = q.number("k", 10, 1..=1000).unwrap_err();
            assert!(
                err.message.contains("from 1 to 1000"),
                "{bad}: {}",
                err.message
            );
        }
        let q = Query::parse(Some("explain=maybe"), &["explain"], &[]).unwrap();
        assert!(q.flag("explain", false).is_err());
    }

    #[test]
    fn ids_are_bounded() {
        assert!(check_id("user", "196").is_ok());
        assert!(check_id("user", "").is_err());
        let long = "x".repeat(MAX_ID_BYTES + 1);
        let err = check_id("item", &long).unwrap_err();
        assert!(err.message.contains("at most 512 bytes"), "{}", err.message);
    }
}
