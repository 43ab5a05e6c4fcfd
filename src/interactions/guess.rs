//! Guessing an interaction file's format when `--format` does not name it: from the file name's
//! extension (`.gz` aside), else from its first lines; `.txt`, which KGAT uses but which says
//! little, is looked into too. A guess is always reported ([`Guess`]); a file that reads as two
//! formats (lines of 4 numbers: `user item rating timestamp`, or a KGAT user with 3 items?) is
//! refused with both `--format`s named.

use std::fmt;
use std::path::Path;

use super::columns::{Delimiter, ITEM, RATING, TIME, USER, normalised};
use super::{Caller, Format, ParseError};

/// How a format was chosen without `--format`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guess {
    /// The format chosen.
    pub format: Format,
    /// What it was chosen from.
    pub basis: GuessBasis,
    /// Who reads the file: the flag that overrides the guess.
    pub caller: Caller,
}

/// What a [`Guess`] rests on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuessBasis {
    /// The file name's extension (without the dot, lower-case).
    Extension(String),
    /// The first lines, described.
    Content(&'static str),
}

impl Guess {
    /// Whether the guess is worth a note: an extension that names its own format (`.tsv`,
    /// `.tab`, `.csv`, `.inter`) is no guess a user needs to hear about; a content guess, or an
    /// extension shared by formats (`.txt`, `.dat`, ...), is.
    pub fn is_worth_a_note(&self) -> bool {
        match &self.basis {
            GuessBasis::Extension(ext) => !matches!(
                (ext.as_str(), self.format),
                ("tsv" | "tab", Format::Tsv) | ("csv", Format::Csv) | ("inter", Format::RecBole)
            ),
            GuessBasis::Content(_) => true,
        }
    }
}

impl fmt::Display for Guess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "format {} ({}) guessed from ",
            self.format,
            self.format.shape()
        )?;
        match &self.basis {
            GuessBasis::Extension(ext) => write!(f, "the extension .{ext}"),
            GuessBasis::Content(what) => write!(f, "the content: {what}"),
        }?;
        write!(f, "; {} overrides", self.caller.format_flag())
    }
}

/// What the first lines look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A header line: names, not numbers.
    Header { delimiter: Delimiter, typed: bool },
    /// `::`-separated lines (MovieLens `ratings.dat`).
    DoubleColon,
    /// Lines of 3 or 4 columns, the 3rd like a rating (or, with 4, any number: a count) and the
    /// 4th like a timestamp.
    RatingTable { columns: usize, rating: bool },
    /// Whitespace-separated tokens and nothing else.
    Lists,
    /// A header of space-separated column names, then data.
    SpaceHeader,
    /// None of the above.
    Other,
}

fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|x| x.is_finite())
}

/// Ratings are small numbers (stars, 1-10 scales, 0/1).
fn rating_like(s: &str) -> bool {
    number(s).is_some_and(|x| (0.0..=10.0).contains(&x))
}

/// Seconds (or milliseconds) since the epoch after 1973.
fn timestamp_like(s: &str) -> bool {
    number(s).is_some_and(|x| x >= 1e8 && x.fract() == 0.0)
}

