//! Ill-typed literals: a literal whose text is not in the lexical space of its XSD datatype
//! (`"20x1"^^xsd:gYear`, `"12.5"^^xsd:integer`). RDF allows them and the import keeps them as
//! written, but SPARQL compares none of them by value, so a `FILTER(?year > 1990)` skips them
//! silently: the import locates the first few and counts them.

use std::io::BufRead;
use std::path::Path;
use std::str::FromStr;

use oxigraph::model::{LiteralRef, TermRef};
use oxsdatatypes::{
    Boolean, Date, DateTime, DayTimeDuration, Double, Duration, Float, GDay, GMonth, GMonthDay,
    GYear, GYearMonth, Time, YearMonthDuration,
};

const XSD: &str = "http://www.w3.org/2001/XMLSchema#";

/// The lexical form and datatype of `term` when it is an ill-typed literal of an XSD datatype
/// kgrec knows; `None` for any other term (a literal of another datatype is never judged).
pub fn ill_typed(term: TermRef<'_>) -> Option<(String, String)> {
    let TermRef::Literal(literal) = term else {
        return None;
    };
    let local = literal.datatype().as_str().strip_prefix(XSD)?;
    let valid = valid_for(local, literal)?;
    (!valid).then(|| (literal.value().to_owned(), format!("xsd:{local}")))
}

/// Whether `literal`'s text is valid for the XSD datatype named `local`; `None` for a datatype
/// not checked (strings, IRIs...).
fn valid_for(local: &str, literal: LiteralRef<'_>) -> Option<bool> {
    let text = literal.value();
    fn parses<T: FromStr>(text: &str) -> bool {
        T::from_str(text).is_ok()
    }
    Some(match local {
        // Integers of any size are valid (a parse into 64 bits would refuse large ones).
        "integer" | "int" | "long" | "short" | "byte" | "nonNegativeInteger"
        | "nonPositiveInteger" | "negativeInteger" | "positiveInteger" | "unsignedLong"
        | "unsignedInt" | "unsignedShort" | "unsignedByte" => integer_syntax(text),
        "decimal" => decimal_syntax(text),
        "boolean" => parses::<Boolean>(text),
        "float" => float_syntax(text) && parses::<Float>(text),
        "double" => float_syntax(text) && parses::<Double>(text),
        "date" => parses::<Date>(text),
        "dateTime" => parses::<DateTime>(text),
        "time" => parses::<Time>(text),
        "gYear" => parses::<GYear>(text),
        "gYearMonth" => parses::<GYearMonth>(text),
        "gMonth" => parses::<GMonth>(text),
        "gDay" => parses::<GDay>(text),
        "gMonthDay" => parses::<GMonthDay>(text),
        "duration" => parses::<Duration>(text),
        "dayTimeDuration" => parses::<DayTimeDuration>(text),
        "yearMonthDuration" => parses::<YearMonthDuration>(text),
        _ => return None,
    })
}

