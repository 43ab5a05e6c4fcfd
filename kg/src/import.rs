//! Staging an import: every input file is parsed to the end before anything is written.
//!
//! A file that fails at line N therefore changes nothing; in lenient mode bad statements are
//! skipped and counted instead. Staged statements are deduplicated in file order, which fixes the
//! order in which new entities receive their ids.

use crate::error::{KgError, Result};
use crate::source::{self, InputFormat, SourceOptions};
use indexmap::IndexSet;
use oxigraph::io::RdfFormat;
use oxigraph::model::Quad;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

/// How many skipped statements a lenient import reports by location.
pub const REPORTED_SKIPS: usize = 5;

/// Options of `import kg`.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    pub source: SourceOptions,
    /// Skip statements that do not parse instead of failing the import.
    pub lenient: bool,
}

/// Progress of an import, for a progress bar. The CLI draws it; other callers may ignore it.
#[derive(Clone, Debug)]
pub enum ImportProgress<'a> {
    /// Reading `file`: raw bytes read of `bytes_total`, statements parsed so far.
    Reading {
        file: &'a Path,
        bytes_read: u64,
        bytes_total: u64,
        statements: u64,
    },
    /// All files parsed; writing the store and the index.
    Writing { statements: u64 },
}

/// What one input file contributed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileReport {
    pub file: PathBuf,
    /// Statements read (including duplicates within the file).
    pub read: u64,
    /// Statements skipped as unparsable (lenient mode only).
    pub skipped: u64,
    /// Locations of the first skipped statements, as `FILE:LINE:COL: message`.
    pub skipped_examples: Vec<String>,
    /// Statements read whose literal is ill-typed (`"20x1"^^xsd:gYear`): imported as written.
    pub ill_typed: u64,
    /// The first of them, as `FILE:LINE:COL: "TEXT"^^xsd:TYPE` (`FILE: ...` where not found).
    pub ill_typed_examples: Vec<String>,
}

/// The statements of all input files, parsed and deduplicated, not yet written anywhere.
#[derive(Debug, Default)]
pub(crate) struct Staged {
    pub quads: IndexSet<Quad>,
    pub files: Vec<FileReport>,
    /// Distinct statements with a blank node as subject or object.
    pub blank_node_statements: u64,
}

impl Staged {
    pub fn read(&self) -> u64 {
        self.files.iter().map(|f| f.read).sum()
    }
}

