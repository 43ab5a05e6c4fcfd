//! Interaction and link imports as a new user meets them (issue 21, "imports"): format guesses
//! are reported and ambiguous ones refused, headers are found by accepted names or mapped with
//! `--user-col`-like flags, delimiters are detected, gzip and `-` (stdin) work for interactions
//! and links, link IRIs may be bracketed, missing IRIs are named, conflicting links are refused or
//! warned about, and `import links` adds catalogue items without interactions.

use crate::common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

struct Dir {
    tmp: tempfile::TempDir,
    data: PathBuf,
}

fn dir() -> Dir {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    Dir { tmp, data }
}

impl Dir {
    fn file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.tmp.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn import(&self, file: &Path, extra: &[&str]) -> Output {
        run(kgrec(&self.data)
            .args(["import", "interactions"])
            .arg(file)
            .args(extra))
    }

    fn import_links(&self, file: &Path) -> Output {
        run(kgrec(&self.data).args(["import", "links"]).arg(file))
    }

    /// Imports `file`, which must succeed; returns (stdout, stderr).
    fn accepts(&self, file: &Path, extra: &[&str]) -> (String, String) {
        let out = self.import(file, extra);
        assert!(out.status.success(), "{file:?}: {}", stderr(&out));
        (stdout(&out), stderr(&out))
    }

    /// Expects exit 2 with every needle, and the data directory as it was (or still absent).
    fn rejects(&self, out: &Output, what: &Path, needles: &[&str]) {
        let before = self.data.exists().then(|| stats(&self.data));
        expect_bad_input(out, what, needles);
        match before {
            Some(before) => assert_eq!(stats(&self.data), before, "{what:?} changed the store"),
            None => assert!(!self.data.exists(), "{what:?} left a data directory"),
        }
    }

    fn count(&self, key: &str) -> u64 {
        stats(&self.data)[key].as_u64().unwrap()
    }
}

fn gzip(text: &str) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap()
}

/// The `N linked items` of an import summary.
fn linked(summary: &str) -> u64 {
    let before = summary.split(" linked items").next().unwrap();
    before.rsplit(' ').next().unwrap().parse().unwrap()
}

const RATINGS: &str = "196 242 3 881250949\n186 302 3 891717742\n22 377 1 878887116\n";

#[test]
fn a_txt_rating_table_is_refused_not_read_as_kgat_lists() {
    let d = dir();
    let f = d.file("ratings.txt", RATINGS);
    let out = d.import(&f, &[]);
    d.rejects(
        &out,
        &f,
        &[
            "ratings.txt: ambiguous format",
            "4 columns, the 3rd like a rating and the 4th like a timestamp",
            "--format movielens",
            "--format kgat",
        ],
    );
    let (_, err) = d.accepts(&f, &["--format", "movielens"]);
    assert!(!err.contains("guessed"), "--format given: {err}");
    assert_eq!(
        (d.count("users"), d.count("items"), d.count("interactions")),
        (3, 3, 3),
        "ratings and timestamps are not items"
    );
    // A real KGAT file named .txt is read as KGAT, and says so: by its content, as the README
    // says (lines of different lengths).
    let f = d.file("train.txt", "7 1 2 3 4\n8 5\n");
    let (_, err) = d.accepts(&f, &[]);
    assert!(
        err.contains(
            "note: {}: format kgat (`user item item ...` lines) guessed from the content: \
             space-separated ids"
                .replace("{}", &f.display().to_string())
                .as_str()
        ),
        "{err}"
    );
    assert_eq!(d.count("interactions"), 8);
}

/// `user item rating time` lines with a YYYYMMDD date or a small time were read as KGAT lists
/// (ratings and times became items) with no word: every line the same 3 or 4 numbers is refused
/// as ambiguous, with both --formats named, and nothing is imported.
#[test]
fn a_txt_of_numbers_in_one_width_is_refused_whatever_the_last_column() {
    let d = dir();
    for (name, text) in [
        (
            "dates.txt",
            "1 6 5 20240101\n2 6 4 20240102\n2 7 3 20240103\n",
        ),
        ("small.txt", "1 2 5 100\n1 3 4 200\n2 2 1 300\n"),
        ("three.txt", "1 2 500\n1 3 400\n"),
    ] {
        let f = d.file(name, text);
        let out = d.import(&f, &[]);
        d.rejects(
            &out,
            &f,
            &[
                &format!("{name}: ambiguous format"),
                "--format movielens",
                "--format kgat",
            ],
        );
    }
}

