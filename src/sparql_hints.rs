//! Plain-words reasons for SPARQL queries that do not parse. oxigraph's parser reports what
//! token it expected where its furthest attempt failed, often past the mistake; the mistakes
//! people make most (a misspelt query form or keyword, a prefix used without its `PREFIX` line,
//! `GROUP`/`ORDER` without `BY`) deserve a sentence that names them, located where they are.
//! These checks run only after the parser refused a query, so a heuristic that is wrong costs a
//! less precise message, never a refused valid query.

/// Prefixes people use without declaring, with the IRI to declare.
/// The prefixes a query may use undeclared in a hint: the ones `--filter` knows built in, so
/// the hint gives the IRI `--filter` would read (wd:, wdt:, dbc: included).
const WELL_KNOWN: &[(&str, &str)] = &kgrec_kg::filter::PREFIXES;

const FORMS: [&str; 4] = ["SELECT", "ASK", "CONSTRUCT", "DESCRIBE"];

/// The IRIs a query names, each once in order of first use, datatypes left out: what a query
/// that found nothing may have misspelt. Empty for a query that does not parse.
pub(crate) fn named_iris(query: &str) -> Vec<String> {
    let Ok(parsed) = spargebra::SparqlParser::new().parse_query(query) else {
        return Vec::new();
    };
    // The parsed query written back has every prefixed name expanded to `<IRI>`.
    let text = parsed.to_string();
    let mut iris: Vec<String> = Vec::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find('<') {
        let datatype = rest[..start].ends_with("^^");
        let after = &rest[start + 1..];
        // An IRI holds no whitespace; `?x < 3` is a comparison.
        match after.find(|c: char| c == '>' || c.is_whitespace()) {
            Some(end) if after[end..].starts_with('>') => {
                let iri = &after[..end];
                if !datatype && iri.contains(':') && !iris.iter().any(|known| known == iri) {
                    iris.push(iri.to_owned());
                }
                rest = &after[end + 1..];
            }
            _ => rest = after,
        }
    }
    iris
}

/// Whether a query names graphs (`GRAPH`, `FROM`, `FROM NAMED`): an IRI of it that the store
/// lacks may be a graph's name. False for a query that does not parse.
pub(crate) fn names_graphs(query: &str) -> bool {
    let Ok(parsed) = spargebra::SparqlParser::new().parse_query(query) else {
        return false;
    };
    // Written back, keywords are upper case; IRIs (`<...>`) and strings are skipped.
    let text = parsed.to_string();
    let mut word = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '<' if chars.peek().is_some_and(|n| !n.is_whitespace()) => {
                for c in chars.by_ref() {
                    if c == '>' {
                        break;
                    }
                }
            }
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            c if c.is_ascii_alphabetic() => {
                word.push(c);
                continue;
            }
            _ => {}
        }
        if word == "GRAPH" || word == "FROM" {
            return true;
        }
        word.clear();
    }
    word == "GRAPH" || word == "FROM"
}

/// The plain string literals a query compares with (no language tag, no datatype), each once
/// in order of first use: a graph that holds them only with a language tag (`"Toy Story"@en`)
/// matches none of them. Empty for a query that does not parse.
pub(crate) fn plain_literals(query: &str) -> Vec<String> {
    let Ok(parsed) = spargebra::SparqlParser::new().parse_query(query) else {
        return Vec::new();
    };
    // Written back, every literal is `"..."` with escapes, then `@tag`, `^^<type>` or nothing.
    let text = parsed.to_string();
    let mut found: Vec<String> = Vec::new();
    let mut chars = text.chars().peekable();
    let mut in_iri = false;
    while let Some(c) = chars.next() {
        match c {
            '<' if !in_iri => in_iri = chars.peek().is_some_and(|n| !n.is_whitespace()),
            '>' if in_iri => in_iri = false,
            '"' if !in_iri => {
                let mut value = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => match chars.next() {
                            Some('n') => value.push('\n'),
                            Some('t') => value.push('\t'),
                            Some('r') => value.push('\r'),
                            Some(other) => value.push(other),
                            None => {}
                        },
                        '"' => break,
                        other => value.push(other),
                    }
                }
                let plain = !matches!(chars.peek(), Some('@' | '^'));
                if plain && !value.is_empty() && !found.contains(&value) {
                    found.push(value);
                }
            }
            _ => {}
        }
    }
    found
}

/// The candidate nearest to `iri` by edit distance, if it is close (a typo or two, at most a
/// tenth of its length).
pub(crate) fn nearest_iri<'a>(
    iri: &str,
    candidates: impl IntoIterator<Item = &'a String>,
) -> Option<(usize, &'a String)> {
    let most = (iri.chars().count() / 10).max(2);
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(iri, c), c))
        .filter(|(d, _)| *d <= most)
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
}

/// Whether the query holds nothing but whitespace and comments.
pub(crate) fn is_blank(query: &str) -> bool {
    query
        .lines()
        .map(str::trim)
        .all(|l| l.is_empty() || l.starts_with('#'))
}

/// What RDF syntax a text that did not parse as a query seems to be written in: a data file
/// given where a query goes (`sparql --file news.ttl`). RDF/XML by its `<?xml` or `<rdf:RDF`
/// start, Turtle by an `@prefix`/`@base` line, N-Triples (or Turtle) by a first statement
/// that starts with an IRI or a blank node, which no query does, and Turtle by a first
/// statement (after `PREFIX` lines, which Turtle also allows) that is a prefixed name ending
/// in `.`, `;` or `,`.
pub(crate) fn rdf_data_kind(text: &str) -> Option<&'static str> {
    let lines: Vec<&str> = text
        .trim_start_matches('\u{feff}')
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .take(1000)
        .collect();
    let first = lines.first()?;
    if first.starts_with("<?xml") || first.starts_with("<rdf:RDF") {
        return Some("RDF/XML");
    }
    let declaration = |l: &str, word: &str| {
        l.get(..word.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(word))
            && l[word.len()..].starts_with(char::is_whitespace)
    };
    if lines
        .iter()
        .any(|l| declaration(l, "@prefix") || declaration(l, "@base"))
    {
        return Some("Turtle");
    }
    let statement = lines
        .iter()
        .find(|l| !declaration(l, "PREFIX") && !declaration(l, "BASE"))?;
    let word = statement.split_whitespace().next()?;
    if statement.starts_with('<') || statement.starts_with("_:") {
        return Some(match lines.len() > 1 && declaration(first, "PREFIX") {
            true => "Turtle",
            false => "N-Triples or Turtle",
        });
    }
    let prefixed = word
        .split_once(':')
        .is_some_and(|(p, _)| p.chars().all(|c| c.is_alphanumeric() || "_-.".contains(c)));
    if prefixed && statement.ends_with(['.', ';', ',']) {
        return Some("Turtle");
    }
    None
}

/// Every word SPARQL spells out (spargebra's grammar, any case), for telling a misspelt
/// keyword from one the query may use.
const KEYWORDS: &[&str] = &[
    "a",
    "ABS",
    "ADD",
    "ADJUST",
    "ALL",
    "AS",
    "ASC",
    "ASK",
    "AVG",
    "BASE",
    "BIND",
    "BNODE",
    "BOUND",
    "BY",
    "CEIL",
    "CLEAR",
    "COALESCE",
    "CONCAT",
    "CONSTRUCT",
    "CONTAINS",
    "COPY",
    "COUNT",
    "CREATE",
    "DATA",
    "DATATYPE",
    "DAY",
    "DEFAULT",
    "DELETE",
    "DESC",
    "DESCRIBE",
    "DISTINCT",
    "DROP",
    "ENCODE_FOR_URI",
    "EXISTS",
    "false",
    "FILTER",
    "FLOOR",
    "FROM",
    "GRAPH",
    "GROUP",
    "GROUP_CONCAT",
    "hasLang",
    "hasLangDir",
    "HAVING",
    "HOURS",
    "IF",
    "IN",
    "INSERT",
    "INTO",
    "IRI",
    "isBLANK",
    "isIRI",
    "isLITERAL",
    "isNUMERIC",
    "isTriple",
    "isURI",
    "LANG",
    "LANGDIR",
    "LANGMATCHES",
    "LATERAL",
    "LCASE",
    "LIMIT",
    "LOAD",
    "MAX",
    "MD5",
    "MIN",
    "MINUS",
    "MINUTES",
    "MONTH",
    "MOVE",
    "NAMED",
    "NOT",
    "NOW",
    "OBJECT",
    "OFFSET",
    "OPTIONAL",
    "ORDER",
    "PREDICATE",
    "PREFIX",
    "RAND",
    "REDUCED",
    "REGEX",
    "REPLACE",
    "ROUND",
    "sameTerm",
    "SAMPLE",
    "SECONDS",
    "SELECT",
    "SEPARATOR",
    "SERVICE",
    "SHA1",
    "SHA256",
    "SHA384",
    "SHA512",
    "SILENT",
    "STR",
    "STRAFTER",
    "STRBEFORE",
    "STRDT",
    "STRENDS",
    "STRLANG",
    "STRLANGDIR",
    "STRLEN",
    "STRSTARTS",
    "STRUUID",
    "SUBJECT",
    "SUBSTR",
    "SUM",
    "TIMEZONE",
    "TO",
    "TRIPLE",
    "true",
    "TZ",
    "UCASE",
    "UNDEF",
    "UNION",
    "URI",
    "USING",
    "UUID",
    "VALUES",
    "VERSION",
    "WHERE",
    "WITH",
    "YEAR",
];

