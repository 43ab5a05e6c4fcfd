//! The start of a TSV graph file, read before `import kg` writes anything: a first line the
//! reader skips as a header (said by the caller), and an interactions table given to `import
//! kg` by mistake (refused, naming `import interactions`). The graph layer decides the header
//! ([`kgrec_kg::source::is_tsv_header_among`], on the same lines); what an interactions table
//! looks like is known here, where users and items are.

use std::collections::HashSet;
use std::io::BufRead;
use std::path::Path;

use kgrec_kg::source::{InputFormat, TSV_LOOK_AHEAD, is_tsv_header_among, tsv_fields};

use crate::error::{Error, Result};
use crate::interactions::columns::{ITEM, Role, USER};

/// Lines after the first a header-less table needs before its shape is judged.
const SHAPE_MIN_ROWS: usize = 50;

/// The first line of `file` when it is a TSV graph (by `format`, else by its extension) whose
/// reader skips that line as a header; `None` otherwise, and for a file that cannot be read
/// here (standard input, a missing file: the import says why).
pub fn header(file: &Path, format: Option<InputFormat>) -> Option<String> {
    let lines = start(file, format)?;
    let (first, rest) = data_lines(&lines)?;
    is_tsv_header_among(first, &rest).then(|| first.to_owned())
}

/// Refuses a TSV graph file that is an interactions table: a first line naming a user and an
/// item column (`user_id<TAB>item_id<TAB>rating`), or, without one, lines whose third field is
/// a number everywhere while their second takes more different values than half the lines
/// (a graph's relations repeat; an interactions table's items do not).
pub fn refuse_interactions(file: &Path, format: Option<InputFormat>) -> Result<()> {
    let Some(lines) = start(file, format) else {
        return Ok(());
    };
    let Some((first, rest)) = data_lines(&lines) else {
        return Ok(());
    };
    let names = tsv_fields(first);
    let names_one = |role: &Role| {
        names.iter().any(|f| {
            let name = crate::interactions::columns::normalised(f);
            role.aliases
                .iter()
                .any(|a| crate::interactions::columns::normalised(a) == name)
        })
    };
    let advice = format!(
        "import it with `kgrec import interactions {}` (nothing was imported)",
        file.display()
    );
    if names_one(&USER) && names_one(&ITEM) {
        return Err(Error::BadInput(format!(
            "{}:1: the columns {} are an interactions table's (a user and an item column), not a \
             graph's head, relation and tail: {advice}",
            file.display(),
            names.join(", ")
        )));
    }
    let rows: Vec<Vec<&str>> = rest.iter().map(|l| tsv_fields(l)).collect();
    let numeric = |f: &&str| f.parse::<f64>().is_ok_and(f64::is_finite);
    if rows.len() >= SHAPE_MIN_ROWS && rows.iter().all(|r| r.len() == 3 && numeric(&r[2])) {
        let second: HashSet<&str> = rows.iter().map(|r| r[1]).collect();
        if second.len() * 2 > rows.len() {
            return Err(Error::BadInput(format!(
                "{}: this looks like an interactions table, not a graph: in its first {} lines \
                 the third field is a number on every line and the second takes {} different \
                 values (a graph's relations repeat; an interactions table's items do not): \
                 {advice}",
                file.display(),
                rows.len() + 1,
                second.len()
            )));
        }
    }
    Ok(())
}

/// Refuses a TSV graph file whose columns hold the data directory's own ids where a graph's
/// would not: relations that are its item ids (`c0<TAB>g15<TAB>1`, a header-less interactions
/// table, would make every item a predicate), or heads that are its user ids with tails that
/// are its item ids. Judged on the distinct tokens of the first lines: at least three, and
/// half of them the directory's ids.
pub fn refuse_catalogue_columns(
    file: &Path,
    format: Option<InputFormat>,
    users: &HashSet<&str>,
    items: &HashSet<&str>,
) -> Result<()> {
    let Some(lines) = start(file, format) else {
        return Ok(());
    };
    let Some(rows) = triple_rows(&lines) else {
        return Ok(());
    };
    let column =
        |k: usize| -> HashSet<&str> { rows.iter().filter_map(|r| r.get(k)).copied().collect() };
    // The distinct tokens of a column and the first few of them that are ids of `ids`, when
    // at least three and half are.
    let mostly = |tokens: &HashSet<&str>, ids: &HashSet<&str>| -> Option<Vec<String>> {
        let mut hits: Vec<&str> = tokens.iter().copied().filter(|t| ids.contains(t)).collect();
        hits.sort_unstable();
        (hits.len() >= 3 && hits.len() * 2 >= tokens.len())
            .then(|| hits.iter().take(4).map(|h| (*h).to_owned()).collect())
    };
    let advice = format!(
        "if it is an interactions table (user, item, value), import it with `kgrec import \
         interactions {}`; nothing was imported",
        file.display()
    );
    let relations = column(1);
    if let Some(named) = mostly(&relations, items) {
        return Err(Error::BadInput(format!(
            "{}: the second column, a TSV graph's relation, holds this data directory's item ids \
             ({}, ...: {} of its {} different values in the first {} lines), so every item \
             would become a predicate: {advice}",
            file.display(),
            named.join(", "),
            relations.iter().filter(|t| items.contains(*t)).count(),
            relations.len(),
            lines.len()
        )));
    }
    let (heads, tails) = (column(0), column(2));
    if let (Some(users_named), Some(_)) = (mostly(&heads, users), mostly(&tails, items)) {
        return Err(Error::BadInput(format!(
            "{}: its heads are this data directory's user ids ({}, ...) and its tails its item \
             ids: a graph holds facts about items, not who chose them: {advice}",
            file.display(),
            users_named.join(", ")
        )));
    }
    Ok(())
}

