//! Plain-words reasons for SPARQL queries that do not parse. oxigraph's parser reports what
//! token it expected where; the two mistakes people make most (a misspelt query form, a prefix
//! used without its `PREFIX` line) deserve a sentence that names them. These checks run only
//! after the parser refused a query, so a heuristic that is wrong costs a less precise message,
//! never a refused valid query.

/// Prefixes people use without declaring, with the IRI to declare.
const WELL_KNOWN: [(&str, &str); 10] = [
    ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("owl", "http://www.w3.org/2002/07/owl#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
    ("skos", "http://www.w3.org/2004/02/skos/core#"),
    ("foaf", "http://xmlns.com/foaf/0.1/"),
    ("schema", "http://schema.org/"),
    ("dbo", "http://dbpedia.org/ontology/"),
    ("dbr", "http://dbpedia.org/resource/"),
    ("dct", "http://purl.org/dc/terms/"),
];

const FORMS: [&str; 4] = ["SELECT", "ASK", "CONSTRUCT", "DESCRIBE"];

/// Whether the query holds nothing but whitespace and comments.
pub(crate) fn is_blank(query: &str) -> bool {
    query
        .lines()
        .map(str::trim)
        .all(|l| l.is_empty() || l.starts_with('#'))
}

/// ` (at line:column)` from the parser's message, when it gives one.
fn location(message: &str) -> String {
    let Some(at) = message.find("error at ") else {
        return String::new();
    };
    let rest = &message[at + "error at ".len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ':'))
        .unwrap_or(rest.len());
    let position = rest[..end].trim_end_matches(':');
    if position.is_empty() {
        String::new()
    } else {
        format!(" (at {position})")
    }
}

/// The message for a query the parser refused with `message`: the mistake in words with the
/// parser's position, or the parser's own message when no common mistake is recognised.
pub(crate) fn explain(query: &str, message: &str) -> String {
    let at = location(message);
    let words = words(query);
    let declared: Vec<String> = words
        .windows(2)
        .filter(|w| w[0].eq_ignore_ascii_case("PREFIX"))
        .filter_map(|w| w[1].strip_suffix(':').map(str::to_owned))
        .collect();
    if let Some(form) = first_form_word(&words)
        && !FORMS.iter().any(|f| f.eq_ignore_ascii_case(form))
        && form.chars().all(|c| c.is_ascii_alphabetic())
    {
        return format!(
            "SPARQL syntax error: unknown query form {form:?}{at}: a query starts with SELECT, ASK, CONSTRUCT or \
             DESCRIBE (after PREFIX and BASE declarations)"
        );
    }
    let mut undeclared: Vec<&str> = Vec::new();
    for w in &words {
        if let Some((prefix, local)) = w.split_once(':')
            && !prefix.is_empty()
            && prefix != "_"
            && !local.is_empty()
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            && prefix.starts_with(|c: char| c.is_ascii_alphabetic())
            && !declared.iter().any(|d| d == prefix)
            && !undeclared.contains(&prefix)
        {
            undeclared.push(prefix);
        }
    }
    if !undeclared.is_empty() {
        let hints: Vec<String> = undeclared
            .iter()
            .map(|p| match WELL_KNOWN.iter().find(|(name, _)| name == p) {
                Some((_, iri)) => format!("PREFIX {p}: <{iri}>"),
                None => format!("PREFIX {p}: <...>"),
            })
            .collect();
        return format!(
            "SPARQL syntax error: undeclared prefix{} {}{at}: declare {} before the query",
            if undeclared.len() == 1 { "" } else { "es" },
            undeclared
                .iter()
                .map(|p| format!("{p}:"))
                .collect::<Vec<_>>()
                .join(", "),
            hints.join(" and ")
        );
    }
    message.to_owned()
}

/// The query's words outside IRIs (`<...>`), strings and comments.
fn words(query: &str) -> Vec<&str> {
    fn push<'q>(query: &'q str, start: &mut Option<usize>, end: usize, out: &mut Vec<&'q str>) {
        if let Some(s) = start.take()
            && let Some(w) = query.get(s..end)
        {
            out.push(w);
        }
    }
    let mut out = Vec::new();
    let bytes = query.as_bytes();
    let mut i = 0;
    let mut start: Option<usize> = None;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'<' if bytes
                .get(i + 1)
                .is_some_and(|n| !n.is_ascii_whitespace() && *n != b'=') =>
            {
                push(query, &mut start, i, &mut out);
                while i < bytes.len() && bytes[i] != b'>' {
                    i += 1;
                }
            }
            b'"' | b'\'' => {
                push(query, &mut start, i, &mut out);
                i += 1;
                while i < bytes.len() && bytes[i] != c {
                    i += usize::from(bytes[i] == b'\\') + 1;
                }
            }
            b'#' => {
                push(query, &mut start, i, &mut out);
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            c if c.is_ascii_whitespace() || b"{}().,;".contains(&c) => {
                push(query, &mut start, i, &mut out);
            }
            _ => {
                if start.is_none() {
                    start = Some(i);
                }
            }
        }
        i += 1;
    }
    push(query, &mut start, bytes.len(), &mut out);
    out
}

/// The first word after the prologue (`PREFIX p: <...>` and `BASE <...>` declarations).
fn first_form_word<'a>(words: &[&'a str]) -> Option<&'a str> {
    let mut i = 0;
    while let Some(w) = words.get(i) {
        if w.eq_ignore_ascii_case("PREFIX") {
            i += 2;
        } else if w.eq_ignore_ascii_case("BASE") {
            i += 1;
        } else {
            return Some(w);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_queries_and_comments() {
        assert!(is_blank(""));
        assert!(is_blank("  \n# only a comment\n\t"));
        assert!(!is_blank("ASK {}"));
    }

    #[test]
    fn a_misspelt_form_is_named() {
        let m = explain(
            "SELEC ?s WHERE { ?s ?p ?o }",
            "SPARQL syntax error: error at 1:10: expected CONSTRUCT",
        );
        assert!(
            m.contains("unknown query form \"SELEC\" (at 1:10): "),
            "{m}"
        );
        assert!(!m.contains("expected CONSTRUCT"), "{m}");
        let m = explain("PREFIX a: <http://e/> BASE <http://b/> selec ?s {}", "X");
        assert!(m.contains("\"selec\""), "{m}");
    }

    #[test]
    fn undeclared_prefixes_are_named_with_their_declaration() {
        let m = explain(
            "SELECT ?f WHERE { ?f dbo:director dbr:John_Lasseter ; rdfs:label \"a:b\" }",
            "X",
        );
        assert!(m.contains("undeclared prefixes dbo:, dbr:, rdfs:"), "{m}");
        assert!(
            m.contains("PREFIX dbo: <http://dbpedia.org/ontology/>"),
            "{m}"
        );
        let m = explain(
            "PREFIX dbo: <http://dbpedia.org/ontology/> SELECT ?f { ?f dbo:x ex:y . <http://a:b> ?p _:b }",
            "X",
        );
        assert!(m.contains("undeclared prefix ex:"), "{m}");
        assert!(m.contains("PREFIX ex: <...>"), "{m}");
        // Nothing recognisable: the parser's own words.
        assert_eq!(explain("SELECT ?s WHERE { ?s ?p }", "X"), "X");
    }
}