/// `line:column` of byte `offset` in `query`, both 1-based, columns in characters (as the
/// parser counts them).
fn position(query: &str, offset: usize) -> String {
    let before = query.get(..offset).unwrap_or(query);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("{line}:{column}")
}

/// The message for a query the parser refused with `message`: the mistake in words, located
/// where it is in the query, or the parser's own message when no common mistake is recognised.
///
/// The parser's position is where its furthest attempt failed, which for a misspelt word is
/// often past it (`LIMT` at 1:30 was reported at 1:36); a mistake found here is located by
/// its own offset. The earliest mistake in the text wins, as it is the one that stopped the
/// parser.
pub(crate) fn explain(query: &str, message: &str) -> String {
    if let Some(kind) = rdf_data_kind(query) {
        return format!(
            "this looks like RDF data ({kind}), not a SPARQL query: `kgrec import kg FILE` \
             imports such a file"
        );
    }
    let words = words(query);
    let declared: Vec<&str> = words
        .windows(2)
        .filter(|w| w[0].1.eq_ignore_ascii_case("PREFIX"))
        .filter_map(|w| w[1].1.strip_suffix(':'))
        .collect();
    let mut mistakes: Vec<(usize, String)> = Vec::new();
    if let Some((offset, form)) = first_form_word(&words)
        && !FORMS.iter().any(|f| f.eq_ignore_ascii_case(form))
        && form.chars().all(|c| c.is_ascii_alphabetic())
    {
        let meant = match nearest_form(form) {
            Some(meant) => format!("did you mean {meant}? "),
            None => String::new(),
        };
        mistakes.push((
            offset,
            format!(
                "unknown query form {form:?} (at {}): {meant}a query starts with SELECT, ASK, \
                 CONSTRUCT or DESCRIBE (after PREFIX and BASE declarations)",
                position(query, offset)
            ),
        ));
    }
    let mut undeclared: Vec<(usize, &str)> = Vec::new();
    for &(offset, w) in &words {
        let name = w.trim_start_matches(['^', '!']);
        let offset = offset + (w.len() - name.len());
        if let Some((prefix, local)) = name.split_once(':')
            && !prefix.is_empty()
            && prefix != "_"
            && !local.is_empty()
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            && prefix.starts_with(|c: char| c.is_ascii_alphabetic())
            && !declared.contains(&prefix)
            && !undeclared.iter().any(|(_, p)| *p == prefix)
        {
            undeclared.push((offset, prefix));
        }
    }
    if let Some(&(first, _)) = undeclared.first() {
        let hints: Vec<String> = undeclared
            .iter()
            .map(|(_, p)| {
                match WELL_KNOWN
                    .iter()
                    .chain(&kgrec_kg::filter::USUAL_ELSEWHERE)
                    .find(|(name, _)| name == p)
                {
                    Some((_, iri)) => format!("PREFIX {p}: <{iri}>"),
                    None => format!("PREFIX {p}: <...>"),
                }
            })
            .collect();
        mistakes.push((
            first,
            format!(
                "undeclared prefix{} {} (at {}): declare {} before the query",
                if undeclared.len() == 1 { "" } else { "es" },
                undeclared
                    .iter()
                    .map(|(_, p)| format!("{p}:"))
                    .collect::<Vec<_>>()
                    .join(", "),
                position(query, first),
                hints.join(" and ")
            ),
        ));
    }
    if let Some(&(offset, word)) = words.iter().find(|(offset, w)| {
        Some(*offset) != first_form_word(&words).map(|(o, _)| o) && is_unknown_word(w)
    }) {
        let bare = word.trim_start_matches('!');
        let (offset, word) = (offset + (word.len() - bare.len()), bare);
        let advice = match nearest_keyword(word) {
            Some(keyword) => format!("did you mean {keyword}?"),
            None => "not a SPARQL keyword (IRIs are written <...> or prefix:name, variables \
                     ?name, strings \"...\")"
                .to_owned(),
        };
        mistakes.push((
            offset,
            format!(
                "unknown word {word:?} (at {}): {advice}",
                position(query, offset)
            ),
        ));
    }
    // `GROUP` and `ORDER` without `BY`: the parser locates the missing word after the next.
    for pair in words.windows(2) {
        let (keyword, (next, after)) = (pair[0].1, pair[1]);
        if (keyword.eq_ignore_ascii_case("GROUP") || keyword.eq_ignore_ascii_case("ORDER"))
            && !after.eq_ignore_ascii_case("BY")
        {
            mistakes.push((
                next,
                format!(
                    "{} must be followed by BY (at {})",
                    keyword.to_ascii_uppercase(),
                    position(query, next)
                ),
            ));
        }
    }
    // A bracket left open makes any count of a pattern's terms a guess.
    match mismatched_bracket(query) {
        Some(mistake) => mistakes.push(mistake),
        None => mistakes.extend(short_triple(query, message)),
    }
    mistakes.extend(unclosed_iri_or_missing_operand(query));
    mistakes.extend(rebound_variable(query));
    mistakes.extend(missing_dot(query));
    mistakes.extend(ungrouped_selected(query, message));
    match mistakes.into_iter().min_by_key(|(offset, _)| *offset) {
        Some((_, words)) => format!("SPARQL syntax error: {words}"),
        None => plain_syntax_error(query, message).unwrap_or_else(|| message.to_owned()),
    }
}

/// The parser's "expected one of ..." (a list of keywords and character classes that says
/// little) in words: where it stopped, what it found there, and an open bracket or quote when
/// the query ended inside one.
fn plain_syntax_error(query: &str, message: &str) -> Option<String> {
    if !message.contains("expected") {
        return None;
    }
    if let Some(rule) = broken_rule(message) {
        return Some(rule);
    }
    let offset = parser_offset(query, message)?;
    let at = position(query, offset);
    let rest = query.get(offset..)?.trim_start();
    let found = if rest.is_empty() {
        "the query ends there".to_owned()
    } else {
        let token: String = rest
            .chars()
            .take_while(|c| !c.is_whitespace())
            .take(30)
            .collect();
        // A misspelt keyword where the parser stopped (`FILTR(?o)`): the keyword it means.
        let word: String = token
            .trim_start_matches('!')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        match misspelt_keyword(&word) {
            Some(meant) => format!("unexpected `{token}` (did you mean {meant}?)"),
            None => format!("unexpected `{token}`"),
        }
    };
    let unclosed = match brackets(query) {
        Brackets::Mismatch {
            closer,
            open: Some((o, _)),
            ..
        } => {
            return Some(format!(
                "SPARQL syntax error at {at}: {found}; a `{closer}` comes while a `{o}` is still \
                 open"
            ));
        }
        Brackets::Mismatch {
            closer, open: None, ..
        } => {
            return Some(format!(
                "SPARQL syntax error at {at}: {found}; a `{closer}` closes nothing that is open"
            ));
        }
        Brackets::InString(q) => format!("; a string opened with {q} is not closed"),
        Brackets::Unclosed(Some(c)) => format!("; a `{c}` is not closed"),
        Brackets::Unclosed(None) => String::new(),
    };
    let previous = query
        .get(..offset)
        .and_then(|b| b.split_whitespace().last())
        .unwrap_or("");
    let number = match previous.to_ascii_uppercase().as_str() {
        "LIMIT" | "OFFSET" => format!(" ({previous} takes a whole number of 0 or more)"),
        _ => String::new(),
    };
    Some(format!(
        "SPARQL syntax error at {at}: {found}{number}{unclosed}"
    ))
}

/// The parser's sentences for a query that reads well but breaks a rule (a variable selected or
/// bound twice), with what each means. The parser reports them where it stopped reading the part
/// they concern, often the end of the query, which is not where the mistake is: said in words,
/// without a position.
const BROKEN_RULES: [(&str, &str); 6] = [
    (
        "Duplicated variable name in SELECT",
        "SELECT names a variable twice: name each once",
    ),
    (
        "BIND is overriding an existing variable",
        "a BIND gives a value to a variable that the patterns before it in the same group \
         already bind (or an earlier BIND): bind a new variable, BIND(... AS ?other)",
    ),
    (
        "Repeated variables are not allowed in VALUES clauses",
        "VALUES names a variable twice: name each once",
    ),
    (
        "VALUES clause rows should have exactly the same number of values",
        "a VALUES row has more or fewer values than VALUES names variables (write UNDEF for \
         a value left unset)",
    ),
    (
        "SELECT * is not authorized with GROUP BY",
        "SELECT * cannot go with GROUP BY: select the grouped variables and aggregates by name",
    ),
    (
        "The SELECT contains a variable that is unbound",
        "with GROUP BY, SELECT may name only grouped variables and aggregates (COUNT, SUM, \
         SAMPLE...) of the others",
    ),
];