fn shape(sample: &[String]) -> Shape {
    let Some(first) = sample.first() else {
        return Shape::Other;
    };
    if first.contains("::") {
        return Shape::DoubleColon;
    }
    if let Some(header) = header_shape(first, sample.get(1)) {
        return header;
    }
    let rows: Vec<Vec<&str>> = sample
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let columns = rows[0].len();
    // Four columns ending in a rating and a timestamp read as ratings whatever the ids are;
    // three read as ratings when the ids are all numbers (a KGAT list of numeric ids could be
    // anything) or are not numbers while the third is (a KGAT list does not mix the two).
    let ids_numeric = |r: &Vec<&str>| number(r[0]).is_some() && number(r[1]).is_some();
    let table = (columns == 3 || columns == 4)
        && rows.iter().all(|r| {
            r.len() == columns
                && rating_like(r[2])
                && match columns {
                    4 => timestamp_like(r[3]),
                    _ => ids_numeric(r) || (number(r[0]).is_none() && number(r[1]).is_none()),
                }
        });
    if table {
        return Shape::RatingTable {
            columns,
            rating: true,
        };
    }
    // Every line `user item N timestamp` with N no rating (a count, a dwell time): a table of
    // one width, which KGAT's lists of every length are not.
    let counted = columns == 4
        && rows.len() > 1
        && rows
            .iter()
            .all(|r| r.len() == 4 && number(r[2]).is_some() && timestamp_like(r[3]));
    if counted {
        return Shape::RatingTable {
            columns,
            rating: false,
        };
    }
    // Every line the same 3 or 4 numbers (`1 6 5 20240101`, `1 2 5 100`): a table with a date
    // or a small time, or KGAT lists that all happen to be one length. Not guessed either way.
    let uniform = (columns == 3 || columns == 4)
        && rows
            .iter()
            .all(|r| r.len() == columns && r.iter().all(|f| number(f).is_some()));
    if uniform {
        return Shape::RatingTable {
            columns,
            rating: rows
                .iter()
                .all(|r| rating_like(r[2]) && (columns == 3 || timestamp_like(r[3]))),
        };
    }
    if !sample.iter().any(|l| l.contains(['\t', ',', ';', '|'])) {
        // A first line of words over rows of the same width that hold numbers where it holds
        // words: a header (KGAT lists hold ids only, and rows of every length).
        let words = rows[0].iter().all(|f| number(f).is_none());
        let rectangular = rows.len() > 1 && rows.iter().all(|r| r.len() == rows[0].len());
        let numbers_below = rows
            .iter()
            .skip(1)
            .any(|r| r.iter().zip(&rows[0]).any(|(f, _)| number(f).is_some()));
        // Every word of the first line an accepted column name (`user_id item_id`): a header,
        // whatever is below it; no KGAT list starts with a user called `user_id`.
        let all_names = rows[0].len() >= 2 && rows[0].iter().all(|f| known_names(&[f]));
        if words
            && (all_names
                || known_names(&rows[0])
                    && sample
                        .get(1)
                        .is_some_and(|l| l.split_whitespace().any(|f| number(f).is_some()))
                || rectangular && rows[0].len() >= 2 && numbers_below)
        {
            return Shape::SpaceHeader;
        }
        return Shape::Lists;
    }
    Shape::Other
}

/// Whether some field is an accepted column name.
fn known_names(fields: &[&str]) -> bool {
    fields.iter().any(|f| {
        let name = normalised(f);
        [&USER, &ITEM, &RATING, &TIME]
            .iter()
            .any(|role| role.aliases.iter().any(|a| normalised(a) == name))
    })
}

/// A first line of names split by a delimiter: some name is an accepted column name, or the
/// second line holds a number where the first holds names.
fn header_shape(first: &str, second: Option<&String>) -> Option<Shape> {
    let (delimiter, fields) = Delimiter::DETECTED
        .into_iter()
        .map(|d| (d, first.split(char::from(d.byte())).collect::<Vec<_>>()))
        .fold(None::<(Delimiter, Vec<&str>)>, |best, (d, f)| match best {
            Some((_, ref b)) if b.len() >= f.len() => best,
            _ => Some((d, f)),
        })?;
    if fields.len() < 2 || fields.iter().any(|f| number(f).is_some()) {
        return None;
    }
    let known = known_names(&fields);
    let data_below = second.is_some_and(|l| {
        l.split(char::from(delimiter.byte()))
            .any(|f| number(f).is_some())
    });
    if !known && !data_below {
        return None;
    }
    let typed = fields.iter().any(|f| {
        f.rsplit_once(':')
            .is_some_and(|(_, t)| t.contains("token") || t.contains("float"))
    });
    Some(Shape::Header { delimiter, typed })
}

/// Extensions of RDF serialisations: graphs, which `import kg` reads, never interactions.
const RDF_EXTENSIONS: [&str; 7] = ["nt", "ttl", "nq", "trig", "rdf", "owl", "n3"];