#[test]
fn every_guessed_format_is_noted() {
    let d = dir();
    // An extension that names its own format is no guess: nothing to say.
    for (name, text) in [
        ("r.tsv", "user_id\titem_id\nu1\ti1\n"),
        ("x.inter", "user_id:token\titem_id:token\nu3\ti3\n"),
    ] {
        let (_, err) = d.accepts(&d.file(name, text), &[]);
        assert!(!err.contains("guessed"), "{name}: {err}");
    }
    let cases = [
        (
            "u.data",
            "u2\ti2\t5\t881250949\n",
            "format movielens",
            "extension .data",
        ),
        (
            "export",
            "userId,movieId\nu4,i4\n",
            "format csv",
            "the content",
        ),
        (
            "ratings.dat.txt",
            "u5::i5::4::978300760\n",
            "format movielens",
            "the content",
        ),
    ];
    for (name, text, format, basis) in cases {
        let (_, err) = d.accepts(&d.file(name, text), &[]);
        assert!(err.contains(format) && err.contains(basis), "{name}: {err}");
        assert!(err.contains("--format overrides"), "{name}: {err}");
    }
    assert_eq!(d.count("interactions"), 5);
    let (_, err) = d.accepts(
        &d.file("more.tsv", "user_id\titem_id\nu6\ti6\n"),
        &["--format", "tsv"],
    );
    assert!(!err.contains("guessed"), "{err}");
}

/// A file without a header: `--no-header` reads its first line as data (columns by position);
/// columns given by position without it read the first line as the header and say so; the
/// error for a data-like first line names `--no-header`.
#[test]
fn a_file_without_a_header_keeps_its_first_row() {
    let d = dir();
    let csv = d.file("nohdr.csv", "alice,SKU-1\nbob,SKU-2\n");
    let (out, _) = d.accepts(&csv, &["--no-header"]);
    assert!(out.contains("2 rows read"), "{out}");
    let tsv = d.file("h.tsv", "196\t242\t3\t881250949\n186\t302\t5\t891717742\n");
    let (out, err) = d.accepts(
        &tsv,
        &["--no-header", "--rating-col", "3", "--time-col", "4"],
    );
    assert!(out.contains("2 rows read"), "{out}");
    assert!(!err.contains("ignored"), "{err}");
    let other = dir();
    let (out, err) = other.accepts(&csv, &["--user-col", "1", "--item-col", "2"]);
    assert!(out.contains("1 rows read"), "{out}");
    assert!(
        err.contains("nohdr.csv:1: read as the header (alice, SKU-1); if that line is data, import again with --no-header"),
        "{err}"
    );
    let third = dir();
    let out = third.import(&d.file("n.csv", "1,2\n3,4\n"), &[]);
    third.rejects(&out, Path::new("n.csv"), &["--no-header"]);
    let out = third.import(&tsv, &["--no-header", "--format", "movielens"]);
    third.rejects(
        &out,
        Path::new("h.tsv"),
        &["--no-header applies to tsv and csv"],
    );
}

/// `--no-header` on a file whose first line is a header of accepted names imported `user_id`
/// as a user who had `item_id`: refused, naming the line, for CSV and TSV alike.
#[test]
fn no_header_on_a_file_with_a_header_of_accepted_names_is_refused() {
    let d = dir();
    let csv = d.file(
        "h.csv",
        "user_id,item_id
u1,i1
u2,i2
",
    );
    let out = d.import(&csv, &["--no-header"]);
    d.rejects(
        &out,
        &csv,
        &[
            "h.csv:1: --no-header, but this line is a header of accepted column names \
             (user_id, item_id)",
            "drop --no-header",
        ],
    );
    let tsv = d.file("h.tsv", "user\titem\trating\nu1\ti1\t4\n");
    let out = d.import(&tsv, &["--no-header"]);
    d.rejects(
        &out,
        &tsv,
        &["h.tsv:1: --no-header, but this line is a header"],
    );
    // Names that are no accepted column name may be data: read as such.
    let (out, _) = d.accepts(
        &d.file(
            "n.csv",
            "alice,SKU-1
",
        ),
        &["--no-header"],
    );
    assert!(out.contains("1 rows read"), "{out}");
}

