//! Tests of the interaction parsers, the row clean-ups and the link file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Cursor;
use std::path::Path;

use proptest::prelude::*;

use super::*;

fn parse(text: &str, format: Format) -> Result<RawInteractions, ParseError> {
    parse_reader(Cursor::new(text.as_bytes()), Path::new("in.x"), format)
}

fn pairs(r: &RawInteractions) -> Vec<(&str, &str)> {
    r.rows
        .iter()
        .map(|r| (r.user.as_str(), r.item.as_str()))
        .collect()
}

#[test]
fn tsv_with_all_columns_in_any_order() {
    let r = parse(
        "item_id\ttimestamp\tuser_id\trating\n10\t99\t1\t4.5\n11\t\t2\t3\n",
        Format::Tsv,
    )
    .unwrap();
    assert_eq!(pairs(&r), [("1", "10"), ("2", "11")]);
    assert_eq!(r.rows[0].rating, Some(4.5));
    assert_eq!(r.rows[0].timestamp, Some(99));
    assert_eq!(
        r.rows[1].timestamp, None,
        "an empty timestamp is unknown, not an error"
    );
    assert_eq!(r.rows[0].count, 1);
}

#[test]
fn tsv_without_optional_columns_and_with_crlf_and_blank_lines() {
    let r = parse("user_id\titem_id\r\n\r\nu 1\ti 1\r\n", Format::Tsv).unwrap();
    assert_eq!(
        pairs(&r),
        [("u 1", "i 1")],
        "ids with spaces survive in TSV"
    );
    assert_eq!(r.rows[0].rating, None);
}

#[test]
fn recbole_typed_header_and_float_timestamps() {
    let text =
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t242\t3\t881250949.0\n";
    let r = parse(text, Format::RecBole).unwrap();
    assert_eq!(pairs(&r), [("196", "242")]);
    assert_eq!(r.rows[0].timestamp, Some(881_250_949));
}

#[test]
fn big_and_unicode_ids_stay_strings() {
    let text = "user_id\titem_id\n1099511627776\tÉlodie 🎬\n01\t1099511627777\n";
    let r = parse(text, Format::Tsv).unwrap();
    assert_eq!(
        pairs(&r),
        [("1099511627776", "Élodie 🎬"), ("01", "1099511627777")],
        "leading zeros are kept"
    );
}

#[test]
fn csv_quotes_and_movielens_names() {
    let text = "userId,movieId,rating,timestamp\n\"a,b\",\"say \"\"hi\"\"\",4.0,1\n";
    let r = parse(text, Format::Csv).unwrap();
    assert_eq!(pairs(&r), [("a,b", "say \"hi\"")]);
    assert_eq!(r.rows[0].rating, Some(4.0));
}

#[test]
fn movielens_udata_and_ratings_dat() {
    let r = parse(
        "196\t242\t3\t881250949\n186\t302\t3\t891717742\n",
        Format::MovieLens,
    )
    .unwrap();
    assert_eq!(pairs(&r), [("196", "242"), ("186", "302")]);
    let r = parse("1::1193::5::978300760\n", Format::MovieLens).unwrap();
    assert_eq!(pairs(&r), [("1", "1193")]);
    assert_eq!(
        (r.rows[0].rating, r.rows[0].timestamp),
        (Some(5.0), Some(978_300_760))
    );
    // A header line of names is skipped, and only a first line.
    let r = parse(
        "UserID::MovieID::Rating::Timestamp\n1::1193::5::978300760\n",
        Format::MovieLens,
    )
    .unwrap();
    assert_eq!(pairs(&r), [("1", "1193")]);
    let e = parse(
        "1::1193::5::978300760\nUserID::MovieID::Rating::Timestamp\n",
        Format::MovieLens,
    )
    .unwrap_err();
    assert!(e.to_string().contains(":2:"), "{e}");
    // A headed two-column table read as MovieLens: the field count and the way out.
    let e = parse("user_id\titem_id\nu1\ti1\n", Format::MovieLens).unwrap_err();
    let e = e.to_string();
    assert!(
        e.contains(":2: 2 field(s), where MovieLens rows have 3 or 4"),
        "{e}"
    );
    assert!(e.contains("header (user_id, item_id)"), "{e}");
    assert!(e.contains("drop --format movielens"), "{e}");
}

#[test]
fn a_byte_order_mark_is_dropped() {
    let r = parse("\u{feff}1\t2\t5\t9\n", Format::MovieLens).unwrap();
    assert_eq!(pairs(&r), [("1", "2")]);
    let r = parse("\u{feff}user_id\titem_id\na\tb\n", Format::Tsv).unwrap();
    assert_eq!(pairs(&r), [("a", "b")]);
    // Only the file's first character is a BOM: one further on (files joined with `cat`) is
    // refused rather than kept in an id.
    let e = parse("\u{feff}user_id\titem_id\n\u{feff}a\tb\n", Format::Tsv).unwrap_err();
    assert!(
        e.to_string().contains(":2: field 1: a byte-order mark"),
        "{e}"
    );
}

#[test]
fn kgat_lines() {
    let r = parse("0 1 2  3\n7\n1 4\n", Format::Kgat).unwrap();
    assert_eq!(pairs(&r), [("0", "1"), ("0", "2"), ("0", "3"), ("1", "4")]);
    assert!(matches!(
        parse("3\n4\n", Format::Kgat),
        Err(ParseError::NoInteractions { lines: 2, .. })
    ));
}