/// A `BIND(... AS ?x)` whose variable the group already binds before it (the parser says only
/// "expected [_]" at the end of the query): located at the BIND.
fn rebound_variable(query: &str) -> Option<(usize, String)> {
    let upper = query.to_ascii_uppercase();
    let name_char = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(found) = upper.get(from..).and_then(|rest| rest.find("BIND")) {
        let at = from + found;
        from = at + 4;
        let Some(close) = query.get(at..).and_then(|rest| rest.find(')')) else {
            continue;
        };
        let inside = &upper[at..at + close];
        let Some(alias) = inside.rfind(" AS ") else {
            continue;
        };
        let variable = query[at + alias + 4..at + close].trim();
        let name = variable.trim_start_matches(['?', '$']);
        if name.len() == variable.len() || name.is_empty() || !name.chars().all(name_char) {
            continue;
        }
        let group = query[..at].rfind('{').unwrap_or(0);
        let before = &query[group..at];
        let bound = before.match_indices(name).any(|(i, _)| {
            before[..i].ends_with(['?', '$']) && !before[i + name.len()..].starts_with(name_char)
        });
        if bound {
            return Some((
                at,
                format!(
                    "BIND at {} gives a value to ?{name}, which the group already binds before \
                     it (a pattern or an earlier BIND): bind a new variable, BIND(... AS ?other)",
                    position(query, at)
                ),
            ));
        }
    }
    None
}

/// The query broke one of [`BROKEN_RULES`]: the message, without "the query ends there".
fn broken_rule(message: &str) -> Option<String> {
    let (said, meaning) = BROKEN_RULES
        .iter()
        .find(|(said, _)| message.contains(said))?;
    Some(format!(
        "SPARQL error: {meaning} (the parser's words: \"{said}\")"
    ))
}

/// Variables a SELECT lists that nothing in the query binds (no pattern, BIND, VALUES or `AS`
/// names them): their columns come back empty, which reads like data missing rather than a
/// typo. Each with the query's nearest variable when one is a letter or two away.
pub(crate) fn unbound_selected(query: &str) -> Vec<(String, Option<String>)> {
    let words = words(query);
    let Some(select) = words
        .iter()
        .position(|(_, w)| w.eq_ignore_ascii_case("SELECT"))
    else {
        return Vec::new();
    };
    let body = words[select..]
        .iter()
        .position(|(_, w)| w.eq_ignore_ascii_case("WHERE"))
        .map(|p| p + select)
        .or_else(|| {
            // `SELECT ?x { ... }`: the projection ends where the braces begin.
            let brace = query.get(words[select].0..)?.find('{')? + words[select].0;
            words.iter().position(|(o, _)| *o > brace)
        });
    let Some(body) = body else {
        return Vec::new();
    };
    let var = |w: &str| {
        let name = w.trim_start_matches(['?', '$']);
        (name.len() < w.len() && !name.is_empty()).then(|| name.to_owned())
    };
    // A variable inside an expression of the projection (`(SUM(?x) AS ?t)`) is read there,
    // not selected.
    let depth = |offset: usize| -> i64 {
        query.get(..offset).map_or(0, |before| {
            before.matches('(').count() as i64 - before.matches(')').count() as i64
        })
    };
    let selected: Vec<String> = words[select + 1..body]
        .iter()
        .filter(|(offset, _)| depth(*offset) <= 0)
        .filter_map(|(_, w)| var(w))
        .collect();
    // Aliases (`(COUNT(?x) AS ?n)`) are bound by the projection itself.
    let aliases: Vec<String> = words[select + 1..body]
        .windows(2)
        .filter(|p| p[0].1.eq_ignore_ascii_case("AS"))
        .filter_map(|p| var(p[1].1))
        .collect();
    let used: Vec<String> = words[body..].iter().filter_map(|(_, w)| var(w)).collect();
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for name in selected {
        if aliases.contains(&name) || used.contains(&name) || out.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let near = used
            .iter()
            .filter(|u| !selected_contains(&words[select + 1..body], u))
            .map(|u| (strsim::osa_distance(&name, u), u))
            .filter(|(d, _)| *d <= 2)
            .min_by_key(|(d, _)| *d)
            .map(|(_, u)| u.clone());
        out.push((name, near));
    }
    out
}

fn selected_contains(projection: &[(usize, &str)], name: &str) -> bool {
    projection
        .iter()
        .any(|(_, w)| w.trim_start_matches(['?', '$']) == name)
}

/// A variable selected beside an aggregate or a `GROUP BY` that neither groups by it nor
/// aggregates it, which the parser refuses with "The SELECT contains a variable that is
/// unbound" at the end of the query (where nothing is wrong).
fn ungrouped_selected(query: &str, message: &str) -> Option<(usize, String)> {
    // A variable selected as it is, or one used in a selected expression (`(STR(?t) AS ?s)`).
    let in_expression = message.contains("The SELECT contains an expression with a variable");
    if !message.contains("The SELECT contains a variable that is unbound") && !in_expression {
        return None;
    }
    let words = words(query);
    let braces: Vec<(usize, bool)> = tokens(query)
        .into_iter()
        .filter_map(|(o, _)| match query.as_bytes()[o] {
            b'{' => Some((o, true)),
            b'}' => Some((o, false)),
            _ => None,
        })
        .collect();
    let var = |w: &str| w.starts_with(['?', '$']).then(|| w[1..].to_owned());
    let upper = |w: &str| w.to_ascii_uppercase();
    for &(select, _) in words.iter().filter(|(_, w)| upper(w) == "SELECT") {
        let Some(first) = braces.iter().position(|&(o, _)| o > select) else {
            continue;
        };
        // The `}` that closes the WHERE block, then the one that closes a sub-SELECT (or the
        // end of the query): the solution modifiers are between.
        let mut depth = 0i64;
        let mut close = None;
        let mut end = query.len();
        for &(o, opens) in &braces[first..] {
            depth += if opens { 1 } else { -1 };
            if depth == 0 && close.is_none() {
                close = Some(o);
            } else if depth < 0 {
                end = o;
                break;
            }
        }
        let Some(close) = close else {
            continue;
        };
        let open = braces[first].0;
        let depth_at = |offset: usize| -> i64 {
            query.get(select..offset).map_or(0, |between| {
                between.matches('(').count() as i64 - between.matches(')').count() as i64
            })
        };
        let projection: Vec<&str> = words
            .iter()
            .filter(|(o, _)| *o > select && *o < open)
            .map(|(_, w)| *w)
            .collect();
        let aggregate = projection
            .iter()
            .any(|w| AGGREGATES.contains(&upper(w).as_str()));
        let modifiers: Vec<(usize, &str)> = words
            .iter()
            .filter(|(o, _)| *o > close && *o < end)
            .copied()
            .collect();
        let group = modifiers
            .windows(2)
            .position(|p| upper(p[0].1) == "GROUP" && upper(p[1].1) == "BY");
        let clause: Vec<(usize, &str)> = group.map_or(Vec::new(), |g| {
            modifiers[g + 2..]
                .iter()
                .take_while(|(_, w)| {
                    !["HAVING", "ORDER", "LIMIT", "OFFSET", "VALUES"].contains(&upper(w).as_str())
                })
                .copied()
                .collect()
        });
        let grouped: Vec<String> = clause.iter().filter_map(|(_, w)| var(w)).collect();
        let aliases: Vec<String> = projection
            .windows(2)
            .filter(|p| upper(p[0]) == "AS")
            .filter_map(|p| var(p[1]))
            .collect();
        if group.is_none() && !aggregate {
            continue;
        }
        let Some((at, name)) = words
            .iter()
            .filter(|(o, _)| {
                *o > select
                    && *o < open
                    && match in_expression {
                        false => depth_at(*o) <= 0,
                        true => depth_at(*o) > 0 && !inside_aggregate(query, select, *o),
                    }
            })
            .filter_map(|(o, w)| var(w).map(|v| (*o, v)))
            .find(|(_, v)| !grouped.contains(v) && !aliases.contains(v))
        else {
            continue;
        };
        if in_expression {
            let grouping = match (clause.first(), clause.last()) {
                (Some(&(from, _)), Some(&(last, w))) => format!(
                    " (GROUP BY {})",
                    query.get(from..last + w.len()).unwrap_or("").trim()
                ),
                _ => " (an aggregate beside it makes one group of all solutions)".to_owned(),
            };
            return Some((
                at,
                format!(
                    "?{name} is used in a selected expression (at {}) but is neither grouped nor \
                     aggregated{grouping}: add ?{name} to GROUP BY, or aggregate it inside the \
                     expression, such as SAMPLE(?{name}) in place of ?{name}",
                    position(query, at)
                ),
            ));
        }
        let instead = format!(
            "or select an aggregate of it instead, such as (SAMPLE(?{name}) AS ?any_{name}) or \
             (COUNT(?{name}) AS ?n_{name})"
        );
        let said = match (clause.first(), clause.last()) {
            (Some(&(from, _)), Some(&(last, w))) => format!(
                "?{name} is selected (at {}) but neither grouped nor aggregated (GROUP BY {}): \
                 add it to GROUP BY, {instead}",
                position(query, at),
                query.get(from..last + w.len()).unwrap_or("").trim(),
            ),
            _ => format!(
                "?{name} is selected (at {}) beside an aggregate, which makes one group of all \
                 solutions, but is not aggregated: add GROUP BY ?{name} after the WHERE block, \
                 {instead}",
                position(query, at)
            ),
        };
        return Some((at, said));
    }
    None
}