/// A changed rating for a stored pair in an older row was dropped while the summary said
/// "already present"; two rows of one pair with different ratings said only "duplicates
/// merged". Both are named now, with the rule (the latest timestamp wins) and what was kept.
#[test]
fn changed_ratings_that_lose_to_the_merge_rule_are_named() {
    let d = dir();
    let first = d.file("first.csv", "user,item,rating,timestamp\nu1,bjork,5,200\n");
    d.accepts(&first, &[]);
    let older = d.file("older.csv", "user,item,rating,timestamp\nu1,bjork,3,100\n");
    let (out, err) = d.accepts(&older, &[]);
    assert!(out.contains("1 already present"), "{out}");
    assert!(
        err.contains(
            "1 row(s) older than the stored one with another rating (u1, bjork: rating 3 in an \
             older row, stored 5 kept)"
        ),
        "{err}"
    );
    let other = dir();
    let twice = other.file("twice.csv", "user,item,rating\nu1,bjork,5\nu1,bjork,2\n");
    let (out, err) = other.accepts(&twice, &[]);
    assert!(out.contains("1 duplicates merged"), "{out}");
    assert!(
        err.contains("1 conflicting duplicate(s)") && err.contains("u1, bjork: 5 then 2, kept 2"),
        "{err}"
    );
}

/// One 99 among ratings 1 to 5 stretched the inferred scale to 1:99 in silence: said, with
/// --rating-scale; a declared scale refuses it instead.
#[test]
fn an_outlying_rating_that_stretches_the_inferred_scale_is_said() {
    let d = dir();
    let mut text = String::from("user,item,rating\n");
    for n in 0..20 {
        text.push_str(&format!("u{},i{},{}\n", n % 4, n, 1 + n % 5));
    }
    text.push_str("u9,i99,99\n");
    let f = d.file("r99.csv", &text);
    let (_, err) = d.accepts(&f, &[]);
    assert!(
        err.contains("1 rating(s) far outside where nearly all ratings sit (1 to 5): 99"),
        "{err}"
    );
    assert!(err.contains("now runs 1:99"), "{err}");
    assert!(err.contains("--rating-scale MIN:MAX"), "{err}");
    // Ratings that stay in their range are not noted.
    let plain = dir();
    let f = plain.file("plain.csv", text.replace("u9,i99,99\n", "u9,i99,5\n"));
    let (_, err) = plain.accepts(&f, &[]);
    assert!(!err.contains("far outside"), "{err}");
}

/// `--delimiter tab` on a comma file with column flags said only "no such column (found:
/// listener,artist,plays)": now it says the header is one field split by `,`.
#[test]
fn a_wrong_delimiter_with_column_flags_names_the_delimiter_the_header_holds() {
    let d = dir();
    let f = d.file("plays.csv", "listener,artist,plays\nu1,bjork,3\n");
    let out = d.import(
        &f,
        &[
            "--delimiter",
            "tab",
            "--user-col",
            "listener",
            "--item-col",
            "artist",
        ],
    );
    d.rejects(
        &out,
        &f,
        &[
            "the header has no such column (found: listener,artist,plays)",
            "the header was read as one field, and it holds `,`: is the file split by `,`?",
        ],
    );
}