/// What says a file named `file_name` (lower-case, `.gz` removed) whose first non-blank lines
/// are `sample` is an RDF graph, if anything does: its extension, a Turtle/SPARQL prefix or
/// base line, or a first statement `<iri> <iri> <iri> .` / `prefix:local ... .`.
pub(crate) fn rdf_graph(file_name: Option<&str>, sample: &[String]) -> Option<String> {
    if let Some(ext) = file_name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e)
        .filter(|e| RDF_EXTENSIONS.contains(e))
    {
        return Some(format!("the extension .{ext}"));
    }
    let first = sample
        .iter()
        .map(|l| l.trim().trim_start_matches('\u{feff}'))
        .find(|l| !l.is_empty() && !l.starts_with('#'))?;
    let keyword = first.split_whitespace().next().unwrap_or_default();
    if ["@prefix", "@base"].contains(&keyword)
        || ["prefix", "base"].contains(&keyword.to_ascii_lowercase().as_str())
            && first.contains('<')
    {
        return Some(format!("a `{keyword}` line"));
    }
    let tokens: Vec<&str> = first.split_whitespace().collect();
    let iri = |t: &str| t.starts_with('<') && t.ends_with('>') && t.len() > 2;
    let prefixed = |t: &str| {
        t.split_once(':').is_some_and(|(p, l)| {
            !l.is_empty()
                && p.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        }) && !t.contains("::")
    };
    let subject = |t: &str| iri(t) || prefixed(t) || t.starts_with("_:");
    let ends_a_statement = tokens.last().is_some_and(|t| *t == ".")
        || tokens
            .last()
            .is_some_and(|t| t.len() > 1 && t.ends_with('.') && t.contains(['>', '"', '@']));
    (tokens.len() >= 3
        && subject(tokens[0])
        && (iri(tokens[1]) || prefixed(tokens[1]) || tokens[1] == "a")
        && ends_a_statement)
        .then(|| "a first line shaped `subject predicate object .`".to_owned())
}