/// SPARQL's aggregate functions.
const AGGREGATES: [&str; 7] = [
    "COUNT",
    "SUM",
    "MIN",
    "MAX",
    "AVG",
    "SAMPLE",
    "GROUP_CONCAT",
];

/// Whether the term at `offset` lies inside the brackets of an aggregate call (`COUNT(`,
/// `SAMPLE(`, ...) opened after `select`.
fn inside_aggregate(query: &str, select: usize, offset: usize) -> bool {
    let Some(between) = query.get(select..offset) else {
        return false;
    };
    let mut open: Vec<bool> = Vec::new();
    for (i, c) in between.char_indices() {
        match c {
            '(' => {
                let before = between[..i].trim_end();
                let name_start = before
                    .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(0, |p| p + 1);
                let name = before[name_start..].to_ascii_uppercase();
                open.push(AGGREGATES.contains(&name.as_str()));
            }
            ')' => {
                open.pop();
            }
            _ => {}
        }
    }
    open.contains(&true)
}

/// The byte offset of the parser's `at LINE:COLUMN` in `message`.
fn parser_offset(query: &str, message: &str) -> Option<usize> {
    let at = message.find(" at ")? + 4;
    let (line, rest) = message[at..].split_once(':')?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let (line, column) = (line.parse::<usize>().ok()?, column.parse::<usize>().ok()?);
    let start: usize = query
        .split_inclusive('\n')
        .take(line.checked_sub(1)?)
        .map(str::len)
        .sum();
    let tail = query.get(start..)?;
    // The column just past the last character is the end of the query.
    let in_line = tail
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(tail.len()))
        .nth(column.checked_sub(1)?)?;
    Some(start + in_line)
}

/// How the query's brackets (`{}`, `()`, `[]`, outside strings and comments) pair up.
enum Brackets {
    /// A closing bracket at byte `at` that does not close the innermost open one (`open`, with
    /// its offset), or closes nothing.
    Mismatch {
        closer: char,
        at: usize,
        open: Option<(char, usize)>,
    },
    /// The query ends inside a string opened with this quote.
    InString(char),
    /// The query ends with this bracket innermost open, or none.
    Unclosed(Option<char>),
}