/// Nothing is dropped in silence: rows with fields beyond the header's are an error (an
/// unquoted comma in a title would split it: `bob,Crime, and Punishment` is item `Crime`)
/// unless --ignore-extra-fields says to read their first fields, which a note then counts; a
/// --min-rating that a file without ratings cannot apply is said.
#[test]
fn surplus_fields_and_an_idle_min_rating_are_noted() {
    let d = dir();
    let titles = d.file(
        "titles.csv",
        "customer,book_id\nann,War and Peace\nbob,Crime, and Punishment\ncid,Crime, or Not\n",
    );
    let out = d.import(&titles, &[]);
    d.rejects(
        &out,
        &titles,
        &[
            "titles.csv:3: 2 row(s) have more fields than the header's 2",
            "--ignore-extra-fields",
        ],
    );
    let csv = d.file(
        "longer.csv",
        "user_id,item_id\nu1,A\nu2,B,extra\nu3,C,x,y\n",
    );
    let out = d.import(&csv, &["--min-rating", "4"]);
    d.rejects(&out, &csv, &["longer.csv:3: 2 row(s)"]);
    let (out, err) = d.accepts(&csv, &["--min-rating", "4", "--ignore-extra-fields"]);
    assert!(out.contains("3 rows read"), "{out}");
    assert!(
        err.contains("longer.csv:3: 2 row(s) have more fields than the header's 2"),
        "{err}"
    );
    assert!(
        err.contains("no row has a rating, so --min-rating 4 kept every row"),
        "{err}"
    );
}

#[test]
fn header_aliases_are_accepted_and_unused_columns_named() {
    let d = dir();
    let f = d.file("orders.csv", "customer_id,sku,quantity\nc1,s1,2\nc2,s1,1\n");
    let (out, err) = d.accepts(&f, &[]);
    assert!(
        err.contains("orders.csv:1: column quantity ignored"),
        "{err}"
    );
    assert!(out.contains("2 new interactions"), "{out}");
    assert_eq!((d.count("users"), d.count("items")), (2, 1));
}

#[test]
fn an_unknown_header_lists_the_accepted_names_and_columns_can_be_mapped() {
    let d = dir();
    let f = d.file("w.csv", "who,what,qty,note\nc1,s1,2,x\nc2,s2,5,y\n");
    let out = d.import(&f, &[]);
    d.rejects(
        &out,
        &f,
        &[
            "w.csv:1: the header has no `user_id` column (found: who, what, qty, note)",
            "accepted names: user_id, user, userId, uid, customer_id",
            "--user-col NAME|N",
        ],
    );
    let out = d.import(&f, &["--user-col", "who"]);
    d.rejects(
        &out,
        &f,
        &["no `item_id` column", "sku", "product_id", "--item-col"],
    );
    let out = d.import(&f, &["--user-col", "whom", "--item-col", "2"]);
    d.rejects(
        &out,
        &f,
        &["w.csv:1: --user-col whom: the header has no such column"],
    );
    let out = d.import(&f, &["--user-col", "1", "--item-col", "who"]);
    d.rejects(&out, &f, &["--user-col and --item-col both name column 1"]);
    let out = d.import(&f, &["--user-col", "9", "--item-col", "2"]);
    d.rejects(&out, &f, &["--user-col 9"]);

    let (out, err) = d.accepts(
        &f,
        &[
            "--user-col",
            "who",
            "--item-col",
            "2",
            "--rating-col",
            "qty",
            "--min-rating",
            "3",
        ],
    );
    assert!(err.contains("w.csv:1: column note ignored"), "{err}");
    assert!(
        out.contains("2 rows read, 1 below --min-rating"),
        "qty is the rating: {out}"
    );
    assert_eq!(d.count("interactions"), 1);
    // Column flags do not apply to formats without a header.
    let k = d.file("k.txt", "a b c\n");
    let out = d.import(&k, &["--user-col", "1"]);
    d.rejects(
        &out,
        &k,
        &["--user-col applies to files with a header", "kgat"],
    );
}

