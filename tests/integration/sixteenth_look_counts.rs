//! The sixteenth fresh look (issue #21), findings 2 and 3: repeat purchases across imports and
//! posts raise a pair's count (a re-import changes nothing), and timestamps in milliseconds are
//! stored as seconds, so a store never compares the two.

use std::path::{Path, PathBuf};

use crate::common::*;

/// A shop's purchases, `customer_id,sku,timestamp`, into `dir/name`.
fn purchases(dir: &Path, name: &str, rows: &[(&str, &str, i64)]) -> PathBuf {
    let mut text = String::from("customer_id,sku,timestamp\n");
    for (user, item, t) in rows {
        text.push_str(&format!("{user},{item},{t}\n"));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// January: c1 buys P1 three times; five other customers buy a little of everything.
const JAN: &[(&str, &str, i64)] = &[
    ("c1", "P1", 1_700_000_000),
    ("c1", "P1", 1_700_100_000),
    ("c1", "P1", 1_700_200_000),
    ("c1", "P2", 1_700_000_000),
    ("c2", "P1", 1_700_000_000),
    ("c2", "P3", 1_700_000_000),
    ("c3", "P2", 1_700_000_000),
    ("c3", "P3", 1_700_000_000),
    ("c3", "P4", 1_700_000_000),
    ("c4", "P4", 1_700_000_000),
    ("c4", "P5", 1_700_000_000),
    ("c5", "P1", 1_700_000_000),
    ("c5", "P5", 1_700_000_000),
    ("c6", "P2", 1_700_000_000),
    ("c6", "P5", 1_700_000_000),
];

/// February: c1 buys P1 twice more.
const FEB: &[(&str, &str, i64)] = &[("c1", "P1", 1_710_000_000), ("c1", "P1", 1_710_100_000)];

/// Every user's top 3 under an ALS model weighing positives by their counts (seed 1).
fn count_model_lists(data: &Path) -> String {
    ok(kgrec(data).args([
        "-q",
        "train",
        "--model",
        "als",
        "--confidence",
        "count",
        "--reg",
        "0.1",
        "--seed",
        "1",
    ]));
    let out = data.with_extension("tsv");
    ok(kgrec(data)
        .args(["-q", "recommend", "--all-users", "-k", "3", "--out"])
        .arg(&out));
    std::fs::read_to_string(out).unwrap()
}

/// jan.csv then feb.csv used to say "1 updated" and leave P1's count at 3 (the larger count of
/// one import), so a `--confidence count` model was January's alone; a POST with a later
/// timestamp said "updated_interactions": 1 and changed no count either. Now rows later than a
/// pair's stored timestamp add to its count, the summary says how many counts rose, and
/// importing a file again (or one overlapping the last) changes nothing.
#[test]
fn repeat_purchases_add_up_across_imports_and_posts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let jan = purchases(dir, "jan.csv", JAN);
    let feb = purchases(dir, "feb.csv", FEB);
    let both: Vec<_> = JAN.iter().chain(FEB).copied().collect();
    let janfeb = purchases(dir, "janfeb.csv", &both);

    let monthly = dir.join("monthly");
    ok(kgrec(&monthly).args(["import", "interactions"]).arg(&jan));
    let said = ok(kgrec(&monthly).args(["import", "interactions"]).arg(&feb));
    assert!(
        said.contains("1 updated, 0 already present, 1 counts rose"),
        "{said}"
    );
    // Again, and the two months in one file: all seen already.
    for again in [&feb, &janfeb, &jan] {
        let out = run(kgrec(&monthly).args(["import", "interactions"]).arg(again));
        assert!(out.status.success(), "{}", stderr(&out));
        let said = stdout(&out);
        assert!(
            said.contains(" 0 updated, ") && said.contains("0 counts rose"),
            "{said}"
        );
        assert!(!stderr(&out).contains("larger of"), "{}", stderr(&out));
    }
    let at_once = dir.join("at-once");
    ok(kgrec(&at_once)
        .args(["import", "interactions"])
        .arg(&janfeb));
    let january = dir.join("january");
    ok(kgrec(&january).args(["import", "interactions"]).arg(&jan));
    let lists = count_model_lists(&monthly);
    assert_eq!(
        lists,
        count_model_lists(&at_once),
        "P1 counted 5 times both ways"
    );
    assert_ne!(
        lists,
        count_model_lists(&january),
        "February's purchases count"
    );

    // Rows without a timestamp cannot be told from a re-import: the larger count, said.
    let untimed = dir.join("untimed.csv");
    std::fs::write(&untimed, "customer_id,sku\nc1,P1\nc1,P1\n").unwrap();
    let out = run(kgrec(&monthly)
        .args(["import", "interactions"])
        .arg(&untimed));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("0 counts rose"), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("1 stored pair(s) named by rows without a timestamp"),
        "{err}"
    );
    assert!(err.contains("(c1, P1)"), "{err}");
    assert!(
        err.contains("keeps the larger of its stored count"),
        "{err}"
    );
    assert_eq!(
        lists,
        count_model_lists(&monthly),
        "two untimed rows: still 5"
    );

    // Over HTTP: a later purchase adds one, the same post again (a retry) nothing.
    let server = Server::start(&monthly, &[]);
    let march = r#"[{"user": "c1", "item": "P1", "timestamp": 1720000000}]"#;
    let answer = server.post_json("/v1/interactions", march).json();
    assert_eq!(answer["updated_interactions"], 1, "{answer}");
    assert_eq!(answer["counts_raised"], 1, "{answer}");
    let answer = server.post_json("/v1/interactions", march).json();
    assert_eq!(answer["unchanged_interactions"], 1, "{answer}");
    assert_eq!(answer["counts_raised"], 0, "{answer}");
    let retry = r#"[{"user": "c1", "item": "P1"}]"#;
    let answer = server.post_json("/v1/interactions", retry).json();
    assert_eq!(answer["counts_raised"], 0, "{answer}");
    assert!(
        answer["notes"]
            .to_string()
            .contains("keeps the larger of its stored count"),
        "{answer}"
    );
    assert!(server.terminate(30).success());
    // The store now holds what one file of the three months holds: P1 six times.
    let mut three: Vec<_> = both.clone();
    three.push(("c1", "P1", 1_720_000_000));
    let quarter = dir.join("quarter");
    ok(kgrec(&quarter)
        .args(["import", "interactions"])
        .arg(purchases(dir, "quarter.csv", &three)));
    assert_eq!(count_model_lists(&monthly), count_model_lists(&quarter));
}