fn brackets(query: &str) -> Brackets {
    let mut open: Vec<(char, usize)> = Vec::new();
    let mut in_string = None;
    let mut chars = query.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (in_string, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => in_string = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => in_string = Some(c),
            // An IRI (`<http://e/a#b>`): its `#` starts no comment, its brackets pair nothing.
            (None, '<') if iri_length(&query[i..]).is_some() => {
                let length = iri_length(&query[i..]).unwrap_or(1);
                while chars.next_if(|&(j, _)| j < i + length).is_some() {}
            }
            (None, '{' | '(' | '[') => open.push((c, i)),
            (None, '}' | ')' | ']') => {
                let opener = match c {
                    '}' => '{',
                    ')' => '(',
                    _ => '[',
                };
                match open.last() {
                    Some(&(o, _)) if o == opener => {
                        open.pop();
                    }
                    last => {
                        return Brackets::Mismatch {
                            closer: c,
                            at: i,
                            open: last.copied(),
                        };
                    }
                }
            }
            (None, '#') => {
                // A comment runs to the end of its line.
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    match in_string {
        Some(q) => Brackets::InString(q),
        None => Brackets::Unclosed(open.last().map(|&(c, _)| c)),
    }
}

/// A closing bracket that comes while another is open (`FILTER(regex(?o, "a") }`): located at
/// the bracket left open, which the parser's position (at the `}` or past it) does not name.
fn mismatched_bracket(query: &str) -> Option<(usize, String)> {
    let Brackets::Mismatch {
        closer,
        at,
        open: Some((opener, from)),
    } = brackets(query)
    else {
        return None;
    };
    let wanted = match opener {
        '{' => '}',
        '(' => ')',
        _ => ']',
    };
    Some((
        from,
        format!(
            "the `{opener}` opened at {} is not closed: a `{closer}` comes (at {}) while it is \
             open; add a `{wanted}` before it",
            position(query, from),
            position(query, at)
        ),
    ))
}

/// A triple pattern of one or two terms where the parser stopped at its end (`{ ?x ?y }`):
/// the parser lists what could come next, which does not say that the object is missing. The
/// parser's position is at the `}` or `.` that ends the pattern or just past it.
fn short_triple(query: &str, message: &str) -> Option<(usize, String)> {
    let reported = parser_offset(query, message)
        .unwrap_or(query.len())
        .min(query.len());
    // The `}` or `.` at or just before the reported position.
    let end = query
        .get(..(reported + 1).min(query.len()))?
        .trim_end()
        .char_indices()
        .next_back()
        .filter(|&(_, c)| c == '}' || c == '.')?
        .0;
    // A `.` just before a `}` ends the pattern: the pattern is before the `.`.
    let mut before = query.get(..end)?.trim_end();
    if query[end..].starts_with('}') && before.ends_with('.') {
        before = &before[..before.len() - 1];
    }
    // The pattern starts after the last `{`, or after a `.` that ends a triple (followed by a
    // blank: not the dot of a number or a prefixed name); IRIs hold neither blanks nor `{`.
    let start = before
        .char_indices()
        .filter(|&(i, c)| {
            c == '{'
                || (c == '.'
                    && before[i + 1..].starts_with(char::is_whitespace)
                    && !before[..i].ends_with(|p: char| p.is_ascii_digit()))
        })
        .map(|(i, _)| i + 1)
        .next_back()?;
    let terms = before[start..].split_whitespace().count();
    let missing = match terms {
        1 => "its predicate and object",
        2 => "its object",
        _ => return None,
    };
    let at = start + before[start..].trim_end().len();
    Some((
        at,
        format!(
            "a triple pattern is subject, predicate and object; the one ending at {} has {terms} \
             term{}: add {missing}",
            position(query, at),
            if terms == 1 { "" } else { "s" }
        ),
    ))
}

/// The query's tokens as byte ranges, for counting the terms of triple patterns: `{`, `}`,
/// `.`, `;`, `,`, `)` and `]` alone, anything else up to a blank or one of those, an IRI, a
/// string (with `"""`), a `(...)` or `[...]` (a collection, a blank node with its properties,
/// a function's arguments) each read whole inside its token. Comments are left out.
fn tokens(query: &str) -> Vec<(usize, usize)> {
    let bytes = query.as_bytes();
    let name_char = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'#' {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
        } else if b"{}.;,)]".contains(&c) {
            out.push((i, i + 1));
            i += 1;
        } else {
            let start = i;
            let mut nested = 0usize;
            while i < bytes.len() {
                let c = bytes[i];
                if let Some(length) = query.get(i..).and_then(iri_length) {
                    i += length;
                    continue;
                }
                match c {
                    b'"' | b'\'' => {
                        let long = bytes.get(i..i + 3) == Some(&[c, c, c][..]);
                        i += if long { 3 } else { 1 };
                        while i < bytes.len() {
                            if bytes[i] == b'\\' {
                                i += 2;
                            } else if bytes[i] == c
                                && (!long || bytes.get(i..i + 3) == Some(&[c, c, c][..]))
                            {
                                i += if long { 3 } else { 1 };
                                break;
                            } else {
                                i += 1;
                            }
                        }
                        continue;
                    }
                    // A quoted triple `<< ?s ?p ?o >>` is one term too.
                    b'<' if bytes.get(i + 1) == Some(&b'<') => {
                        nested += 1;
                        i += 1;
                    }
                    b'>' if nested > 0 && bytes.get(i + 1) == Some(&b'>') => {
                        nested -= 1;
                        i += 1;
                    }
                    b'(' | b'[' => nested += 1,
                    b')' | b']' if nested > 0 => nested -= 1,
                    b'#' if nested == 0 => break,
                    // A `.` between digits or inside a prefixed name (`ex:a.b`) ends nothing.
                    b'.' if nested == 0
                        && !(i > start
                            && bytes.get(i + 1).is_some_and(|&n| name_char(n))
                            && (bytes[i - 1].is_ascii_digit()
                                || query[start..i].contains(':') && name_char(bytes[i - 1]))) =>
                    {
                        break;
                    }
                    _ if nested == 0 && (c.is_ascii_whitespace() || b"{}.;,)]".contains(&c)) => {
                        break;
                    }
                    _ => {}
                }
                i += 1;
            }
            let end = i.min(bytes.len());
            out.push((start, end));
        }
    }
    out
}

/// Four terms in a row in a group pattern (`{ ?t o:genre ?g ?t o:label ?l }`): the `.` that
/// ends a triple pattern is missing, which the parser reports further on, inside the next
/// pattern. Lists (`;`, `,`), paths written with blanks (`o:p / o:q`, `o:p *`), datatypes and
/// language tags after a blank, and the blocks that need no `.` around them (FILTER, BIND,
/// OPTIONAL, MINUS, UNION, GRAPH, SERVICE, VALUES, sub-SELECTs) are read as such.
fn missing_dot(query: &str) -> Option<(usize, String)> {
    let tokens = tokens(query);
    let text = |t: (usize, usize)| query.get(t.0..t.1).unwrap_or("");
    let word = |t: (usize, usize)| {
        let w = text(t);
        w.split('(').next().unwrap_or(w).to_ascii_uppercase()
    };
    // The index just past the `}` that closes the `{` at `open`.
    let past_block = |open: usize| {
        let mut depth = 0usize;
        for (k, &t) in tokens.iter().enumerate().skip(open) {
            match text(t) {
                "{" => depth += 1,
                "}" => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return k + 1;
                    }
                }
                _ => {}
            }
        }
        tokens.len()
    };
    let mut depth = 0usize;
    // Terms of the current triple pattern so far (a `;` leaves the subject, a `,` the
    // subject and predicate), and the last.
    let mut terms = 0usize;
    let mut last: Option<(usize, usize)> = None;
    let mut k = 0;
    while let Some(&t) = tokens.get(k) {
        k += 1;
        let w = text(t);
        match w {
            "{" => {
                // A sub-SELECT's projection is no triple pattern.
                if tokens.get(k).is_some_and(|&n| word(n) == "SELECT") {
                    k = past_block(k - 1);
                } else {
                    depth += 1;
                }
                terms = 0;
                continue;
            }
            "}" | "." | ")" | "]" | ";" | "," => {
                terms = match w {
                    ";" => terms.min(1),
                    "," => terms.min(2),
                    _ => 0,
                };
                if w == "}" {
                    depth = depth.saturating_sub(1);
                }
                last = None;
                continue;
            }
            _ => {}
        }
        match word(t).as_str() {
            "VALUES" => {
                // Its data block: `{ (1 2) (3 4) }`, no patterns.
                while tokens.get(k).is_some_and(|&n| text(n) != "{") {
                    k += 1;
                }
                k = past_block(k);
                terms = 0;
                continue;
            }
            "FILTER" | "BIND" => {
                // Its expression, when not read with it: `FILTER regex(...)`, `BIND (...)`.
                if !w.contains('(')
                    && tokens
                        .get(k)
                        .is_some_and(|&n| !matches!(word(n).as_str(), "NOT" | "EXISTS"))
                {
                    k += 1;
                }
                terms = 0;
                continue;
            }
            "GRAPH" | "SERVICE" => {
                while tokens.get(k).is_some_and(|&n| text(n) != "{") {
                    k += 1;
                }
                terms = 0;
                continue;
            }
            "OPTIONAL" | "MINUS" | "UNION" | "LATERAL" | "NOT" | "EXISTS" => {
                terms = 0;
                continue;
            }
            _ => {}
        }
        if depth == 0 {
            continue;
        }
        // Pieces of one term written with blanks: a path's `/`, `|`, `^`, `!` or modifier, a
        // literal's `^^datatype` or `@tag`.
        let joined = last.is_some_and(|l| {
            text(l).ends_with(['/', '|', '^', '!'])
                || w.starts_with(['/', '|', '@'])
                || w.starts_with("^^")
                || matches!(w, "*" | "+" | "?")
        });
        if joined {
            last = last.map(|l| (l.0, t.1));
            continue;
        }
        // A misspelt keyword (`FILTR(...)`, `OPTINAL {`) is no fourth term: the unknown word is
        // the mistake, and [`explain`] names the keyword it misspells.
        if misspelt_keyword(&word(t)).is_some() {
            terms = 0;
            last = None;
            continue;
        }
        terms += 1;
        if terms == 4
            && let Some(after) = last
        {
            // What follows says which separator fits: a whole pattern wants `.`, a predicate
            // and object `;`, an object `,`.
            let rest = tokens[k - 1..]
                .iter()
                .take_while(|&&n| !(text(n).len() == 1 && "{}.;,)]".contains(text(n))))
                .count();
            let (separator, role) = match rest {
                1 => (',', "another object of the same predicate"),
                2 => (';', "another predicate and object of the same subject"),
                _ => ('.', "the next triple pattern"),
            };
            let shown = |t: (usize, usize)| {
                let s = text(t);
                match s.char_indices().nth(40) {
                    Some((cut, _)) => format!("{}...", &s[..cut]),
                    None => s.to_owned(),
                }
            };
            return Some((
                after.1,
                format!(
                    "four terms in a row: a `{separator}` is missing after `{}` (at {}), \
                     before `{}` ({role}); a triple pattern is subject, predicate and object",
                    shown(after),
                    position(query, after.0),
                    shown(t),
                ),
            ));
        }
        last = Some(t);
    }
    None
}

/// An IRI opened with `<scheme:` that a blank or the end of the query reaches before its `>`
/// (the parser reports the end of the query), or a comparison or logical operator with nothing
/// after it (`FILTER(?o = )`, which the parser also reports further on). Strings and comments
/// are skipped; the first such mistake only.
fn unclosed_iri_or_missing_operand(query: &str) -> Option<(usize, String)> {
    let bytes = query.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let c = bytes[i];
        match (quote, c) {
            (Some(_), b'\\') => i += 1,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(c),
            (None, b'#') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            // A relative IRI, `<x>`: not a comparison, and its `>` is none either.
            (None, b'<') if relative_iri(query.get(i + 1..).unwrap_or("")).is_some() => {
                // To the `>`; the step below passes it.
                i += relative_iri(query.get(i + 1..).unwrap_or("")).unwrap_or(0);
            }
            (None, b'<') if iri_start(query.get(i + 1..).unwrap_or("")) => {
                let rest = query.get(i + 1..).unwrap_or("");
                let end = rest.find(|c: char| c == '>' || c.is_whitespace());
                match end.map(|e| rest.as_bytes()[e]) {
                    Some(b'>') => i += end.unwrap_or(0) + 1,
                    _ => {
                        return Some((
                            i,
                            format!(
                                "the IRI opened with `<` at {} is not closed by `>` (an IRI \
                                 holds no blanks)",
                                position(query, i)
                            ),
                        ));
                    }
                }
            }
            (None, _) => {
                // Operators are ASCII: a byte inside a wider character starts none.
                let here = query.get(i..).unwrap_or("");
                let op = ["!=", "<=", ">=", "&&", "||", "=", ">", "<"]
                    .into_iter()
                    .find(|op| here.starts_with(op));
                if let Some(op) = op {
                    let after = here[op.len()..].trim_start();
                    if after.is_empty() || after.starts_with([')', '}', '.', ',']) {
                        return Some((
                            i,
                            format!(
                                "`{op}` at {} has nothing after it: it compares or joins two \
                                 expressions",
                                position(query, i)
                            ),
                        ));
                    }
                    i += op.len();
                    continue;
                }
            }
        }
        i += 1;
    }
    None
}

/// The length in bytes of the IRI `text` starts with (`<` to `>`, no blanks, `<` or `"`
/// between), if it starts with one; `?a<?b && ?c>1` and `<=` are none.
fn iri_length(text: &str) -> Option<usize> {
    let rest = text.strip_prefix('<')?;
    if rest.starts_with('=') {
        return None;
    }
    let end = rest.find(|c: char| c == '>' || c == '<' || c == '"' || c.is_whitespace())?;
    rest[end..].starts_with('>').then_some(end + 2)
}