#[test]
fn delimiters_are_detected_or_hinted() {
    let d = dir();
    let f = d.file("semi.csv", "user;item;rating\n\"u;1\";i1;4\nu2;i1;5\n");
    let (_, err) = d.accepts(&f, &[]);
    assert!(
        err.contains(
            "semi.csv:1: the header is split by `;`, not by `,`: the file is read with `;` \
             (--delimiter overrides)"
        ),
        "{err}"
    );
    assert_eq!(d.count("users"), 2, "the quoted `u;1` is one id");
    let p = d.file("pipes.tsv", "user_id|item_id\nu3|i2\n");
    let (_, err) = d.accepts(&p, &[]);
    assert!(err.contains("split by `|`, not by tab"), "{err}");
    // --delimiter overrides: the header is then one column, and the message says what to do.
    let out = d.import(&f, &["--delimiter", ","]);
    d.rejects(&out, &f, &["semi.csv:1", "single column", "--delimiter"]);
    let out = d.import(&f, &["--delimiter", "ab"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let (_, err) = d.accepts(&f, &["--delimiter", ";"]);
    assert!(!err.contains("split by"), "given, not detected: {err}");
}

#[test]
fn interactions_may_be_gzipped_or_on_stdin() {
    let d = dir();
    let text = "user_id\titem_id\trating\nu1\ti1\t4\nu2\ti2\t5\n";
    let (out, _) = d.accepts(&d.file("r.tsv.gz", gzip(text)), &[]);
    assert!(out.contains("2 new interactions"), "{out}");
    let (_, err) = d.accepts(
        &d.file("plain.tsv", gzip("user_id\titem_id\nu3\ti3\n")),
        &[],
    );
    assert!(
        err.contains("gzip-compressed (recognised by its first bytes)"),
        "{err}"
    );

    let stdin = |input: &[u8], extra: &[&str]| {
        run_stdin(
            kgrec(&d.data)
                .args(["import", "interactions", "-"])
                .args(extra),
            input,
        )
    };
    let out = stdin(b"user_id,item_id\nu4,i4\n", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("imported <stdin>:"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("<stdin>: format csv") && stderr(&out).contains("the content"),
        "{}",
        stderr(&out)
    );
    let out = stdin(&gzip("u5::i5::4::978300760\n"), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = stdin(b"u6 i6 2 881250949\n", &["--format", "movielens"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(d.count("interactions"), 6);

    let out = stdin(RATINGS.as_bytes(), &[]);
    d.rejects(&out, Path::new("-"), &["<stdin>: ambiguous format"]);
    let out = stdin(b"user_id\titem_id\nu\ti\n", &["--link", "-"]);
    d.rejects(&out, Path::new("-"), &["cannot both be `-`"]);
    let fake = d.file("fake.tsv.gz", "user_id\titem_id\nu\ti\n");
    let out = d.import(&fake, &[]);
    d.rejects(
        &out,
        &fake,
        &["fake.tsv.gz: named .gz but is not a gzip file"],
    );
    let mut cut = gzip(text);
    cut.truncate(cut.len() - 8);
    let cut = d.file("cut.tsv.gz", cut);
    let out = d.import(&cut, &[]);
    d.rejects(&out, &cut, &["cut.tsv.gz: cannot read"]);
}

#[test]
fn link_files_may_be_gzipped_or_on_stdin_and_iris_bracketed() {
    let d = dir();
    import_movie_graph(&d.data);
    let rows = d.file("few.tsv", "user_id\titem_id\nz\t1\nz\t2\n");
    let links = "item_id\tiri\n1\t<http://dbpedia.org/resource/Toy_Story>\n\
                 2\thttp://dbpedia.org/resource/GoldenEye\n";
    let gz = d.file("links.tsv.gz", gzip(links));
    let (out, err) = d.accepts(&rows, &["--link", gz.to_str().unwrap()]);
    assert!(
        !err.contains("not in the knowledge graph"),
        "brackets removed: {err}"
    );
    assert_eq!(linked(&out), 2, "{out}");
    let out = run_stdin(
        kgrec(&d.data)
            .args(["import", "interactions"])
            .arg(&rows)
            .args(["--link", "-"]),
        links.as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("0 links set"),
        "the same links again: {}",
        stdout(&out)
    );
    let out = run_stdin(
        kgrec(&d.data).args(["import", "links", "-"]),
        &gzip("item_id\tiri\n3\t<http://dbpedia.org/resource/Heat_(1995_film)>\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("imported links <stdin>: 1 links read"),
        "{}",
        stdout(&out)
    );
    // A well-known prefix (as filters take them) is expanded.
    let prefixed = d.file("prefixed.tsv", "item_id\tiri\n4\tdbr:Fargo_(film)\n");
    let out = d.import_links(&prefixed);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("not in the knowledge graph"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn missing_iris_are_named() {
    let d = dir();
    import_movie_graph(&d.data);
    let mut text = String::from("item_id\tiri\n1\thttp://dbpedia.org/resource/Toy_Story\n");
    for k in 1..=7 {
        text.push_str(&format!("m{k}\t<http://example.org/missing/{k}>\n"));
    }
    let link = d.file("links.tsv", text);
    let out = d.import_links(&link);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "warning: {}: 7 linked IRI(s) are not in the knowledge graph",
            link.display()
        )),
        "{err}"
    );
    for k in 1..=5 {
        assert!(
            err.contains(&format!("<http://example.org/missing/{k}> (item m{k})")),
            "{k}: {err}"
        );
    }
    assert!(
        !err.contains("missing/6"),
        "only the first five are named: {err}"
    );
    assert!(err.contains("and 2 more"), "{err}");
}

#[test]
fn an_item_linked_to_two_iris_in_one_file_is_refused_naming_both_lines() {
    let d = dir();
    import_movie_graph(&d.data);
    let link = d.file(
        "twice.tsv",
        "item_id\tiri\n1\t<http://dbpedia.org/resource/Toy_Story>\n2\thttp://x/b\n\
         1\thttp://dbpedia.org/resource/Toy_Story\n1\thttp://dbpedia.org/resource/GoldenEye\n",
    );
    let out = d.import_links(&link);
    d.rejects(
        &out,
        &link,
        &[
            "twice.tsv:5: item \"1\" is linked to <http://dbpedia.org/resource/GoldenEye> here and \
             to <http://dbpedia.org/resource/Toy_Story> on line 2",
        ],
    );
    let rows = d.file("r.tsv", "user_id\titem_id\nz\t1\n");
    let out = d.import(&rows, &["--link", link.to_str().unwrap()]);
    d.rejects(&out, &link, &["twice.tsv:5", "line 2"]);
}

#[test]
fn a_link_that_changes_an_items_iri_is_a_warning_naming_both() {
    let d = dir();
    import_movie_graph(&d.data);
    let first = d.file(
        "first.tsv",
        "item_id\tiri\n1\thttp://dbpedia.org/resource/Toy_Story\n",
    );
    let second = d.file(
        "second.tsv",
        "item_id\tiri\n1\t<http://dbpedia.org/resource/GoldenEye>\n",
    );
    let out = d.import_links(&first);
    assert!(
        out.status.success() && !stderr(&out).contains("warning"),
        "{}",
        stderr(&out)
    );
    let out = d.import_links(&second);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "warning: {}: item 1 was linked to <http://dbpedia.org/resource/Toy_Story>; it is now \
             linked to <http://dbpedia.org/resource/GoldenEye> (the new link replaces the stored \
             one)",
            second.display()
        )),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("1 relinked"), "{}", stdout(&out));
    let out = d.import_links(&second);
    assert!(
        !stderr(&out).contains("warning"),
        "the same link again: {}",
        stderr(&out)
    );

    // A bare token stored before the graph knew it, resolved later: the same link, no warning.
    let token = d.file("token.tsv", "item_id\tentity_id\n7\tm.0abc\n");
    assert!(d.import_links(&token).status.success());
    let kg = d.file("kg.tsv", "m.0abc\tgenre\tm.0def\n");
    ok(kgrec(&d.data).args(["import", "kg"]).arg(&kg));
    let out = d.import_links(&token);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("1 links set"),
        "now resolved: {}",
        stdout(&out)
    );
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
}

#[test]
fn import_links_adds_catalogue_items_without_interactions() {
    let d = dir();
    // A bad link file leaves no data directory behind.
    let bad = d.file("bad.tsv", "item_id\tlabel\n1\tToy Story\n");
    let out = d.import_links(&bad);
    d.rejects(
        &out,
        &bad,
        &["bad.tsv:1", "no `iri` column", "accepted names: iri, uri"],
    );

    import_movie_graph(&d.data);
    ok(kgrec(&d.data)
        .args(["import", "interactions"])
        .arg(fixture("interactions.tsv")));
    let (items, interactions) = (d.count("items"), d.count("interactions"));
    let link = d.file(
        "catalogue.tsv",
        "item_id\tiri\n1\thttp://dbpedia.org/resource/Toy_Story\n\
         9001\t<http://dbpedia.org/resource/Jaws_(film)>\n9002\thttp://example.org/new-film\n",
    );
    let out = d.import_links(&link);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = stdout(&out);
    assert!(
        summary.starts_with(&format!(
            "imported links {}: 3 links read; 3 links set, 2 new catalogue items, 0 relinked;",
            link.display()
        )),
        "{summary}"
    );
    assert_eq!(linked(&summary), 3);
    assert_eq!(d.count("items"), items + 2);
    assert_eq!(
        d.count("interactions"),
        interactions,
        "no interaction added"
    );
    assert!(stderr(&out).contains("1 linked IRI(s)"), "{}", stderr(&out));
}

/// Ids with surrounding spaces are kept exactly (they come back out as they went in), and a
/// note says so, naming them; in a link file too.
#[test]
fn ids_with_surrounding_spaces_round_trip_and_are_named() {
    let d = dir();
    let file = d.file(
        "spaced.csv",
        "user_id,item_id\nalice,SKU-1\nalice ,SKU-2\nbob,SKU-2\nbob,SKU-3\n",
    );
    let (_, err) = d.accepts(&file, &[]);
    assert!(
        err.contains(&format!(
            "note: {}: 1 id(s) start or end with white space and are kept as written, so \
             \"alice \" and \"alice\" are different users: user \"alice \" (the file also has \
             \"alice\")",
            file.display()
        )),
        "{err}"
    );
    assert_eq!(d.count("users"), 3);
    ok(kgrec(&d.data).args(["train", "--model", "pop", "-q"]));
    let recs = d.tmp.path().join("recs.tsv");
    ok(kgrec(&d.data)
        .args(["recommend", "--all-users", "-k", "1", "--out"])
        .arg(&recs));
    let text = std::fs::read_to_string(&recs).unwrap();
    assert!(text.lines().any(|l| l.starts_with("alice \t")), "{text:?}");
    assert!(text.lines().any(|l| l.starts_with("alice\t")), "{text:?}");
    let links = d.file("spaced.tsv", "item_id\tiri\n SKU-9\thttp://e/9\n");
    let out = d.import_links(&links);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("spaced.tsv: 1 id(s) start or end with white space")
            && stderr(&out).contains("item \" SKU-9\""),
        "{}",
        stderr(&out)
    );
}

/// A link file whose item column has the shop's own name is read when it is the only column
/// beside the IRI's (and said); two items on one IRI are allowed, and said.
#[test]
fn link_files_with_their_own_item_column_and_shared_iris_are_read_and_said() {
    let d = dir();
    let purchases = d.file(
        "purchases.csv",
        "client,article\nc1,SKU1\nc1,SKU2\nc2,SKU2\nc2,SKU3\n",
    );
    let links = d.file(
        "links.tsv",
        "article\tiri\nSKU1\thttp://e.org/p1\nSKU2\thttp://e.org/p2\nSKU3\thttp://e.org/p2\n",
    );
    let (out, err) = d.accepts(
        &purchases,
        &[
            "--user-col",
            "client",
            "--item-col",
            "article",
            "--link",
            links.to_str().unwrap(),
        ],
    );
    assert_eq!(linked(&out), 3, "{out}");
    assert!(
        err.contains("column `article` read as the item id"),
        "{err}"
    );
    assert!(
        err.contains("1 IRI(s) are linked to more than one item, e.g. <http://e.org/p2> to \"SKU2\", \"SKU3\""),
        "{err}"
    );
    // A later comma-separated link file giving a stored item's IRI to another item names the
    // stored twin.
    let later = d.file("later.csv", "item_id,iri\nSKU7,http://e.org/p1\n");
    let out = d.import_links(&later);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "1 IRI(s) linked here were already linked to other stored items: <http://e.org/p1> \
             (here: \"SKU7\"; stored: \"SKU1\")"
        ),
        "{}",
        stderr(&out)
    );
    // A value with blanks is a TSV graph's token, and said to be.
    let tokens = d.file("tokens.tsv", "item_id\tiri\nSKU9\tnot an iri\n");
    let out = d.import_links(&tokens);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 link value(s) with blanks are read as tokens of a TSV graph"),
        "{}",
        stderr(&out)
    );
    // Three columns, none of them an item's: refused, naming the accepted names.
    let wide = d.file("wide.tsv", "article\tname\tiri\nSKU1\tx\thttp://e.org/p1\n");
    let out = d.import_links(&wide);
    d.rejects(&out, &wide, &["no `item_id` column"]);
}