/// What a TSV graph's numeric tails became: every token of a TSV graph is an entity
/// (`2012` → `<urn:kgrec:2012>`), so a year or a count is a node items share, not a value.
/// `None` for a file without numeric tails in its first lines, and for other formats.
pub fn numeric_tails_note(file: &Path, format: Option<InputFormat>) -> Option<String> {
    let lines = start(file, format)?;
    let rows = triple_rows(&lines)?;
    let numeric: Vec<&str> = rows
        .iter()
        .filter_map(|r| r.get(2).copied())
        .filter(|t| t.parse::<f64>().is_ok_and(f64::is_finite))
        .collect();
    let mut examples: Vec<&str> = numeric.clone();
    examples.sort_unstable();
    examples.dedup();
    examples.truncate(3);
    (!numeric.is_empty()).then(|| {
        format!(
            "{}: {} of the first {} triples have a number as their tail ({}, ...): a TSV \
             graph makes every token an entity (`{}` is <{}>), so items with the same number \
             share it as a neighbour (and explanations read it as one); to keep numbers as \
             values, give those facts in N-Triples or Turtle as literals (\"{}\"^^xsd:integer)",
            file.display(),
            numeric.len(),
            rows.len(),
            examples.join(", "),
            examples[0],
            kgrec_kg::source::tsv_token_iri(kgrec_kg::source::DEFAULT_TSV_BASE, examples[0]),
            examples[0]
        )
    })
}

/// The fields of `lines`' data lines, a first line the reader skips as a header left out.
fn triple_rows(lines: &[String]) -> Option<Vec<Vec<&str>>> {
    let (first, rest) = data_lines(lines)?;
    let skip = usize::from(is_tsv_header_among(first, &rest));
    Some(
        std::iter::once(first)
            .chain(rest)
            .skip(skip)
            .map(tsv_fields)
            .collect(),
    )
}

/// Up to [`TSV_LOOK_AHEAD`] lines of `file`, when it is read as a TSV graph and can be opened
/// here (gzip undone; bytes that are not UTF-8 replaced: the import names them).
fn start(file: &Path, format: Option<InputFormat>) -> Option<Vec<String>> {
    let (guessed, gz) = InputFormat::guess(file);
    if format.or(guessed) != Some(InputFormat::Tsv) {
        return None;
    }
    let opened = std::fs::File::open(file).ok()?;
    let reader: Box<dyn std::io::Read> = match gz {
        true => Box::new(flate2::read::MultiGzDecoder::new(opened)),
        false => Box::new(opened),
    };
    let mut reader = std::io::BufReader::new(reader);
    let mut lines = Vec::new();
    let mut bytes = Vec::new();
    while lines.len() < TSV_LOOK_AHEAD {
        bytes.clear();
        match reader.read_until(b'\n', &mut bytes) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&bytes);
        lines.push(text.trim_end_matches(['\n', '\r']).to_owned());
    }
    Some(lines)
}

/// The first line and the data lines after it (blank lines and `#` comments left out), when
/// the file's first line is a data line (a header is only ever line 1).
fn data_lines(lines: &[String]) -> Option<(&str, Vec<&str>)> {
    let (first, rest) = lines.split_first()?;
    if first.trim().is_empty() || first.starts_with('#') {
        return None;
    }
    let rest = rest
        .iter()
        .map(String::as_str)
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect();
    Some((first, rest))
}