/// Whether `rest` (the text after a `<`) starts like an absolute IRI: a scheme (a letter, then
/// letters, digits, `+`, `-` or `.`) and a `:`; a less-than sign is followed by a blank, a
/// variable or a number.
/// The length up to and including the `>` of a relative IRI that `rest` (what follows a `<`)
/// starts with: no blank before the `>`, and not `<=` or an absolute IRI.
fn relative_iri(rest: &str) -> Option<usize> {
    if rest.starts_with(['=', '>']) || rest.starts_with(char::is_whitespace) || iri_start(rest) {
        return None;
    }
    let end = rest.find(|c: char| c == '>' || c.is_whitespace())?;
    (rest.as_bytes()[end] == b'>').then_some(end + 1)
}

fn iri_start(rest: &str) -> bool {
    let scheme: &str = rest
        .split(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c)))
        .next()
        .unwrap_or("");
    scheme.starts_with(|c: char| c.is_ascii_alphabetic()) && rest[scheme.len()..].starts_with(':')
}

/// A bare word (letters, digits, `_`) that is no SPARQL keyword: a misspelt keyword or a name
/// written without its prefix.
fn is_unknown_word(word: &str) -> bool {
    let word = word.trim_start_matches('!');
    word.starts_with(|c: char| c.is_ascii_alphabetic())
        && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// The keyword `word` misspells, when it is a bare word that is no keyword (see
/// [`is_unknown_word`]) and one comes near it ([`nearest_keyword`]).
fn misspelt_keyword(word: &str) -> Option<&'static str> {
    let word = word.trim_start_matches('!');
    match is_unknown_word(word) {
        true => nearest_keyword(word),
        false => None,
    }
}

/// The query form (SELECT, ASK, CONSTRUCT, DESCRIBE) a misspelt first word most likely means:
/// at most two edits away (one for words of up to four letters).
fn nearest_form(word: &str) -> Option<&'static str> {
    let upper = word.to_ascii_uppercase();
    let allowed = if upper.chars().count() <= 4 { 1 } else { 2 };
    FORMS
        .iter()
        .map(|f| (strsim::osa_distance(&upper, f), *f))
        .filter(|(d, _)| *d <= allowed)
        .min_by_key(|(d, _)| *d)
        .map(|(_, f)| f)
}

/// The keyword `word` most likely misspells: at most two edits away (one for short words),
/// an exchange of two neighbours counting as one (`OPTINOAL`).
fn nearest_keyword(word: &str) -> Option<&'static str> {
    let word = word.to_ascii_uppercase();
    let allowed = if word.chars().count() <= 4 { 1 } else { 2 };
    KEYWORDS
        .iter()
        .filter(|k| k.len() > 1)
        .map(|k| (strsim::osa_distance(&word, &k.to_ascii_uppercase()), *k))
        .filter(|(d, _)| *d <= allowed)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// The query's words outside IRIs (`<...>`), strings and comments, with their byte offsets.
fn words(query: &str) -> Vec<(usize, &str)> {
    fn push<'q>(
        query: &'q str,
        start: &mut Option<usize>,
        end: usize,
        out: &mut Vec<(usize, &'q str)>,
    ) {
        if let Some(s) = start.take()
            && let Some(w) = query.get(s..end)
        {
            out.push((s, w));
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
            // A dot inside a prefixed name (`ex:a.b`) does not end it.
            b'.' if start.is_some_and(|s| {
                query
                    .get(s..i)
                    .is_some_and(|w| w.contains(':') && !w.starts_with(['?', '$']))
            }) && bytes
                .get(i + 1)
                .is_some_and(|n| n.is_ascii_alphanumeric() || *n == b'_') => {}
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

/// The byte offset where the query first names variable `name` (`?name` or `$name`), outside
/// IRIs, strings and comments.
pub(crate) fn first_use(query: &str, name: &str) -> Option<usize> {
    words(query).into_iter().find_map(|(offset, word)| {
        let at = word.find(['?', '$'])?;
        let rest = &word[at + 1..];
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        (&rest[..end] == name).then_some(offset + at)
    })
}

/// The first word after the prologue (`PREFIX p: <...>` and `BASE <...>` declarations), with
/// its offset.
fn first_form_word<'a>(words: &[(usize, &'a str)]) -> Option<(usize, &'a str)> {
    let mut i = 0;
    while let Some(&(offset, w)) = words.get(i) {
        if w.eq_ignore_ascii_case("PREFIX") {
            i += 2;
        } else if w.eq_ignore_ascii_case("BASE") {
            i += 1;
        } else {
            return Some((offset, w));
        }
    }
    None
}

#[cfg(test)]
mod tests {

    #[test]
    fn rdf_data_is_told_from_a_query() {
        assert_eq!(
            rdf_data_kind("@prefix ex: <http://x/> .\nex:a ex:b ex:c .\n"),
            Some("Turtle")
        );
        assert_eq!(
            rdf_data_kind("<?xml version=\"1.0\"?>\n<rdf:RDF>\n</rdf:RDF>"),
            Some("RDF/XML")
        );
        assert_eq!(
            rdf_data_kind("<http://x/a> <http://x/b> <http://x/c> .\n"),
            Some("N-Triples or Turtle")
        );
        assert_eq!(
            rdf_data_kind("PREFIX ex: <http://x/>\nex:a ex:b ex:c .\n"),
            Some("Turtle")
        );
        for query in [
            "SELECT * WHERE { ?s ?p ?o }",
            "PREFIX ex: <http://x/>\nSELEC ?s WHERE { ?s ex:b ?o }",
            "# a comment\nASK { <http://x/a> ?p ?o }",
        ] {
            assert_eq!(rdf_data_kind(query), None, "{query}");
        }
    }
    use super::*;

    /// The parser's own message for `query`, as the CLI receives it.
    fn parsed(query: &str) -> String {
        let parsed = spargebra::SparqlParser::new().parse_query(query);
        assert!(parsed.is_err(), "{query} parses");
        parsed.err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn broken_rules_are_said_without_blaming_the_end_of_the_query() {
        for (query, words) in [
            (
                "SELECT ?x ?x WHERE { ?x ?p ?o }",
                "SELECT names a variable twice",
            ),
            (
                "SELECT ?x WHERE { BIND(1 AS ?x) BIND(2 AS ?x) }",
                "BIND at 1:33 gives a value to ?x, which the group already binds",
            ),
            (
                "SELECT ?x WHERE { ?x ?p ?o BIND(2 AS ?x) }",
                "BIND at 1:28 gives a value to ?x",
            ),
        ] {
            let m = explain(query, &parsed(query));
            assert!(m.contains(words), "{query}: {m}");
            assert!(!m.contains("ends there"), "{query}: {m}");
        }
    }

    #[test]
    fn a_comparison_without_its_right_side_is_located_at_the_operator() {
        let query = "SELECT ?s WHERE { ?s ?p ?o FILTER(?o > ) }";
        let m = explain(query, &parsed(query));
        assert!(m.contains("`>` at 1:38 has nothing after it"), "{m}");
        // A relative IRI's `>` is no comparison.
        let query = "SELECT ?s WHERE { ?s ?p ?o FILTER(?o = <x>) } LIMT 1";
        let m = explain(query, &parsed(query));
        assert!(m.contains("did you mean LIMIT"), "{m}");
    }

    #[test]
    fn undeclared_prefixes_the_filter_knows_get_their_iri() {
        let m = explain("SELECT ?s { ?s wdt:P31 wd:Q5 }", "X");
        assert!(
            m.contains("PREFIX wdt: <http://www.wikidata.org/prop/direct/>"),
            "{m}"
        );
        assert!(
            m.contains("PREFIX wd: <http://www.wikidata.org/entity/>"),
            "{m}"
        );
    }

    #[test]
    fn a_triple_without_its_object_is_named() {
        let m = explain(
            "SELECT ?x WHERE { ?x ?y }",
            "SPARQL syntax error: error at 1:26: expected one of LATERAL, SERVICE, [_]",
        );
        assert!(
            m.contains("the one ending at 1:24 has 2 terms: add its object"),
            "{m}"
        );
        let m = explain(
            "SELECT ?x WHERE {
  ?x <http://e/p.q> 1.5 .
  ?x }",
            "error at 3:6: expected one of",
        );
        assert!(
            m.contains("ending at 3:5 has 1 term: add its predicate"),
            "{m}"
        );
        // `{ ?x ?y . }`: the parser stops at the `}`.
        let m = explain(
            "SELECT ?x WHERE { ?x ?y . }",
            "error at 1:27: expected OPTIONAL",
        );
        assert!(m.contains("has 2 terms: add its object"), "{m}");
        // Complete triples: the parser's own words.
        let m = explain("SELECT ?x WHERE { ?x ?y ?z }", "error at 1:28: x");
        assert_eq!(m, "error at 1:28: x");
    }