/// A stable scope for the blank nodes of one file: the same path gives the same nodes.
fn blank_node_scope(path: &Path) -> String {
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let mut hasher = DefaultHasher::new();
    canonical.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// Parses every file completely. Fails on the first bad statement unless `lenient`.
pub(crate) fn stage(
    files: &[PathBuf],
    options: &ImportOptions,
    progress: &mut dyn FnMut(ImportProgress<'_>),
) -> Result<Staged> {
    check_base_is_used(files, &options.source)?;
    let mut staged = Staged::default();
    for path in files {
        let opened = source::open(path, &options.source)?;
        let bytes_read = std::sync::Arc::clone(&opened.bytes_read);
        let bytes_total = opened.bytes_total;
        let mut blanks = source::BlankScope::new(blank_node_scope(path));
        let mut report = FileReport {
            file: path.clone(),
            ..FileReport::default()
        };
        if opened.empty {
            // An empty graph in any syntax (RDF/XML would call it a syntax error).
            staged.files.push(report);
            continue;
        }
        let mut last_skipped_line = None;
        let mut ill_typed = Vec::new();
        let rdf_xml = opened.format == InputFormat::Rdf(RdfFormat::RdfXml);
        // Lenient Turtle and TriG say each skipped piece once (a statement, a block not
        // closed), several on one line included: every one counts.
        let one_error_per_piece = matches!(
            opened.format,
            InputFormat::Rdf(RdfFormat::Turtle | RdfFormat::TriG)
        );
        let n3 = InputFormat::is_n3(path, &options.source);
        for statement in source::statements(opened, &options.source, options.lenient)? {
            let statement = statement.map_err(|e| match n3 {
                true => {
                    e.map_syntax(|at, message| (at, format!("{message}; {}", source::N3_SUBSET)))
                }
                false => e,
            });
            match statement {
                Ok(quad) => {
                    report.read += 1;
                    if let Some(example) = crate::literals::ill_typed(quad.object.as_ref()) {
                        report.ill_typed += 1;
                        if ill_typed.len() < REPORTED_SKIPS {
                            ill_typed.push(example);
                        }
                    }
                    staged.quads.insert(blanks.apply(quad));
                    if report.read.is_multiple_of(65_536) {
                        progress(ImportProgress::Reading {
                            file: path,
                            bytes_read: bytes_read.load(Ordering::Relaxed),
                            bytes_total,
                            statements: report.read,
                        });
                    }
                }
                // RDF/XML that is not well-formed XML cannot be resynchronised: the parser
                // files what follows the break under the wrong element, so nothing is imported.
                Err(error @ (KgError::Syntax { .. } | KgError::SyntaxWithoutLocation { .. }))
                    if options.lenient && rdf_xml && source::xml_is_ill_formed(path) =>
                {
                    return Err(lenient_refused(error));
                }
                // The parser may stop several times on one bad line (N-Triples): one skip.
                Err(KgError::Syntax { location, .. })
                    if options.lenient
                        && !one_error_per_piece
                        && last_skipped_line == Some(location.line) => {}
                Err(error @ (KgError::Syntax { .. } | KgError::SyntaxWithoutLocation { .. }))
                    if options.lenient =>
                {
                    if let KgError::Syntax { location, .. } = &error {
                        last_skipped_line = Some(location.line);
                    }
                    report.skipped += 1;
                    if report.skipped_examples.len() < REPORTED_SKIPS {
                        report.skipped_examples.push(error.to_string());
                    }
                }
                Err(error) => return Err(error),
            }
        }
        progress(ImportProgress::Reading {
            file: path,
            bytes_read: bytes_read.load(Ordering::Relaxed),
            bytes_total,
            statements: report.read,
        });
        report.ill_typed_examples = locate_ill_typed(path, &options.source, &ill_typed);
        staged.files.push(report);
    }
    let skipped: u64 = staged.files.iter().map(|f| f.skipped).sum();
    if staged.quads.is_empty() && skipped == 0 {
        // Nothing to import at all: most likely the wrong file or a failed export, refused
        // rather than reported as a successful import of nothing. (An empty file among others
        // is only noted, by the caller, from its report.)
        let what = match files {
            [one] if one.as_os_str() == "-" => "standard input holds no statement".to_owned(),
            [_] => "no statement in the file (it is empty, or holds only comments and \
                    directives)"
                .to_owned(),
            _ => format!("no statement in any of the {} files", files.len()),
        };
        let first = files.first().map_or_else(PathBuf::new, Clone::clone);
        return Err(KgError::bad_input(&first, what));
    }
    staged.blank_node_statements = staged
        .quads
        .iter()
        .filter(|q| q.subject.is_blank_node() || q.object.is_blank_node())
        .count() as u64;
    Ok(staged)
}

/// The warning of a file's ill-typed literals ([`FileReport::ill_typed`]).
pub fn ill_typed_warning(path: &Path, count: u64, located: &[String]) -> String {
    crate::literals::warning(path, count, located)
}

/// The ill-typed literals `examples` of one file as `FILE:LINE:COL: "TEXT"^^xsd:TYPE`, found
/// by reading the file again (standard input, which cannot be, and a literal not written as
/// its text, are named without a line).
fn locate_ill_typed(
    path: &Path,
    options: &SourceOptions,
    examples: &[(String, String)],
) -> Vec<String> {
    if examples.is_empty() {
        return Vec::new();
    }
    let places = match path == Path::new("-") {
        true => vec![None; examples.len()],
        false => match source::open(path, options) {
            Ok(opened) => crate::literals::locate(opened.reader, examples),
            Err(_) => vec![None; examples.len()],
        },
    };
    examples
        .iter()
        .zip(places)
        .map(|((lexical, datatype), place)| {
            let shown = crate::literals::shown(lexical, datatype);
            match place {
                Some((line, column)) => format!("{}:{line}:{column}: {shown}", path.display()),
                None => format!("{}: {shown}", path.display()),
            }
        })
        .collect()
}

/// The error of RDF/XML that is not well-formed XML under `--lenient`: the statement cannot be
/// skipped alone, so the import stops with the parser's location and why.
fn lenient_refused(error: KgError) -> KgError {
    const WHY: &str = "--lenient cannot skip this: the file is not well-formed XML, and past a \
                       broken element RDF/XML cannot be resynchronised (later statements would be \
                       filed under the wrong subject). Nothing was imported: fix the XML here, or \
                       convert the file to N-Triples or Turtle, which --lenient reads statement by \
                       statement";
    error.map_syntax(|location, message| (location, format!("{message}; {WHY}")))
}

/// Refuses `--base` when every file is N-Triples or N-Quads: they hold absolute IRIs only, so
/// the option would be ignored.
fn check_base_is_used(files: &[PathBuf], options: &SourceOptions) -> Result<()> {
    let Some(base) = &options.base else {
        return Ok(());
    };
    let line_based = |path: &PathBuf| {
        matches!(
            options.format.or_else(|| InputFormat::guess(path).0),
            Some(InputFormat::Rdf(RdfFormat::NTriples | RdfFormat::NQuads))
        )
    };
    if !files.is_empty() && files.iter().all(line_based) {
        return Err(KgError::BadArgument(format!(
            "--base {base}: N-Triples and N-Quads hold absolute IRIs only, so there is nothing \
             for --base to resolve (it applies to Turtle, TriG, RDF/XML and TSV)"
        )));
    }
    Ok(())
}