/// m1.csv in milliseconds then m2.csv in seconds used to judge m2's newer rating "older" (a
/// 2024 time in seconds is smaller than a 2023 one in milliseconds) and keep m1's. Now `auto`
/// converts milliseconds to the seconds kgrec stores, saying so; a file mixing both units is
/// refused naming one of each and `--time-unit`; `--time-unit s` keeps the numbers, saying they
/// look like milliseconds, and a store is refused rows in the other unit than its own.
#[test]
fn milliseconds_are_stored_as_seconds_and_a_mixed_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = dir.join("data");
    let rated = |name: &str, rows: &str| {
        let path = dir.join(name);
        std::fs::write(&path, format!("customer_id,sku,rating,timestamp\n{rows}")).unwrap();
        path
    };
    // 2023-01-01 in milliseconds.
    let m1 = rated(
        "m1.csv",
        "c1,P0001,5,1672563563000\nc1,P0002,4,1672563563000\n",
    );
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&m1));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("m1.csv: the timestamps are milliseconds"),
        "{err}"
    );
    assert!(
        err.contains("2 converted to the seconds kgrec stores"),
        "{err}"
    );
    // 2024-01-01 in seconds: newer, so its rating replaces the stored one.
    let m2 = rated("m2.csv", "c1,P0001,1,1704067200\n");
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&m2));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("1 updated"), "{}", stdout(&out));
    assert!(!stderr(&out).contains("older"), "{}", stderr(&out));
    // mid-2023 in seconds sits between them: older than m2's row, whose rating stays.
    let m3 = rated("m3.csv", "c1,P0001,3,1688000000\n");
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&m3));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("c1, P0001: rating 3 in an older row, stored 1 kept"),
        "{err}"
    );

    // Both units in one file: refused, nothing written.
    let mixed = rated(
        "mixed.csv",
        "c2,P0001,4,1704067200\nc2,P0002,4,1704067200000\n",
    );
    let fresh = dir.join("fresh");
    let out = run(kgrec(&fresh).args(["import", "interactions"]).arg(&mixed));
    expect_bad_input(
        &out,
        &mixed,
        &[
            "mixed.csv: 1 timestamp(s) look like milliseconds",
            "the first 1704067200000 on line 3",
            "1 like seconds (the first 1704067200 on line 2)",
            "--time-unit ms or --time-unit s",
        ],
    );
    assert!(!fresh.exists(), "a refused file leaves no data directory");
    let out = run(kgrec(&fresh)
        .args(["import", "interactions", "--time-unit", "ms"])
        .arg(&mixed));
    assert!(out.status.success(), "{}", stderr(&out));

    // Declared seconds: kept as they are, with a note.
    let as_given = dir.join("as-given");
    let out = run(kgrec(&as_given)
        .args(["import", "interactions", "--time-unit", "s"])
        .arg(&m1));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--time-unit s stores them as seconds"),
        "{err}"
    );
    // A store of milliseconds (as earlier versions kept them) takes no seconds, and a store of
    // seconds no milliseconds read as seconds: the two are never compared.
    let out = run(kgrec(&as_given).args(["import", "interactions"]).arg(&m2));
    expect_bad_input(
        &out,
        &m2,
        &[
            "timestamp 1704067200 is in seconds",
            "all in milliseconds",
            "--time-unit s to keep its unit",
        ],
    );
    let m4 = rated("m4.csv", "c1,P0003,2,1704067200000\n");
    ok(kgrec(&as_given)
        .args(["import", "interactions", "--time-unit", "s"])
        .arg(&m4));
    let out = run(kgrec(&data)
        .args(["import", "interactions", "--time-unit", "s"])
        .arg(&m4));
    expect_bad_input(
        &out,
        &m4,
        &[
            "timestamp 1704067200000 looks like milliseconds",
            "timestamps are in seconds",
            "--time-unit ms",
        ],
    );
    let out = run(kgrec(&as_given)
        .args(["import", "interactions", "--time-unit", "minutes"])
        .arg(&m1));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("expected auto, s (seconds) or ms"),
        "{}",
        stderr(&out)
    );
}