    /// The parser reported these inside the next pattern (`://x/l>` at 1:46, `el` at 1:81).
    #[test]
    fn a_missing_dot_between_triple_patterns_is_located_after_the_third_term() {
        let m = explain(
            "SELECT ?t WHERE { ?t <http://x/g> ?g ?t <http://x/l> ?l }",
            "SPARQL syntax error: error at 1:46: expected one of",
        );
        assert!(
            m.starts_with(
                "SPARQL syntax error: four terms in a row: a `.` is missing after `?g` (at 1:35), \
                 before `?t` (the next triple pattern)"
            ),
            "{m}"
        );
        let m = explain(
            "PREFIX o: <http://x/o/> SELECT ?t WHERE { ?t o:genre ?g ?t o:label ?l }",
            "error at 1:81: expected",
        );
        assert!(m.contains("a `.` is missing after `?g` (at 1:54)"), "{m}");
        let m = explain(
            "PREFIX o: <http://x/o/>\nSELECT ?t WHERE {\n  ?t o:genre \"a b . c\"@en-GB\n  \
             ?t o:label 1.5 .\n}",
            "error at 4:7: expected",
        );
        assert!(
            m.contains("a `.` is missing after `\"a b . c\"@en-GB` (at 3:14)"),
            "{m}"
        );
        // Two terms follow: a `;` fits; one: a `,`.
        let m = explain("SELECT ?t { ?t ?p ?g ?q ?l }", "X");
        assert!(m.contains("a `;` is missing after `?g`"), "{m}");
        let m = explain("SELECT ?t { ?t ?p ?g ?l }", "X");
        assert!(m.contains("a `,` is missing after `?g`"), "{m}");
        // Patterns that are not four terms in a row (in a query the parser refused for another
        // reason, a misspelt LIMIT).
        let valid = [
            "?t o:p ?a ; o:q ?b , ?c ; a o:Film .",
            "?t o:p [ o:q ?x ; o:r ?y ] . [ o:s ?z ] o:t ?w .",
            "?t a o:Film ; o:p \"one two\" ; o:q 'x y'@en ; o:r \"3\" ^^ xsd:int .",
            "?t o:p 1.5 , -2 , 3e4 . ?t o:q ex:a.b",
            "?t o:p ?o FILTER(regex(?o, \"a b c\")) ?t o:q ?r FILTER regex(?r, 'x')",
            "?t o:p ?o OPTIONAL { ?o o:q ?r } ?t o:s ?u MINUS { ?t o:v ?w }",
            "{ ?t o:p ?o } UNION { ?t o:q ?o } ?t o:r ?s",
            "?t o:p ?o BIND(STR(?o) AS ?s) BIND (1 AS ?one) VALUES ?x { 1 2 3 4 }",
            "VALUES (?a ?b) { (1 2) (UNDEF 3) } GRAPH ?g { ?t o:p ?o } ?t o:q ?r",
            "SERVICE SILENT <http://e/sparql> { ?t o:p ?o } ?t o:q ?r",
            "?t o:p/o:q ?o . ?t ^o:p ?s . ?t o:p* ?x . ?t o:p / o:q + ?y . ?t (o:p|o:q)? ?z",
            "?t !o:p ?o . ?t ! (o:p|^o:q) ?o . ?t o:list ( ?a ?b ?c ?d ) .",
            "{ SELECT ?t ?a ?b ?c WHERE { ?t ?p ?o } } ?t o:p ?o",
            "?t o:p ?o FILTER NOT EXISTS { ?t o:q ?r } FILTER EXISTS { ?t a ?c } # a b c d\n",
            "?t <http://e/a#b> ?o .\n?t <http://e/(c)> ?o .\n?t o:p \"\"\"a \"b\" c\"\"\" .",
        ];
        for body in valid {
            let q = format!("PREFIX o: <http://x/o/> SELECT * WHERE {{ {body} }} LIMT 1");
            assert_eq!(missing_dot(&q), None, "{q}");
            assert!(mismatched_bracket(&q).is_none(), "{q}");
        }
    }

    #[test]
    fn a_bracket_left_open_wins_over_a_short_triple() {
        let q = "SELECT ?t WHERE { ?t ?p ?o . FILTER(regex(?o, \"a\") }";
        let m = explain(q, "SPARQL syntax error: error at 1:53: expected one of");
        assert_eq!(
            m,
            "SPARQL syntax error: the `(` opened at 1:36 is not closed: a `}` comes (at 1:52) \
             while it is open; add a `)` before it"
        );
        // An IRI's `#` starts no comment that would hide the brackets after it.
        let m = explain(
            "SELECT ?t WHERE { ?t <http://e/a#b> ?o . FILTER(regex(?o, \"a\") }",
            "error at 1:65: expected",
        );
        assert!(m.contains("the `(` opened at 1:48 is not closed"), "{m}");
    }

    #[test]
    fn a_variable_of_a_selected_expression_neither_grouped_nor_aggregated_is_named() {
        let refused = "SPARQL syntax error: error at 1:54: expected one of \"HAVING\", \
                       The SELECT contains an expression with a variable that is unbound";
        let m = explain(
            "SELECT (STR(?t) AS ?s) WHERE { ?p ?q ?t } GROUP BY ?p",
            refused,
        );
        assert!(
            m.contains("?t is used in a selected expression (at 1:13)")
                && m.contains("(GROUP BY ?p)")
                && m.contains("SAMPLE(?t)"),
            "{m}"
        );
        // Inside an aggregate a variable is fine: the one outside is named.
        let m = explain(
            "SELECT (CONCAT(STR(COUNT(?q)), STR(?t)) AS ?s) WHERE { ?p ?q ?t } GROUP BY ?p",
            refused,
        );
        assert!(m.contains("?t is used in a selected expression"), "{m}");
    }

    #[test]
    fn plain_literals_are_told_from_tagged_and_typed_ones() {
        assert_eq!(
            plain_literals(
                "SELECT ?m WHERE { ?m <http://x/label> ?l . ?m <http://x/t> \"a\"@en . \
                 ?m <http://x/n> 3 . FILTER(?l = \"Toy \\\"Story\\\"\" || ?l = \"b\"^^<http://x/d>) }"
            ),
            vec!["Toy \"Story\"".to_owned()]
        );
        assert!(plain_literals("SELECT nonsense").is_empty());
    }

    #[test]
    fn a_selected_variable_neither_grouped_nor_aggregated_is_named() {
        let refused = "SPARQL syntax error: error at 1:41: expected one of \"HAVING\", \
                       The SELECT contains a variable that is unbound";
        let m = explain("SELECT ?t WHERE { ?t ?p ?o } GROUP BY ?p", refused);
        assert_eq!(
            m,
            "SPARQL syntax error: ?t is selected (at 1:8) but neither grouped nor aggregated \
             (GROUP BY ?p): add it to GROUP BY, or select an aggregate of it instead, such as \
             (SAMPLE(?t) AS ?any_t) or (COUNT(?t) AS ?n_t)"
        );
        let m = explain("SELECT (COUNT(?t) AS ?n) ?p WHERE { ?t ?p ?o }", refused);
        assert!(
            m.contains("?p is selected (at 1:26) beside an aggregate")
                && m.contains("add GROUP BY ?p after the WHERE block"),
            "{m}"
        );
        // In a sub-SELECT, with the grouped variables and aliases left out.
        let m = explain(
            "SELECT ?n WHERE { { SELECT ?p (COUNT(?t) AS ?n) ?o WHERE { ?t ?p ?o } \
             GROUP BY ?p ORDER BY ?p } } LIMIT 3",
            refused,
        );
        assert!(m.contains("?o is selected (at 1:49)"), "{m}");
        assert!(m.contains("(GROUP BY ?p)"), "{m}");
        // Another refusal: not this.
        let m = explain(
            "SELECT ?t WHERE { ?t ?p ?o } GROUP BY ?p",
            "error at 1:1: x",
        );
        assert_eq!(m, "error at 1:1: x");
    }

    #[test]
    fn selected_variables_nothing_binds_are_named_with_the_nearest() {
        let q = "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n\
                 SELECT ?s ?name WHERE { ?s rdfs:label ?nme }";
        assert_eq!(
            unbound_selected(q),
            [("name".to_owned(), Some("nme".to_owned()))]
        );
        assert!(unbound_selected("SELECT ?s { ?s ?p ?o }").is_empty());
        assert!(unbound_selected("SELECT (COUNT(?s) AS ?n) WHERE { ?s ?p ?o }").is_empty());
        assert!(unbound_selected("SELECT * WHERE { ?s ?p ?o }").is_empty());
        assert!(unbound_selected("SELECT (SUM(?x) AS ?t) WHERE { ?s ?p ?o }").is_empty());
        assert_eq!(
            unbound_selected("SELECT ?zzz { ?s ?p ?o }"),
            [("zzz".to_owned(), None)]
        );
    }