/// The format of a file named `file_name` (lower-case, `.gz` removed) whose first non-blank
/// lines are `sample`.
pub(crate) fn guess(
    name: &Path,
    file_name: Option<&str>,
    sample: &[String],
) -> Result<Guess, ParseError> {
    let ext = file_name.and_then(|n| n.rsplit_once('.')).map(|(_, e)| e);
    let by_extension = ext.and_then(Format::from_extension);
    // MovieLens files have no header: a `.dat` (`.data`, `.base`) that starts with one is a
    // table with its own column names, read by its content.
    let headed = matches!(shape(sample), Shape::Header { .. });
    if let (Some(format), Some(ext)) = (by_extension, ext)
        && format != Format::Kgat
        && !(format == Format::MovieLens && headed)
    {
        return Ok(Guess {
            format,
            basis: GuessBasis::Extension(ext.to_owned()),
            caller: Caller::default(),
        });
    }
    if sample.is_empty() {
        return Err(ParseError::Empty {
            file: name.to_owned(),
        });
    }
    let content = |format, what| {
        Ok(Guess {
            format,
            basis: GuessBasis::Content(what),
            caller: Caller::default(),
        })
    };
    match shape(sample) {
        Shape::Header { delimiter, typed } => match (delimiter == Delimiter::TAB, typed) {
            (true, true) => content(Format::RecBole, "a tab-separated header of typed names"),
            (true, false) => content(Format::Tsv, "a tab-separated header"),
            (false, _) => content(Format::Csv, "a header of delimited names"),
        },
        Shape::DoubleColon => content(Format::MovieLens, "`::`-separated lines"),
        Shape::SpaceHeader => Err(ParseError::SpaceSeparatedHeader {
            file: name.to_owned(),
            names: sample[0].split_whitespace().collect::<Vec<_>>().join(", "),
            caller: Caller::default(),
        }),
        Shape::RatingTable { columns, rating } => Err(ParseError::AmbiguousFormat {
            file: name.to_owned(),
            columns,
            rating,
            lines: sample.len(),
            candidates: vec![Format::MovieLens, Format::Kgat],
            caller: Caller::default(),
        }),
        // A tab, comma or semicolon on the first lines: a table, not KGAT's space-separated
        // lists, whatever the extension.
        Shape::Other
            if by_extension == Some(Format::Kgat) && sample.iter().any(|l| l.contains('\t')) =>
        {
            content(Format::Tsv, "tab-separated lines")
        }
        // Lists are KGAT by their content, whatever the extension (the README: content decides).
        Shape::Lists => content(
            Format::Kgat,
            "space-separated ids without a header, in lines of different lengths or not all \
             numbers",
        ),
        // `.txt` (KGAT's `train.txt`) is KGAT unless its content says otherwise.
        _ if by_extension == Some(Format::Kgat) => Ok(Guess {
            format: Format::Kgat,
            basis: GuessBasis::Extension(ext.unwrap_or("txt").to_owned()),
            caller: Caller::default(),
        }),
        Shape::Other => Err(ParseError::UnknownFormat {
            file: name.to_owned(),
            caller: Caller::default(),
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn g(name: &str, text: &str) -> Result<Guess, ParseError> {
        let sample: Vec<String> = text.lines().map(str::to_owned).collect();
        guess(Path::new(name), Some(name), &sample)
    }

    fn format(name: &str, text: &str) -> Format {
        g(name, text).unwrap().format
    }

    #[test]
    fn extensions_decide_except_txt() {
        let r = g("r.tsv", "1 2 3 881250949\n").unwrap();
        assert_eq!(
            r,
            Guess {
                format: Format::Tsv,
                basis: GuessBasis::Extension("tsv".into()),
                caller: Caller::Import,
            }
        );
        assert_eq!(
            r.to_string(),
            "format tsv (a tab-separated table with a header) guessed from the extension .tsv; \
             --format overrides"
        );
        assert_eq!(format("u.data", ""), Format::MovieLens);
        assert_eq!(
            format("u.data", "196\t242\t3\t881250949\n"),
            Format::MovieLens
        );
        // A header says it is not MovieLens, whatever the extension.
        assert_eq!(format("std.dat", "user_id,item_id\nx,y\n"), Format::Csv);
        // Tabs are no KGAT list, and words over numbers are a header.
        assert_eq!(format("k7.txt", "kunde\tartikel\nk7\tDAR\n"), Format::Tsv);
        assert!(
            guess(
                Path::new("plays.log"),
                Some("plays.log"),
                &[
                    "listener track plays".to_owned(),
                    "u1 t1 3".to_owned(),
                    "u2 t2 5".to_owned()
                ]
            )
            .is_err()
        );
        assert_eq!(format("train.txt", "0 1 2 3\n1 5 6\n"), Format::Kgat);
        assert_eq!(
            format("tab.dat", "customer_id\tsku\tscore\nc\ts\t1\n"),
            Format::Tsv
        );
        assert_eq!(format("x.inter", ""), Format::RecBole);
        assert_eq!(format("x.csv", "a;b\n"), Format::Csv);
    }

    #[test]
    fn txt_is_kgat_unless_the_content_says_otherwise() {
        let r = g("train.txt", "0 1 2 3 4\n1 5\n2 6 7 8\n").unwrap();
        assert_eq!(r.format, Format::Kgat);
        assert!(r.to_string().contains("guessed from the content"), "{r}");
        assert_eq!(format("t.txt", "user_id\titem_id\n1\t2\n"), Format::Tsv);
        assert_eq!(format("t.txt", "customer_id;sku\n1;2\n"), Format::Csv);
        assert_eq!(format("t.txt", "1::2::5::978300760\n"), Format::MovieLens);
    }

    #[test]
    fn rating_tables_are_ambiguous() {
        let text = "196 242 3 881250949\n186 302 3 891717742\n22 377 1 878887116\n";
        for name in ["ratings.txt", "ratings"] {
            let e = g(name, text).unwrap_err();
            assert!(
                matches!(&e, ParseError::AmbiguousFormat { columns: 4, lines: 3, candidates, .. } if *candidates == [Format::MovieLens, Format::Kgat]),
                "{e:?}"
            );
            let msg = e.to_string();
            for needle in ["--format movielens", "--format kgat", "rating", "timestamp"] {
                assert!(msg.contains(needle), "{needle}: {msg}");
            }
        }
        let e = g("r.txt", "1\t2\t4.5\n3\t4\t1\n").unwrap_err();
        assert!(
            matches!(e, ParseError::AmbiguousFormat { columns: 3, .. }),
            "{e:?}"
        );
        // Every line the same 3 or 4 numbers, a YYYYMMDD date or a small time last, or a 3rd
        // that is no rating: still a table or lists of one length, so refused as ambiguous.
        for (text, columns) in [
            ("1 6 5 20240101\n2 7 4 20240102\n", 4),
            ("1 2 5 100\n1 3 4 200\n", 4),
            ("0 1 2 3\n1 4 5 6\n", 4),
            ("0 1 200\n1 4 500\n", 3),
            ("1 6 5 20240101\n", 4),
        ] {
            let e = g("k.txt", text).unwrap_err();
            assert!(
                matches!(&e, ParseError::AmbiguousFormat { columns: c, .. } if *c == columns),
                "{text}: {e:?}"
            );
            let msg = e.to_string();
            assert!(msg.contains("--format kgat"), "{msg}");
        }
        // Lines of different lengths: KGAT lists.
        assert_eq!(format("k.txt", "0 1 2 881250949\n1 4\n"), Format::Kgat);
        // A header of accepted names over ids that are words: a header, refused as spaced.
        for name in ["hdr.txt", "hdr"] {
            let e = g(name, "user_id item_id\nu1 ep1\nu2 ep2\n").unwrap_err();
            assert!(
                matches!(e, ParseError::SpaceSeparatedHeader { .. }),
                "{e:?}"
            );
        }
        // `user item count timestamp` on every line: no KGAT list, and said how it would read.
        let e = g(
            "clicks.txt",
            "r0 a038 267 1743671582\nr1 a007 12 1743671590\n",
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                ParseError::AmbiguousFormat {
                    columns: 4,
                    rating: false,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("the 3rd a number"), "{e}");
    }

    #[test]
    fn unknown_names_and_stdin_go_by_content() {
        let stdin = |text: &str| {
            let sample: Vec<String> = text.lines().map(str::to_owned).collect();
            guess(Path::new("<stdin>"), None, &sample)
        };
        let r = stdin("user_id:token\titem_id:token\n1\t2\n").unwrap();
        assert_eq!(r.format, Format::RecBole);
        assert!(matches!(r.basis, GuessBasis::Content(_)));
        assert_eq!(stdin("userId,movieId\n1,2\n").unwrap().format, Format::Csv);
        assert_eq!(stdin("who|what|qty\nu|i|3\n").unwrap().format, Format::Csv);
        assert_eq!(stdin("u1 i1 i2\nu2 i3\n").unwrap().format, Format::Kgat);
        assert!(matches!(
            stdin("u1\ti1\nu2\ti2\n"),
            Err(ParseError::UnknownFormat { .. })
        ));
        assert!(matches!(stdin(""), Err(ParseError::Empty { .. })));
        assert!(matches!(
            g("x.weird", "a\tb\n"),
            Err(ParseError::UnknownFormat { .. })
        ));
    }

    #[test]
    fn ratings_with_named_ids_and_space_separated_headers_are_not_read_as_lists() {
        let err = g(
            "shop.txt",
            "alice SKU-1 5 1700000000\nbob SKU-2 3 1700000100\n",
        )
        .unwrap_err();
        assert!(
            matches!(err, ParseError::AmbiguousFormat { columns: 4, .. }),
            "{err}"
        );
        let err = g("shop.txt", "alice SKU-1 5\nbob SKU-2 3\n").unwrap_err();
        assert!(
            matches!(err, ParseError::AmbiguousFormat { columns: 3, .. }),
            "{err}"
        );
        let err = g("r.txt", "user_id item_id rating\n1 2 5\n").unwrap_err();
        assert!(
            matches!(err, ParseError::SpaceSeparatedHeader { .. }),
            "{err}"
        );
        assert!(
            err.to_string().contains("user_id, item_id, rating"),
            "{err}"
        );
        // KGAT lists stay KGAT.
        let ok = g("train.txt", "0 1 2 3\n1 3\n2 7 9 11 12\n").unwrap();
        assert_eq!(ok.format, Format::Kgat);
    }
}

#[cfg(test)]
mod rdf_tests {
    use super::*;

    fn rdf(name: &str, text: &str) -> Option<String> {
        let sample: Vec<String> = text.lines().map(str::to_owned).collect();
        rdf_graph(Some(name), &sample)
    }

    #[test]
    fn rdf_graphs_are_recognised_by_extension_and_shape() {
        assert!(rdf("g.nt", "1 2 3\n").is_some_and(|b| b.contains(".nt")));
        assert!(rdf("g.ttl", "").is_some());
        assert!(rdf("g.txt", "<http://a/x> <http://a/p> <http://a/y> .\n").is_some());
        assert!(rdf("g.txt", "<http://a/x> <http://a/p> \"label\"@en.\n").is_some());
        assert!(rdf("g.txt", "s:a s:brand s:acme .\n").is_some());
        assert!(
            rdf(
                "g.txt",
                "@prefix s: <http://shop.example/> .\ns:a s:b s:c .\n"
            )
            .is_some()
        );
        assert!(rdf("g.txt", "PREFIX s: <http://shop.example/>\n").is_some());
        // Interaction tables and KGAT lists are no graphs.
        assert_eq!(rdf("train.txt", "0 1 2 3\n1 5 6\n"), None);
        assert_eq!(rdf("r.tsv", "user\titem\nu:1\ti:2\n"), None);
        assert_eq!(rdf("r.txt", "u:1 i:2 5\n"), None);
        assert_eq!(rdf("r.dat", "1::2::5::978300760\n"), None);
        assert_eq!(rdf("prefix.txt", "prefix item\nu1 i1\n"), None);
    }
}