/// `[+-]?[0-9]+`, xsd:integer's lexical space.
fn integer_syntax(text: &str) -> bool {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)`, xsd:decimal's lexical space.
fn decimal_syntax(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    (!whole.is_empty() || !fraction.is_empty()) && digits(whole) && digits(fraction)
}

/// xsd:float and xsd:double's lexical space: a decimal with an optional exponent, `INF`,
/// `-INF`, `+INF` or `NaN` (Rust's own parser also takes `inf` and `infinity`, which XSD does not).
fn float_syntax(text: &str) -> bool {
    if matches!(text, "INF" | "-INF" | "+INF" | "NaN") {
        return true;
    }
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (text, None),
    };
    decimal_syntax(mantissa) && exponent.is_none_or(integer_syntax)
}

/// Where the ill-typed literals `examples` (lexical form, datatype, in file order) are written
/// in `reader`'s lines: `(line, column)` of each one's opening quote, 1-based, columns in
/// characters; `None` for one not found as written (escapes, a long string).
pub fn locate(reader: impl BufRead, examples: &[(String, String)]) -> Vec<Option<(u64, u64)>> {
    let mut found = vec![None; examples.len()];
    let mut next = 0;
    for (n, line) in reader.lines().enumerate() {
        let Ok(line) = line else { break };
        let mut from = 0;
        while let Some((lexical, _)) = examples.get(next) {
            let at = ['"', '\''].iter().find_map(|q| {
                line[from..]
                    .find(&format!("{q}{lexical}{q}^^"))
                    .map(|i| from + i)
            });
            let Some(at) = at else { break };
            found[next] = Some((n as u64 + 1, line[..at].chars().count() as u64 + 1));
            from = at + lexical.len() + 2;
            next += 1;
        }
        if next == examples.len() {
            break;
        }
    }
    found
}

/// `"TEXT"^^xsd:TYPE` as written in messages.
pub fn shown(lexical: &str, datatype: &str) -> String {
    format!("{lexical:?}^^{datatype}")
}

/// The warning of a file with `count` ill-typed literals, `located` the first few as
/// `FILE:LINE:COL: "TEXT"^^xsd:TYPE` (or `FILE: ...` where not found).
pub fn warning(path: &Path, count: u64, located: &[String]) -> String {
    let mut text = format!(
        "warning: {}: {count} literal(s) whose text is not valid for their datatype; they are \
         imported as written (RDF allows it), but SPARQL FILTERs and ORDER BY that compare \
         values (FILTER(?o > 5), dates) will not match them: fix the text or the datatype",
        path.display()
    );
    for example in located {
        text.push_str("\n  ");
        text.push_str(example);
    }
    let unnamed = count.saturating_sub(located.len() as u64);
    if unnamed > 0 {
        text.push_str(&format!("\n  and {unnamed} more"));
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use oxigraph::model::{Literal, NamedNode};

    fn typed(text: &str, local: &str) -> Literal {
        Literal::new_typed_literal(text, NamedNode::new(format!("{XSD}{local}")).unwrap())
    }

    #[test]
    fn ill_typed_literals_are_found_and_valid_ones_are_not() {
        for (text, local) in [
            ("20x1", "gYear"),
            ("12.5", "integer"),
            ("", "int"),
            ("1,5", "decimal"),
            ("yes", "boolean"),
            ("inf", "double"),
            ("2020-13-01", "date"),
        ] {
            let l = typed(text, local);
            assert_eq!(
                ill_typed(TermRef::Literal(l.as_ref())),
                Some((text.to_owned(), format!("xsd:{local}"))),
                "{text} {local}"
            );
        }
        for (text, local) in [
            ("2001", "gYear"),
            ("-12", "integer"),
            ("123456789012345678901234567890", "integer"),
            (".5", "decimal"),
            ("true", "boolean"),
            ("1.5e3", "double"),
            ("-INF", "float"),
            ("2020-12-01", "date"),
            ("anything", "string"),
        ] {
            let l = typed(text, local);
            assert_eq!(
                ill_typed(TermRef::Literal(l.as_ref())),
                None,
                "{text} {local}"
            );
        }
        let plain = Literal::new_simple_literal("20x1");
        assert_eq!(ill_typed(TermRef::Literal(plain.as_ref())), None);
    }

    #[test]
    fn examples_are_located_in_file_order() {
        let text = "<a> <y> \"20x1\"^^<http://www.w3.org/2001/XMLSchema#gYear> .\n\
                    :b :y 'é' ; :n \"12.5\"^^xsd:integer , \"7x\"^^xsd:int .\n";
        let examples = [
            ("20x1".to_owned(), "xsd:gYear".to_owned()),
            ("12.5".to_owned(), "xsd:integer".to_owned()),
            ("7x".to_owned(), "xsd:int".to_owned()),
            ("gone".to_owned(), "xsd:int".to_owned()),
        ];
        assert_eq!(
            locate(text.as_bytes(), &examples),
            vec![Some((1, 9)), Some((2, 16)), Some((2, 38)), None]
        );
    }
}