#[test]
fn errors_name_file_line_and_column() {
    let e = parse(
        "user_id\titem_id\trating\n1\t2\t5\n1\t3\tgood\n",
        Format::Tsv,
    )
    .unwrap_err();
    assert!(
        matches!(&e, ParseError::NotANumber { line: 3, column: 3, field: "rating", value, .. } if value == "good"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "in.x:3:3: `rating` is not a number: \"good\""
    );

    let e = parse("user\trating\n1\t2\n", Format::Tsv).unwrap_err();
    assert!(
        matches!(
            e,
            ParseError::MissingColumn {
                line: 1,
                column: "item_id",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("user, rating"), "{e}");

    let e = parse("user_id\titem_id\trating\n1\t2\n", Format::Tsv).unwrap_err();
    assert!(
        matches!(
            e,
            ParseError::MissingField {
                line: 2,
                column: 3,
                field: "rating",
                found: 2,
                ..
            }
        ),
        "{e:?}"
    );

    let e = parse("user_id\titem_id\n\t2\n", Format::Tsv).unwrap_err();
    assert!(
        matches!(
            e,
            ParseError::EmptyField {
                line: 2,
                column: 1,
                ..
            }
        ),
        "{e:?}"
    );

    assert!(matches!(
        parse("", Format::Tsv),
        Err(ParseError::Empty { .. })
    ));
    assert!(matches!(
        parse("\n \n", Format::Csv),
        Err(ParseError::Empty { .. })
    ));
    assert!(matches!(
        parse("", Format::MovieLens),
        Err(ParseError::Empty { .. })
    ));
    assert!(matches!(
        parse("", Format::Kgat),
        Err(ParseError::Empty { .. })
    ));
    assert!(matches!(
        parse("user_id\titem_id\n", Format::Tsv),
        Err(ParseError::HeaderOnly { line: 1, .. })
    ));
    assert!(matches!(
        parse("user_id,item_id\n\n", Format::Csv),
        Err(ParseError::HeaderOnly { line: 1, .. })
    ));

    let e = parse("1\t2\tNaN\n", Format::MovieLens).unwrap_err();
    assert!(
        matches!(
            e,
            ParseError::NotANumber {
                line: 1,
                column: 3,
                ..
            }
        ),
        "{e:?}"
    );
    let e = parse("1\t2\t3\tyesterday\n", Format::MovieLens).unwrap_err();
    assert!(
        matches!(
            e,
            ParseError::NotANumber {
                line: 1,
                column: 4,
                field: "timestamp",
                ..
            }
        ),
        "{e:?}"
    );

    let e = parse_reader(
        Cursor::new(b"user_id\titem_id\n1\t\xff\n".as_slice()),
        Path::new("f"),
        Format::Tsv,
    )
    .unwrap_err();
    assert!(matches!(e, ParseError::Malformed { line: 2, .. }), "{e:?}");

    // CSV errors count physical lines: the quoted note spanning lines 2-3 puts the bad row on
    // line 4.
    let e = parse(
        "user_id,item_id,rating,note\na,x,5,\"two\nlines\"\nc,y,bad,z\n",
        Format::Csv,
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            ParseError::NotANumber {
                line: 4,
                column: 3,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn file_level_errors() {
    let e = parse_file(Path::new("/nonexistent/x.tsv"), None).unwrap_err();
    assert!(matches!(e, ParseError::Io { .. }) && e.to_string().starts_with("/nonexistent/x.tsv"));
    let dir = tempfile::tempdir().unwrap();
    let weird = dir.path().join("x.weird");
    std::fs::write(&weird, "a\tb\n").unwrap();
    let e = parse_file(&weird, None).unwrap_err();
    assert!(matches!(e, ParseError::UnknownFormat { .. }), "{e:?}");
    let e = parse_file(dir.path(), None).unwrap_err();
    assert!(
        matches!(e, ParseError::Io { .. }) && e.to_string().contains("is a directory"),
        "{e}"
    );
}

#[test]
fn guessing_reads_a_real_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u.data");
    std::fs::write(&path, "1\t2\t5\t10\n").unwrap();
    let r = parse_file(&path, None).unwrap();
    assert_eq!(r.format, Format::MovieLens);
    assert_eq!(pairs(&r), [("1", "2")]);
}

#[test]
fn an_empty_rating_cell_is_a_row_without_a_rating() {
    for (text, format) in [
        ("user_id,item_id,rating\nu2,i1,5\nu2,i2,\n", Format::Csv),
        (
            "user_id\titem_id\trating\nu2\ti1\t5\nu2\ti2\t \n",
            Format::Tsv,
        ),
        ("u2\ti1\t5\t1\nu2\ti2\t\t2\n", Format::MovieLens),
    ] {
        let r = parse(text, format).unwrap();
        let ratings: Vec<_> = r.rows.iter().map(|r| r.rating).collect();
        assert_eq!(ratings, [Some(5.0), None], "{format}");
        assert_eq!(r.empty_ratings, 1, "{format}");
        assert!(
            r.notes()
                .iter()
                .any(|n| n.contains("1 row(s) have an empty rating cell: read as unrated")),
            "{format}: {:?}",
            r.notes()
        );
    }
    // A row short of the rating field is still refused.
    assert!(parse("user_id,item_id,rating\nu2,i1\n", Format::Csv).is_err());
}

fn row(u: &str, i: &str, rating: Option<f32>, ts: Option<i64>) -> RawInteraction {
    RawInteraction {
        user: u.into(),
        item: i.into(),
        rating,
        timestamp: ts,
        count: 1,
        stamps: Vec::new(),
    }
}

#[test]
fn min_rating_keeps_unrated_rows() {
    let mut rows = vec![
        row("a", "1", Some(3.0), None),
        row("a", "2", Some(4.0), None),
        row("b", "1", None, None),
    ];
    assert_eq!(filter_min_rating(&mut rows, 4.0), 1);
    assert_eq!(
        rows.iter().map(|r| r.item.as_str()).collect::<Vec<_>>(),
        ["2", "1"]
    );
}

#[test]
fn merging_duplicates_counts_and_keeps_the_latest_rating() {
    let mut rows = vec![
        row("a", "1", Some(2.0), Some(5)),
        row("b", "1", Some(1.0), Some(1)),
        row("a", "1", Some(5.0), Some(9)),
        row("a", "1", Some(3.0), Some(7)),
    ];
    assert_eq!(merge_duplicates(&mut rows), 2);
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (
            rows[0].user.as_str(),
            rows[0].count,
            rows[0].rating,
            rows[0].timestamp
        ),
        ("a", 3, Some(5.0), Some(9))
    );
    assert_eq!(rows[1].count, 1);
    assert_eq!(merge_duplicates(&mut rows), 0);
}

#[test]
fn merging_duplicates_never_lets_a_row_without_a_rating_erase_one() {
    let mut rows = vec![
        row("a", "1", Some(2.0), None),
        row("a", "1", None, None),
        row("b", "1", None, Some(3)),
        row("b", "1", Some(4.0), Some(1)),
    ];
    assert_eq!(
        rating_conflicts(&rows),
        None,
        "a missing rating is no conflict"
    );
    assert_eq!(merge_duplicates(&mut rows), 2);
    let kept: Vec<_> = rows.iter().map(|r| (r.rating, r.timestamp)).collect();
    assert_eq!(kept, [(Some(2.0), None), (Some(4.0), Some(3))]);
}

#[test]
fn merged_rows_keep_their_timestamps_to_split_at_a_stored_one() {
    let mut rows = vec![
        row("a", "1", None, Some(5)),
        row("a", "1", None, None),
        row("a", "1", None, Some(9)),
        row("a", "1", None, Some(7)),
    ];
    merge_duplicates(&mut rows);
    let a = &rows[0];
    assert_eq!((a.count, a.timestamp, a.untimed()), (4, Some(9), 1));
    assert_eq!(a.split_at(Some(6)), (2, 2), "9 and 7 are later than 6");
    assert_eq!(a.split_at(Some(9)), (0, 4), "at the stored time: seen");
    assert_eq!(
        a.split_at(Some(1)),
        (3, 1),
        "the untimed row is never later"
    );
    assert_eq!(a.split_at(None), (0, 4), "nothing stored to compare with");
    let single = row("b", "1", None, Some(3));
    assert_eq!(single.split_at(Some(2)), (1, 0));
    assert_eq!(single.split_at(Some(3)), (0, 1));
    assert_eq!(row("b", "1", None, None).untimed(), 1);
}

#[test]
fn millisecond_timestamps_are_stored_as_seconds() {
    let text = "user_id,item_id,timestamp\nu,a,1672563563000\nu,b,1672563564999\n";
    let auto = read(text, "m.csv", &ReadOptions::default()).unwrap();
    let stamps: Vec<_> = auto.rows.iter().map(|r| r.timestamp).collect();
    assert_eq!(stamps, [Some(1_672_563_563), Some(1_672_563_564)]);
    assert_eq!(auto.millis_converted, Some(2));
    assert!(
        auto.notes()
            .iter()
            .any(|n| n.contains("2 converted to the seconds kgrec stores")),
        "{:?}",
        auto.notes()
    );
    let as_given = ReadOptions {
        time_unit: TimeUnit::Seconds,
        ..ReadOptions::default()
    };
    let kept = read(text, "m.csv", &as_given).unwrap();
    assert_eq!(kept.rows[0].timestamp, Some(1_672_563_563_000));
    assert_eq!(kept.millis_converted, None);
    assert!(
        kept.notes()
            .iter()
            .any(|n| n.contains("--time-unit s stores them as seconds")),
        "{:?}",
        kept.notes()
    );
    // Declared milliseconds: small numbers too; an ISO date stays a date.
    let millis = ReadOptions {
        time_unit: TimeUnit::Milliseconds,
        ..ReadOptions::default()
    };
    let text = "user_id,item_id,timestamp\nu,a,86400000\nu,b,1970-01-03\n";
    let r = read(text, "m.csv", &millis).unwrap();
    let stamps: Vec<_> = r.rows.iter().map(|r| r.timestamp).collect();
    assert_eq!(stamps, [Some(86_400), Some(172_800)]);
    // Seconds stay seconds.
    let text = "user_id,item_id,timestamp\nu,a,1704067200\n";
    let r = read(text, "s.csv", &ReadOptions::default()).unwrap();
    assert_eq!(r.rows[0].timestamp, Some(1_704_067_200));
    assert_eq!(r.millis_converted, None);
}

#[test]
fn a_file_mixing_milliseconds_and_seconds_is_refused() {
    let text = "user_id,item_id,timestamp\nu,a,1704067200\nu,b,1704067200000\nu,c,\n";
    let err = read(text, "mix.csv", &ReadOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            ParseError::MixedTimeUnits {
                millis: 1,
                seconds: 1,
                big: 1_704_067_200_000,
                big_line: 3,
                small: 1_704_067_200,
                small_line: 2,
                ..
            }
        ),
        "{err:?}"
    );
    let said = err.to_string();
    assert!(
        said.contains("mix.csv: 1 timestamp(s) look like milliseconds"),
        "{said}"
    );
    assert!(
        said.contains("on line 3") && said.contains("on line 2"),
        "{said}"
    );
    assert!(said.contains("--time-unit ms or --time-unit s"), "{said}");
    let declared = ReadOptions {
        time_unit: TimeUnit::Milliseconds,
        ..ReadOptions::default()
    };
    let r = read(text, "mix.csv", &declared).unwrap();
    assert_eq!(r.rows[0].timestamp, Some(1_704_067));
}

#[test]
fn link_files() {
    let text = "item_id\tiri\n1\thttp://x/A\n2\thttp://x/A\n1\thttp://x/A\n";
    let links = parse_link_reader(Cursor::new(text), Path::new("l.tsv")).unwrap();
    assert_eq!(
        links.len(),
        2,
        "a repeated identical link is folded; two items may share an IRI"
    );
    let recbole = "item_id:token\tentity_id:token\n476\tm.08gjyx\n";
    assert_eq!(
        parse_link_reader(Cursor::new(recbole), Path::new("l")).unwrap()[0].iri,
        "m.08gjyx"
    );
    let e =
        parse_link_reader(Cursor::new("item_id\tiri\n1\ta\n1\tb\n"), Path::new("l")).unwrap_err();
    assert!(
        matches!(e, ParseError::Malformed { line: 3, .. }) && e.to_string().contains("line 2"),
        "{e}"
    );
    let e = parse_link_reader(Cursor::new("item_id\tlabel\n1\ta\n"), Path::new("l")).unwrap_err();
    assert!(matches!(e, ParseError::MissingColumn { column: "iri", .. }));
    let e = parse_link_reader(Cursor::new("item_id\tiri\n"), Path::new("l")).unwrap_err();
    assert!(matches!(e, ParseError::HeaderOnly { .. }));
    let e = parse_link_reader(Cursor::new("item_id\tiri\n7\n"), Path::new("l")).unwrap_err();
    assert!(matches!(
        e,
        ParseError::MissingField {
            line: 2,
            column: 2,
            ..
        }
    ));
}

fn read(text: &str, name: &str, options: &ReadOptions) -> Result<RawInteractions, ParseError> {
    read_reader(
        Cursor::new(text.as_bytes().to_vec()),
        Path::new(name),
        options,
    )
}

fn gzip(text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap()
}

#[test]
fn a_guess_comes_back_as_a_note() {
    // A .tsv is a TSV: nothing to say.
    let r = read("user_id\titem_id\n1\t2\n", "r.tsv", &ReadOptions::default()).unwrap();
    assert_eq!(r.notes(), Vec::<String>::new());
    let r = read("0 1 2\n1 3\n", "train.txt", &ReadOptions::default()).unwrap();
    assert_eq!(r.format, Format::Kgat);
    assert!(
        r.notes()[0].contains("guessed from the content: space-separated ids"),
        "{:?}",
        r.notes()
    );
    let r = read(
        "user_id\titem_id\n1\t2\n",
        "r.tsv",
        &ReadOptions::format(Some(Format::Tsv)),
    )
    .unwrap();
    assert_eq!(
        r.notes(),
        Vec::<String>::new(),
        "--format given: nothing guessed"
    );
}

#[test]
fn rating_tables_named_txt_are_refused_and_read_with_format() {
    let text = "196 242 3 881250949\n186 302 3 891717742\n";
    let e = read(text, "ratings.txt", &ReadOptions::default()).unwrap_err();
    assert!(
        matches!(e, ParseError::AmbiguousFormat { columns: 4, .. }),
        "{e:?}"
    );
    let r = read(
        text,
        "ratings.txt",
        &ReadOptions::format(Some(Format::MovieLens)),
    )
    .unwrap();
    assert_eq!(pairs(&r), [("196", "242"), ("186", "302")]);
    assert_eq!(
        (r.rows[1].rating, r.rows[1].timestamp),
        (Some(3.0), Some(891_717_742))
    );
}

/// #21: an ignored column is proposed as the rating only when it could be one: not a column
/// named like an identifier (`transactionid`, `order_id`, `sessionId`), nor one empty on most
/// rows; a column of times (whatever its name) is proposed as the timestamp instead, and only
/// when `--time-col` would read its values.
#[test]
fn ids_and_sparse_columns_are_not_proposed_as_ratings_and_times_are_named_as_times() {
    let notes = |text: &str, name: &str| read(text, name, &ReadOptions::default()).unwrap().notes();
    // RetailRocket: transactionid holds numbers, but is an id and empty on most rows.
    let rr = notes(
        "timestamp,visitorid,event,itemid,transactionid
         1433221332,21,view,130,
1433221392,4,addtocart,102,
1433221400,4,transaction,102,77
",
        "rr.csv",
    );
    assert!(rr.iter().all(|n| !n.contains("--rating-col")), "{rr:?}");
    assert!(
        rr.iter().any(|n| n.contains("transactionid ignored")),
        "{rr:?}"
    );
    for id in ["order_id", "sessionId", "Order ID", "basket-id"] {
        let n = notes(&format!("user,item,{id}\nu,i,17\nu,j,18\n"), "o.csv");
        assert!(n.iter().all(|n| !n.contains("--rating-col")), "{id}: {n:?}");
    }
    // Filled on half the rows: still proposed; on fewer: not.
    let half = notes("user,item,qty\nu,i,2\nu,j,\n", "h.csv");
    assert!(
        half.iter().any(|n| n.contains("--rating-col qty")),
        "{half:?}"
    );
    let sparse = notes("user,item,qty\nu,i,2\nu,j,\nu,k,\n", "s.csv");
    assert!(
        sparse.iter().all(|n| !n.contains("--rating-col")),
        "{sparse:?}"
    );
    // Dates under any name, ISO date-times and seconds (or milliseconds) since 1970:
    // --time-col NAME, and never --rating-col; values --time-col would not read (a day-first
    // date, small numbers, a far future): no time hint, whatever the name.
    for (column, values, hinted) in [
        ("дата", ["2024-05-01", "2024-05-02"], true),
        ("seen", ["2024-05-01T10:00:00Z", "2024-05-02 11:30"], true),
        ("epoch", ["1714550400", "1714636800"], true),
        ("millis", ["1714550400000", "1714636800000"], true),
        ("datum", ["01/05/2024", "02/05/2024"], false),
        ("day", ["3", "4"], false),
        ("until", ["9999-12-31", "9999-12-31"], false),
    ] {
        let n = notes(
            &format!("user,item,{column}\nu,i,{}\nu,j,{}\n", values[0], values[1]),
            "t.csv",
        );
        let hint = n.iter().any(|n| {
            n.contains(&format!("column {column} looks like a time"))
                && n.contains(&format!("--time-col {column}"))
        });
        assert_eq!(hint, hinted, "{column}: {n:?}");
        assert!(
            !hinted || n.iter().all(|n| !n.contains("--rating-col")),
            "{column}: {n:?}"
        );
    }
    // A second column of times beside the one read: named, as the other choice.
    let two = notes(
        "user,item,timestamp,updated\nu,i,1714550400,2024-06-01\n",
        "two.csv",
    );
    assert!(
        two.iter()
            .any(|n| n.contains("column updated holds times too")
                && n.contains("--time-col updated")),
        "{two:?}"
    );
}

#[test]
fn unused_columns_and_detected_delimiters_are_noted() {
    let r = read(
        "customer_id;sku;quantity\n\"c;1\";s1;2\n",
        "orders.csv",
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(
        pairs(&r),
        [("c;1", "s1")],
        "quoted delimiters stay in the id"
    );
    assert_eq!(r.delimiter.map(Delimiter::byte), Some(b';'));
    assert_eq!(r.ignored_columns, ["quantity"]);
    let notes = r.notes();
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert_eq!(
        notes[0],
        "orders.csv:1: the header is split by `;`, not by `,`: the file is read with `;` \
         (--delimiter overrides)"
    );
    assert_eq!(notes[1], "orders.csv:1: column quantity ignored");
    // A column of numbers and no rating read: the flag that would keep it.
    assert!(
        notes[2].starts_with("orders.csv:1: column quantity holds numbers only")
            && notes[2].contains("import with --rating-col quantity"),
        "{notes:?}"
    );
    // A tsv that is really comma-separated, and a pipe given by --delimiter.
    let r = read("user,item,a,b\nu,i,1,2\n", "x.tsv", &ReadOptions::default()).unwrap();
    assert_eq!(pairs(&r), [("u", "i")]);
    assert!(
        r.notes()[1].ends_with("columns a, b ignored"),
        "{:?}",
        r.notes()
    );
    let options = ReadOptions {
        delimiter: Some("|".parse().unwrap()),
        ..ReadOptions::format(Some(Format::Csv))
    };
    let r = read("user|item\nu|i,j\n", "p", &options).unwrap();
    assert_eq!(pairs(&r), [("u", "i,j")]);
    assert_eq!(r.delimiter, None, "given, not detected");
}

#[test]
fn columns_are_mapped_by_name_or_position() {
    let options = ReadOptions {
        columns: ColumnMap {
            user: Some("who".parse().unwrap()),
            item: Some("2".parse().unwrap()),
            rating: Some("stars given".parse().unwrap()),
            time: Some("4".parse().unwrap()),
            headerless: false,
            extra_fields_ignored: false,
            ..ColumnMap::default()
        },
        ..ReadOptions::default()
    };
    let r = read(
        "who\twhat\tstars given\twhen\nann\tbook\t4\t2015-03-04T00:00:00Z\n",
        "x.tsv",
        &options,
    )
    .unwrap();
    assert_eq!(pairs(&r), [("ann", "book")]);
    assert_eq!(
        (r.rows[0].rating, r.rows[0].timestamp),
        (Some(4.0), Some(1_425_427_200))
    );
    assert!(r.ignored_columns.is_empty());
    let e = read("a b c\n", "train.txt", &options).unwrap_err();
    assert!(matches!(e, ParseError::Unsupported { .. }), "{e:?}");
    assert!(
        e.to_string().contains(
            "--user-col, --item-col, --rating-col, --time-col apply to files with a header"
        ),
        "{e}"
    );
    let e = read(
        "user_id\titem_id\tdate\n1\t2\tlast week\n",
        "d.tsv",
        &ReadOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "d.tsv:2:3: `date` (read as the timestamp) is not a number nor an ISO 8601 date: \
         \"last week\""
    );
}

#[test]
fn gzip_streams_read_like_plain_ones() {
    let text = "user_id,item_id\nu,i\n";
    let r = read_reader(
        Cursor::new(gzip(text)),
        Path::new("r.csv.gz"),
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!((r.format, r.gzip), (Format::Csv, true));
    assert_eq!(pairs(&r), [("u", "i")]);
    assert!(
        !r.notes().iter().any(|n| n.contains("gzip")),
        "the name said so"
    );
    let r = read_reader(
        Cursor::new(gzip(text)),
        Path::new("r.csv"),
        &ReadOptions::default(),
    )
    .unwrap();
    assert!(
        r.notes().iter().any(|n| n.contains("gzip")),
        "{:?}",
        r.notes()
    );
    let links = parse_link_reader(
        Cursor::new(gzip("item_id\tiri\n1\t<http://x/a>\n")),
        Path::new("l.tsv.gz"),
    )
    .unwrap();
    assert_eq!(links[0].iri, "http://x/a");
    let mut truncated = gzip(text);
    truncated.truncate(truncated.len() - 6);
    let e = read_reader(
        Cursor::new(truncated),
        Path::new("t.csv.gz"),
        &ReadOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(e, ParseError::Io { .. }), "{e:?}");
}

#[test]
fn link_iris_may_be_bracketed() {
    assert_eq!(strip_angle_brackets(" <http://x/a> "), Some("http://x/a"));
    assert_eq!(strip_angle_brackets("m.08gjyx"), Some("m.08gjyx"));
    assert_eq!(strip_angle_brackets("<http://x/a"), None);
    let text = "item_id\tiri\n1\t<http://x/A>\n2\thttp://x/B\n1\thttp://x/A\n";
    let links = parse_link_reader(Cursor::new(text), Path::new("l")).unwrap();
    assert_eq!(
        links,
        [
            ItemLink {
                item: "1".into(),
                iri: "http://x/A".into()
            },
            ItemLink {
                item: "2".into(),
                iri: "http://x/B".into()
            }
        ],
        "the same IRI with and without brackets is one link"
    );
    let e =
        parse_link_reader(Cursor::new("item_id\tiri\n1\t<http://x\n"), Path::new("l")).unwrap_err();
    assert!(matches!(e, ParseError::Malformed { line: 2, .. }), "{e:?}");
    let e = parse_link_reader(Cursor::new("item_id\tiri\n1\t<>\n"), Path::new("l")).unwrap_err();
    assert!(
        matches!(
            e,
            ParseError::EmptyField {
                line: 2,
                column: 2,
                ..
            }
        ),
        "{e:?}"
    );
    let e = parse_link_reader(
        Cursor::new("item_id\tiri\n1\t<http://x/a>\n\n1\t<http://x/b>\n"),
        Path::new("l.tsv"),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "l.tsv:4: item \"1\" is linked to <http://x/b> here and to <http://x/a> on line 2; an \
         item has one IRI"
    );
    let e = parse_link_reader(Cursor::new("item_id iri\n1 a\n"), Path::new("l")).unwrap_err();
    assert!(
        e.to_string()
            .contains("separated by a tab, `,`, `;` or `|`"),
        "{e}"
    );
}

#[test]
fn link_files_may_be_comma_semicolon_or_pipe_separated() {
    let base = "http://dbpedia.org/resource/";
    for text in [
        format!("item_id,iri\n1,{base}Toy_Story\n2,\"{base}Crouching_Tiger,_Hidden_Dragon\"\n"),
        // Unquoted, an IRI with commas in the last column is the rest of the line.
        format!("item_id,iri\n1,{base}Toy_Story\n2,{base}Crouching_Tiger,_Hidden_Dragon\n"),
        format!(
            "\"item_id\";\"iri\"\n1;<{base}Toy_Story>\n2;{base}Crouching_Tiger,_Hidden_Dragon\n"
        ),
        format!("item_id|iri\n1|{base}Toy_Story\n2|{base}Crouching_Tiger,_Hidden_Dragon\n"),
    ] {
        let links = parse_link_reader(Cursor::new(text.clone()), Path::new("l.csv")).unwrap();
        let got: Vec<(&str, &str)> = links
            .iter()
            .map(|l| (l.item.as_str(), l.iri.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("1", format!("{base}Toy_Story").as_str()),
                (
                    "2",
                    format!("{base}Crouching_Tiger,_Hidden_Dragon").as_str()
                )
            ],
            "{text}"
        );
    }
    // Only the last column takes the rest of the line: with the IRI first, a field too many
    // is a column nothing reads, as in a tab-separated file.
    let e = parse_link_reader(
        Cursor::new("iri,item_id\nhttp://x/a,1,2\n"),
        Path::new("l.csv"),
    );
    assert!(e.is_ok_and(|l| l[0].item == "1" && l[0].iri == "http://x/a"));
}

/// An id any format's TSV writer can carry: no tab or line break, not blank.
fn tsv_id() -> impl Strategy<Value = String> {
    "[^\t\r\n\\p{Cc}\u{feff}]{1,12}".prop_filter("not blank", |s| !s.trim().is_empty())
}

proptest! {
    #[test]
    fn tsv_round_trip(rows in prop::collection::vec((tsv_id(), tsv_id(), -1000i32..1000, any::<i64>()), 1..20)) {
        let mut text = String::from("user_id\titem_id\trating\ttimestamp\n");
        for (u, i, r, t) in &rows {
            text.push_str(&format!("{u}\t{i}\t{}\t{t}\n", *r as f32 / 4.0));
        }
        // Any number, read as the seconds it says (`auto` refuses a file of both units).
        let options = ReadOptions {
            time_unit: TimeUnit::Seconds,
            ..ReadOptions::format(Some(Format::Tsv))
        };
        let parsed = read(&text, "p.tsv", &options).unwrap();
        prop_assert_eq!(parsed.rows.len(), rows.len());
        for (p, (u, i, r, t)) in parsed.rows.iter().zip(&rows) {
            prop_assert_eq!(&p.user, u);
            prop_assert_eq!(&p.item, i);
            prop_assert_eq!(p.rating, Some(*r as f32 / 4.0));
            prop_assert_eq!(p.timestamp, Some(*t));
        }
    }

    #[test]
    fn csv_round_trip(rows in prop::collection::vec(("[^\\p{Cc}\u{feff}]{1,10}", "[^\\p{C}\u{feff}]{1,10}"), 1..20)) {
        // Control characters and byte-order marks are refused in ids (tested apart).
        let rows: Vec<(String, String)> = rows.into_iter().filter(|(u, i)| !u.trim().is_empty() && !i.trim().is_empty()).collect();
        prop_assume!(!rows.is_empty());
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["user_id", "item_id"]).unwrap();
        for (u, i) in &rows {
            w.write_record([u, i]).unwrap();
        }
        let bytes = w.into_inner().unwrap();
        let parsed = parse_reader(Cursor::new(bytes), Path::new("p.csv"), Format::Csv).unwrap();
        let got: Vec<(String, String)> = parsed.rows.into_iter().map(|r| (r.user, r.item)).collect();
        prop_assert_eq!(got, rows);
    }

    #[test]
    fn merge_is_idempotent_and_preserves_counts(pairs in prop::collection::vec((0u8..4, 0u8..4), 0..40)) {
        let mut rows: Vec<RawInteraction> = pairs.iter().map(|(u, i)| row(&u.to_string(), &i.to_string(), None, None)).collect();
        let n = rows.len();
        let merged = merge_duplicates(&mut rows);
        prop_assert_eq!(rows.len() + merged, n);
        prop_assert_eq!(rows.iter().map(|r| r.count as usize).sum::<usize>(), n);
        let distinct: std::collections::HashSet<_> = pairs.iter().collect();
        prop_assert_eq!(rows.len(), distinct.len());
        prop_assert_eq!(merge_duplicates(&mut rows), 0);
    }
}

/// The shared ml-100k files (run with `cargo test -p kgrec -- --ignored`; needs `../shared`).
#[test]
#[ignore = "reads ../shared/datasets/ml-100k"]
fn reads_the_shared_ml100k_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/ml-100k");
    let inter = parse_file(&dir.join("ml-100k.inter"), None).unwrap();
    assert_eq!((inter.format, inter.rows.len()), (Format::RecBole, 100_000));
    assert!(
        inter
            .rows
            .iter()
            .all(|r| r.rating.is_some() && r.timestamp.is_some())
    );
    let mut rows = inter.rows;
    assert_eq!(
        merge_duplicates(&mut rows),
        0,
        "ml-100k has one rating per (user, item)"
    );
    let kept = rows.len() - filter_min_rating(&mut rows, 4.0);
    assert_eq!(kept, 55_375);
    let fold = parse_file(&dir.join("folds/fold0/train.tsv"), None).unwrap();
    assert_eq!(fold.rows.len(), 79_619);
    assert!(
        parse_link_file(&dir.join("link-dbpedia.tsv"))
            .unwrap()
            .len()
            > 1000
    );
    assert!(parse_link_file(&dir.join("ml-100k.link")).unwrap().len() > 1000);
}

#[test]
fn link_iris_with_spaces_or_quotes_are_refused_with_their_line() {
    for bad in ["toy {story}", "\"http://e/a\"", "http://e/a b", "a\\b"] {
        let text = format!("item_id\tiri\n1\thttp://e/ok\n2\t{bad}\n");
        let err = parse_link_reader(text.as_bytes(), Path::new("l.tsv")).unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("l.tsv:3"), "{bad}: {message}");
        assert!(message.contains("is not an IRI"), "{bad}: {message}");
    }
    // A TSV graph's token with blanks stands for the IRI its import minted.
    let text = "item_id\tiri\n1\tblade runner\n";
    let links = parse_link_reader(text.as_bytes(), Path::new("l.tsv")).unwrap();
    assert_eq!(links[0].iri, "urn:kgrec:blade%20runner");
    // Bare tokens and absolute IRIs pass.
    let text = "item_id\tiri\n1\tm.0abc\n2\t<http://e/b>\n";
    assert_eq!(
        parse_link_reader(text.as_bytes(), Path::new("l.tsv"))
            .unwrap()
            .len(),
        2
    );
}

/// Ids round-trip exactly, spaces included; a note names those that start or end with white
/// space, the first three with their trimmed twin when the file has it, and counts them.
#[test]
fn ids_with_surrounding_spaces_are_kept_and_named_in_a_note() {
    let r = read(
        "user_id,item_id\nalice,SKU-1\nalice ,SKU-2\n bob,SKU-3\n\"carol \",\"SKU-4 \"\ndan ,x\n",
        "sp.csv",
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(
        pairs(&r),
        [
            ("alice", "SKU-1"),
            ("alice ", "SKU-2"),
            (" bob", "SKU-3"),
            ("carol ", "SKU-4 "),
            ("dan ", "x")
        ]
    );
    let notes = r.notes();
    let note = notes.iter().find(|n| n.contains("white space")).unwrap();
    assert_eq!(
        note,
        "sp.csv: 5 id(s) start or end with white space and are kept as written, so \"alice \" \
         and \"alice\" are different users: user \"alice \" (the file also has \"alice\"), user \
         \" bob\", user \"carol \" and 2 more; remove the spaces from the file if they are not \
         part of the ids"
    );
    let clean = read(
        "user_id,item_id\nalice,SKU-1\n",
        "ok.csv",
        &ReadOptions::default(),
    )
    .unwrap();
    assert!(clean.notes().iter().all(|n| !n.contains("white space")));
}

#[test]
fn a_link_files_other_columns_are_named_as_ignored() {
    let text = "item_id\tlabel\tiri\t\n1\tA\thttp://x/a\t\n";
    let file = super::link::LinkFile {
        links: parse_link_reader(Cursor::new(text), Path::new("l.tsv")).unwrap(),
        ignored_columns: (1, vec!["label".to_owned(), "4 (unnamed)".to_owned()]),
        item_column: None,
        repeated: None,
    };
    let path = std::env::temp_dir().join(format!("kgrec-link-{}.tsv", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let read = read_link_file(&path, &LinkColumns::default()).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(read, file);
    let note = read.note(Path::new("l.tsv")).unwrap();
    assert!(
        note.starts_with("l.tsv:1: columns label, 4 (unnamed) ignored"),
        "{note}"
    );
    let plain = "item_id\tiri\n1\thttp://x/a\n";
    let path = std::env::temp_dir().join(format!("kgrec-link2-{}.tsv", std::process::id()));
    std::fs::write(&path, plain).unwrap();
    let read = read_link_file(&path, &LinkColumns::default()).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(read.note(Path::new("l.tsv")), None);
}

#[test]
fn a_relative_link_iri_is_refused_and_tokens_pass() {
    let e = parse_link_reader(Cursor::new("item_id\tiri\nA4\tnews/a/4\n"), Path::new("l"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("l:2") && e.contains("relative IRI"), "{e}");
    let ok = parse_link_reader(
        Cursor::new("item_id\tiri\n1\tm.04ctbw\n2\turn:x:y\n3\thttp://e/a#b\n"),
        Path::new("l"),
    )
    .unwrap();
    assert_eq!(ok.len(), 3);
}

#[test]
fn two_columns_of_one_name_are_refused_unless_a_flag_picks_one() {
    let e = parse("user_id,user_id,item_id\nu3,u4,A1\n", Format::Csv)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("columns 1 and 2 are both named `user_id`") && e.contains("--user-col"),
        "{e}"
    );
    let options = ReadOptions {
        format: Some(Format::Csv),
        columns: ColumnMap {
            user: Some("2".parse().unwrap()),
            ..ColumnMap::default()
        },
        ..ReadOptions::default()
    };
    let r = read("user_id,user_id,item_id\nu3,u4,A1\n", "d.csv", &options).unwrap();
    assert_eq!(pairs(&r), [("u4", "A1")]);
}

#[test]
fn an_unclosed_quote_is_refused_instead_of_swallowing_the_rest() {
    for text in [
        "user_id,item_id\nu1,\"i1\nu2,i2\nu3,i3\nu4,i4\n",
        "user_id,item_id,rating\nu0,i0,5\nu1,\"i1,4\nu2,i2,3\n",
    ] {
        let err = parse(text, Format::Csv).unwrap_err().to_string();
        assert!(
            err.contains("an unclosed quote reads every later row"),
            "{err}"
        );
        assert!(err.contains("in.x:"), "{err}");
    }
    // In a column nothing reads too: a quote never closed loses every later row.
    for text in [
        "customer_id,sku,note\nc1,A,\"hello\nc1,B,ok\nc2,A,ok\nc2,C,ok\n",
        "customer_id;sku;note\nc1;A;ok\nc1;B;\"hi\nc2;A;ok",
    ] {
        let err = parse(text, Format::Csv).unwrap_err().to_string();
        assert!(err.contains("never closed"), "{err}");
    }
    // A quoted line break in a column nothing reads is the CSV's own business.
    let r = parse(
        "user_id,item_id,comment\nu1,i1,\"two\nlines\"\nu2,i2,x\n",
        Format::Csv,
    )
    .unwrap();
    assert_eq!(pairs(&r), [("u1", "i1"), ("u2", "i2")]);
}

#[test]
fn csv_errors_name_the_same_line_with_crlf_as_with_lf() {
    let lf = "customer_id,product_id,rating\nx,P1,5\ny,P2,4\nz,P2,3\nbob,P1,good\n";
    let crlf = lf.replace('\n', "\r\n");
    let at = |text: &str| parse(text, Format::Csv).unwrap_err().to_string();
    assert!(at(lf).contains("in.x:5:"), "{}", at(lf));
    assert_eq!(at(&crlf), at(lf));
}

/// A `::`-separated file whose first line names its columns is a table read by those names
/// (here the item column comes first), and the column flags apply to it.
#[test]
fn a_double_colon_file_with_a_header_is_read_by_its_names() {
    let text = "item_id::user_id::rating::timestamp\nc1::s1::5::978300760\nc2::s1::3::978300761\n";
    let r = read(text, "swapped.dat", &ReadOptions::default()).unwrap();
    assert_eq!(pairs(&r), [("s1", "c1"), ("s1", "c2")]);
    assert_eq!(r.rows[1].rating, Some(3.0));
    assert!(
        r.guess
            .as_ref()
            .is_some_and(|g| g.to_string().contains("`::`-separated header")),
        "{:?}",
        r.guess
    );
    let text = "StudentID::CourseID::Grade\ns1::c1::4\n";
    let options = ReadOptions {
        columns: ColumnMap {
            user: Some(ColumnRef::Name("StudentID".into())),
            item: Some(ColumnRef::Name("CourseID".into())),
            ..ColumnMap::default()
        },
        ..ReadOptions::default()
    };
    let r = read(text, "grades.dat", &options).unwrap();
    assert_eq!(pairs(&r), [("s1", "c1")]);
}

#[test]
fn dates_take_no_part_in_the_milliseconds_rule() {
    // Every number is milliseconds; the date beside them is a date, not "seconds".
    let text = "user_id,item_id,timestamp\nu,a,1704067200000\nu,b,2024-01-02\n";
    let read_back = read(text, "ms.csv", &ReadOptions::default()).unwrap();
    let stamps: Vec<_> = read_back.rows.iter().map(|r| r.timestamp).collect();
    assert_eq!(stamps, [Some(1_704_067_200), Some(1_704_153_600)]);
    assert_eq!(read_back.millis_converted, Some(1));
}

#[test]
fn a_date_far_in_the_future_is_refused_naming_its_line_whatever_the_unit() {
    for unit in [TimeUnit::Auto, TimeUnit::Seconds, TimeUnit::Milliseconds] {
        let text = "user_id,item_id,timestamp\nu,a,2024-01-02\nu,b,9999-12-31T23:59:59Z\n";
        let options = ReadOptions {
            time_unit: unit,
            ..ReadOptions::default()
        };
        let err = read(text, "end.csv", &options).unwrap_err();
        assert_eq!(err.line(), Some(3), "{unit}: {err}");
        assert!(
            err.to_string().contains("more than a year after now"),
            "{unit}: {err}"
        );
    }
    // Numbers in seconds as far ahead are refused too, except under `--time-unit s`.
    let text = "user_id,item_id,timestamp\nu,a,99999999999\n";
    let err = read(text, "far.csv", &ReadOptions::default()).unwrap_err();
    assert_eq!(err.line(), Some(2), "{err}");
    let seconds = ReadOptions {
        time_unit: TimeUnit::Seconds,
        ..ReadOptions::default()
    };
    let kept = read(text, "far.csv", &seconds).unwrap();
    assert_eq!(kept.rows[0].timestamp, Some(99_999_999_999));
}
