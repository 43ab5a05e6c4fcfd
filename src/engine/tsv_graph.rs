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