    #[test]
    fn parser_lists_become_words() {
        let dump = |q: &str, at: &str| {
            explain(
                q,
                &format!("error at {at}: expected one of \",\", \".\", ['0' ..= '9'], [_]"),
            )
        };
        let said = dump("SELECT ?s WHERE { ?s ?p ?o", "1:27");
        assert_eq!(
            said,
            "SPARQL syntax error at 1:27: the query ends there; a `{` is not closed"
        );
        let said = dump("SELECT ?s WHERE { ?s ?p ?o } }", "1:30");
        assert!(said.contains("a `}` closes nothing"), "{said}");
        let said = dump("SELECT ?s WHERE { ?s <http://e/p> \"Acme }", "1:41");
        assert!(
            said.contains("a string opened with \" is not closed"),
            "{said}"
        );
        let said = dump("SELECT ?s WHERE { ?s ?p ?o } LIMIT -1", "1:36");
        assert!(
            said.contains("unexpected `-1` (LIMIT takes a whole number"),
            "{said}"
        );
        assert!(!said.contains("['0'"), "{said}");
        // The two the parser locates at the end of the query: where they are instead.
        let said = dump("SELECT ?s WHERE { ?s ?p ?o FILTER(?o = ) }", "1:43");
        assert!(said.contains("`=` at 1:38 has nothing after it"), "{said}");
        let said = dump("SELECT ?s WHERE { ?s <http://x/p ?o }", "1:38");
        assert!(
            said.contains("the IRI opened with `<` at 1:22 is not closed"),
            "{said}"
        );
        // A less-than sign, a closed IRI with `=` in it and `<=` are none of these.
        let said = dump(
            "SELECT ?s WHERE { ?s <http://x/p?a=b> ?o FILTER(?o<3 && ?o <= 4) } LIMT 1",
            "1:70",
        );
        assert!(
            !said.contains("nothing after it") && !said.contains("is not closed by"),
            "{said}"
        );
    }

    #[test]
    fn blank_queries_and_comments() {
        assert!(is_blank(""));
        assert!(is_blank("  \n# only a comment\n\t"));
        assert!(!is_blank("ASK {}"));
    }

    #[test]
    fn a_misspelt_form_is_named_where_it_is() {
        let m = explain(
            "SELEC ?s WHERE { ?s ?p ?o }",
            "SPARQL syntax error: error at 1:10: expected CONSTRUCT",
        );
        assert!(m.contains("unknown query form \"SELEC\" (at 1:1): "), "{m}");
        let m = explain("# why\n  ASKK { ?s ?p ?o }", "error at 2:10");
        assert!(m.contains("\"ASKK\" (at 2:3)"), "{m}");
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
        assert_eq!(explain("SELECT ?s WHERE { ?s ?p ?o FILTER }", "X"), "X");
        // Located at the first use, in characters, on its line.
        let m = explain(
            "SELECT ?é WHERE {\n  ?é ?p ?d .\n  ?d rdfs:label ?l }",
            "error at 3:16",
        );
        assert!(m.contains("undeclared prefix rdfs: (at 3:6)"), "{m}");
        let m = explain("SELECT ?é WHERE { ?é ^xsd:p ?o }", "X");
        assert!(m.contains("undeclared prefix xsd: (at 1:23)"), "{m}");
    }

    #[test]
    fn a_misspelt_query_form_is_named_with_the_form_meant() {
        for (query, meant) in [
            ("SELCT ?s WHERE { ?s ?p ?o }", "SELECT"),
            ("ASKK { ?s ?p ?o }", "ASK"),
            ("CONSTRUT { ?s ?p ?o } WHERE { ?s ?p ?o }", "CONSTRUCT"),
            ("descibe <http://x/a>", "DESCRIBE"),
        ] {
            let m = explain(query, "error at 1:1: expected CONSTRUCT");
            assert!(
                m.contains(&format!(
                    "(at 1:1): did you mean {meant}? a query starts with"
                )),
                "{query}: {m}"
            );
        }
        let m = explain(
            "FOO ?s WHERE { ?s ?p ?o }",
            "error at 1:1: expected CONSTRUCT",
        );
        assert!(!m.contains("did you mean"), "{m}");
    }

    #[test]
    fn a_misspelt_keyword_where_the_parser_stopped_is_named() {
        let query = "SELECT ?s WHERE { ?s ?p ?o } LIMT 2";
        let m = plain_syntax_error(query, "error at 1:30: expected one of").unwrap_or_default();
        assert!(m.contains("unexpected `LIMT` (did you mean LIMIT?)"), "{m}");
    }

    /// The parser reported these past the word (LIMT at 1:36, FILTR at 3:11, OPTINAL at 1:37).
    #[test]
    fn misspelt_keywords_are_located_at_the_word_with_the_keyword_meant() {
        let cases = [
            (
                "SELECT ?s WHERE { ?s ?p ?o } LIMT 2",
                "\"LIMT\" (at 1:30): did you mean LIMIT?",
            ),
            (
                "SELECT ?s WHERE {\n  ?s ?p ?o .\n  FILTR(?s)\n}",
                "\"FILTR\" (at 3:3): did you mean FILTER?",
            ),
            (
                "SELECT ?s { ?s a ?o . OPTINOAL { ?s ?p ?q } }",
                "\"OPTINOAL\" (at 1:23): did you mean OPTIONAL?",
            ),
            (
                "select distinc ?s where {?s ?p ?o}",
                "\"distinc\" (at 1:8): did you mean DISTINCT?",
            ),
            (
                "SELECT ?é WHERE { ?é ?p ?o } ORDER BY ?é OFSET 3",
                "\"OFSET\" (at 1:42): did you mean OFFSET?",
            ),
            (
                "SELECT ?s WHERE { ?s ?p foo }",
                "\"foo\" (at 1:25): not a SPARQL keyword",
            ),
            // Right after a triple pattern without its `.`: a keyword, not a fourth term.
            (
                "SELECT ?s WHERE { ?s ?p ?o FILTR(?o) }",
                "\"FILTR\" (at 1:28): did you mean FILTER?",
            ),
            (
                "SELECT ?s WHERE { ?s ?p ?o OPTINAL { ?s ?p ?x } }",
                "\"OPTINAL\" (at 1:28): did you mean OPTIONAL?",
            ),
            (
                "SELECT ?s WHERE { GRAHP ?g { ?s ?p ?o } }",
                "\"GRAHP\" (at 1:19): did you mean GRAPH?",
            ),
        ];
        for (query, needle) in cases {
            let m = explain(query, "SPARQL syntax error: error at 9:99: expected X");
            assert!(
                m.starts_with("SPARQL syntax error: unknown word "),
                "{query}: {m}"
            );
            assert!(m.contains(needle), "{query}: {m}");
        }
        let m = explain(
            "SELECT ?s WHERE { ?s ?p ?o } GROUP ?s",
            "error at 1:38: expected BY",
        );
        assert!(m.contains("GROUP must be followed by BY (at 1:36)"), "{m}");
        // Keywords in any case, names with dots, language tags, functions: nothing to say.
        let valid = "PREFIX ex: <http://e/> select ?s where { ?s a ex:a.b ; ex:p \"x\"@en-GB . \
                     filter(!bound(?s) && strStarts(str(?s), 'a')) } order by desc(?s) limit 1";
        assert_eq!(explain(valid, "X"), "X");
    }

    #[test]
    fn a_query_names_graphs_by_its_keywords_not_its_strings_or_iris() {
        assert!(names_graphs(
            "SELECT * WHERE { GRAPH <http://e/g> { ?s ?p ?o } }"
        ));
        assert!(names_graphs(
            "SELECT * FROM NAMED <http://e/g> WHERE { ?s ?p ?o }"
        ));
        assert!(names_graphs(
            "select * from <http://e/g> where { ?s ?p ?o }"
        ));
        assert!(!names_graphs(
            "SELECT * WHERE { ?s <http://e/GRAPH> \"FROM GRAPH\" }"
        ));
        assert!(!names_graphs("SELECT * WHERE { ?s ?p ?o }"));
        assert!(!names_graphs("SELEC * WHERE { GRAPH ?g { ?s ?p ?o } }"));
    }

    #[test]
    fn named_iris_are_the_query_s_own_and_expanded() {
        let iris = named_iris(
            "PREFIX dbo: <http://dbpedia.org/ontology/>\n\
             SELECT ?d WHERE { ?m dbo:director ?d ; a <urn:x:Film> . \
             FILTER(?d != \"3\"^^<http://www.w3.org/2001/XMLSchema#integer> && 1 < 2) \
             ?m dbo:director ?e }",
        );
        assert_eq!(
            iris,
            [
                "http://dbpedia.org/ontology/director",
                "http://www.w3.org/1999/02/22-rdf-syntax-ns#type",
                "urn:x:Film",
            ]
        );
        assert!(named_iris("SELEC ?s").is_empty());
        let known = [
            "http://x/director".to_owned(),
            "http://x/producer".to_owned(),
        ];
        assert_eq!(
            nearest_iri("http://x/directr", known.iter()).map(|(d, n)| (d, n.as_str())),
            Some((1, "http://x/director"))
        );
        assert_eq!(nearest_iri("http://x/writer", known.iter()), None);
    }
}
