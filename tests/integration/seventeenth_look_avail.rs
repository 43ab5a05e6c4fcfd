//! The seventeenth fresh look (issue #21), finding 4: a second-hand shop (each item sells once)
//! had no way to stop recommending sold items. Items are retired (`import links --retire FILE`,
//! `POST /v1/items/retired`) and restored (`--restore`, `DELETE`): a model trained before the
//! retirement skips them at once (lists fill up from the next items), `similar` never lists
//! them, unknown ids refuse the whole list. `recommend --all-users` takes `--exclude` and
//! `--filter` as one user's list does.

use std::io::Write as _;
use std::path::Path;

use crate::common::*;

/// `recommend --user USER -k K --format json`: the item ids, best first.
fn list(data: &Path, user: &str, k: usize, extra: &[&str]) -> Vec<String> {
    let text = ok(kgrec(data)
        .args(["recommend", "--user", user, "-k", &k.to_string()])
        .args(["--format", "json"])
        .args(extra));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    ids(&v["items"])
}

/// `similar --item ITEM -k K --format json`: the item ids, best first.
fn similar(data: &Path, item: &str, k: usize) -> Vec<String> {
    let text = ok(kgrec(data)
        .args(["similar", "--item", item, "-k", &k.to_string()])
        .args(["--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    ids(&v["similar"])
}

fn ids(items: &serde_json::Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item"].as_str().unwrap().to_owned())
        .collect()
}

/// A small second-hand shop (60 users, 40 items in 4 categories, 6 views each; every item
/// linked to the graph) with an `ease` model (fast, with item-item weights for `similar`).
fn trained(tmp: &Path) -> std::path::PathBuf {
    let mut views = String::from("user_id,item_id\n");
    for u in 0..60 {
        for j in 0..6 {
            let item = ((u % 3) * 13 + (u * 7 + j * j * 3 + j) % 17) % 40;
            views.push_str(&format!("u{u},it{item}\n"));
        }
    }
    let mut links = String::from("item_id\tiri\n");
    let mut graph = String::new();
    for i in 0..40 {
        links.push_str(&format!("it{i}\thttp://shop.example/item/{i}\n"));
        graph.push_str(&format!(
            "<http://shop.example/item/{i}> <http://shop.example/category> \
             <http://shop.example/cat/{}> .\n",
            i % 4
        ));
    }
    let views = write_file(tmp, "views.csv", views);
    let links = write_file(tmp, "links.tsv", links);
    let graph = write_file(tmp, "graph.nt", graph);
    let data = tmp.join("data");
    ok(kgrec(&data).args(["-q", "import", "kg"]).arg(&graph));
    ok(kgrec(&data)
        .args(["-q", "import", "interactions"])
        .arg(&views)
        .arg("--link")
        .arg(&links));
    ok(kgrec(&data).args(["-q", "train", "--model", "ease"]));
    data
}

/// The items of category 1.
const FILTER: &str = "<http://shop.example/category>=<http://shop.example/cat/1>";

#[test]
fn retired_items_leave_lists_and_similar_until_restored() {
    let tmp = tempfile::tempdir().unwrap();
    let data = trained(tmp.path());
    let before = list(&data, "u1", 8, &[]);
    assert_eq!(before.len(), 8);
    let interactions = stats(&data)["interactions"].clone();
    let like = similar(&data, &before[0], 6);
    assert!(like.len() >= 3, "{like:?}");
    // Sold: the user's second and fourth items and the item most like the first.
    let sold = [before[1].clone(), before[3].clone(), like[0].clone()];
    let file = write_file(
        tmp.path(),
        "sold.txt",
        format!(
            "item_id\n{}\n{}\n\n{}\n{}\n",
            sold[0], sold[1], sold[2], sold[0]
        ),
    );
    let out = run(kgrec(&data)
        .args(["import", "links", "--retire"])
        .arg(&file));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("first line \"item_id\" read as a header"),
        "{err}"
    );
    let retired_now = sold.iter().collect::<std::collections::HashSet<_>>().len();
    assert!(
        stdout(&out).contains(&format!("{retired_now} retired now, 0 already retired")),
        "{}",
        stdout(&out)
    );
    assert_eq!(stats(&data)["retired_items"], retired_now);
    // The same model (no retraining): the list fills up to k from the next items, in order.
    let after = list(&data, "u1", 8, &[]);
    assert_eq!(after.len(), 8);
    for item in &sold {
        assert!(!after.contains(item), "{item} still recommended: {after:?}");
    }
    let kept: Vec<&String> = before.iter().filter(|i| !sold.contains(i)).collect();
    assert_eq!(
        after.iter().take(kept.len()).collect::<Vec<_>>(),
        kept,
        "the remaining items keep their order: {before:?} → {after:?}"
    );
    let like_after = similar(&data, &before[0], 6);
    assert_eq!(like_after.len(), 6);
    for item in &sold {
        assert!(
            !like_after.contains(item),
            "{item} still similar: {like_after:?}"
        );
    }
    // Their interactions stay: the store's counts did not change, and `similar` of a retired
    // item itself still answers (what to offer instead).
    assert_eq!(stats(&data)["interactions"], interactions);
    assert!(!similar(&data, &sold[0], 3).is_empty());
    // Idempotent.
    let again = ok(kgrec(&data)
        .args(["import", "links", "--retire"])
        .arg(&file));
    assert!(
        again.contains(&format!("0 retired now, {retired_now} already retired")),
        "{again}"
    );
    // Restored from standard input: the lists are as before.
    let out = run_stdin(
        kgrec(&data).args(["import", "links", "--restore", "-"]),
        format!("{}\n{}\n{}\n", sold[0], sold[1], sold[2]).as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stats(&data)["retired_items"], 0);
    assert_eq!(list(&data, "u1", 8, &[]), before);
    assert_eq!(similar(&data, &before[0], 6), like);
}

#[test]
fn unknown_ids_refuse_the_list_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = trained(tmp.path());
    let before = list(&data, "u1", 5, &[]);
    let mut text = format!("{}\n", before[0]);
    for n in 0..8 {
        text.push_str(&format!("gone-{n}\n"));
    }
    // Gzip, recognised by its bytes.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let file = write_file(tmp.path(), "sold.txt.gz", gz.finish().unwrap());
    let out = run(kgrec(&data)
        .args(["import", "links", "--retire"])
        .arg(&file));
    expect_bad_input(
        &out,
        &file,
        &[
            "8 item id(s) the data directory does not hold",
            "\"gone-0\"",
            "\"gone-4\"",
            "and 3 more",
            "nothing was changed",
        ],
    );
    assert!(!stderr(&out).contains("gone-5"), "{}", stderr(&out));
    assert_eq!(stats(&data)["retired_items"], 0);
    assert_eq!(list(&data, "u1", 5, &[]), before);
    // A table instead of a list of ids: said.
    let table = write_file(tmp.path(), "sold.csv", format!("u1,{}\n", before[0]));
    let out = run(kgrec(&data)
        .args(["import", "links", "--retire"])
        .arg(&table));
    expect_bad_input(&out, &table, &["one item id per line"]);
    // The flags of a link file do not go with an item list.
    let out = run(kgrec(&data)
        .args(["import", "links", "--retire", "--iri-col", "2"])
        .arg(&table));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn a_running_server_retires_and_restores_over_http() {
    const KEY: &str = "api-key-for-the-avail-tests-0123456789";
    let tmp = tempfile::tempdir().unwrap();
    let data = trained(tmp.path());
    let server = Server::start(&data, &["--api-key", KEY]);
    let bearer = format!("Bearer {KEY}");
    let auth = [
        ("Content-Type", "application/json"),
        ("Authorization", bearer.as_str()),
    ];
    let recs = |server: &Server| {
        let r = server.get("/v1/users/u1/recommendations?k=6");
        assert_eq!(r.status, 200, "{}", r.text());
        ids(&r.json()["items"])
    };
    let before = recs(&server);
    let like = server.get(&format!("/v1/items/{}/similar?k=5", before[0]));
    assert_eq!(like.status, 200, "{}", like.text());
    let like = ids(&like.json()["similar"]);
    let body = format!("[{:?}, {:?}]", before[1], like[0]);
    // A write route: refused without the key.
    let refused = server.post_json("/v1/items/retired", &body);
    assert_eq!(refused.status, 401, "{}", refused.text());
    // An unknown id refuses the array; nothing changes.
    let bad = server.request(
        "POST",
        "/v1/items/retired",
        &auth,
        format!("[{:?}, \"no-such-item\"]", before[1]).as_bytes(),
    );
    assert_eq!(bad.status, 400, "{}", bad.text());
    assert!(bad.text().contains("no-such-item"), "{}", bad.text());
    assert_eq!(recs(&server), before);
    let done = server.request("POST", "/v1/items/retired", &auth, body.as_bytes());
    assert_eq!(done.status, 200, "{}", done.text());
    let v = done.json();
    assert_eq!(v["received"], 2, "{v}");
    assert_eq!(v["retired_items"], v["changed"], "{v}");
    // Seen at once, without a restart or a retraining.
    let after = recs(&server);
    assert_eq!(after.len(), 6);
    assert!(!after.contains(&before[1]), "{after:?}");
    assert!(!after.contains(&like[0]), "{after:?}");
    let like_after = server.get(&format!("/v1/items/{}/similar?k=5", before[0]));
    let like_after = ids(&like_after.json()["similar"]);
    assert!(!like_after.contains(&like[0]), "{like_after:?}");
    let listed = server.get("/v1/items/retired").json();
    assert_eq!(listed["count"], v["retired_items"], "{listed}");
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(before[1])),
        "{listed}"
    );
    let restored = server.request("DELETE", "/v1/items/retired", &auth, body.as_bytes());
    assert_eq!(restored.status, 200, "{}", restored.text());
    assert_eq!(restored.json()["retired_items"], 0);
    assert_eq!(recs(&server), before);
    server.terminate(30);
    // The set is on disk: a retirement over HTTP is seen by the command line.
    assert_eq!(stats(&data)["retired_items"], 0);
}

#[test]
fn all_users_takes_exclude_and_filter_as_one_user_does() {
    let tmp = tempfile::tempdir().unwrap();
    let data = trained(tmp.path());
    let filter = FILTER;
    let top = list(&data, "u1", 3, &["--filter", filter]);
    assert!(!top.is_empty());
    let exclude = top[0].clone();
    // A retired item is skipped by the batch too.
    let retired = list(&data, "u2", 1, &[])[0].clone();
    let file = write_file(tmp.path(), "sold.txt", format!("{retired}\n"));
    ok(kgrec(&data)
        .args(["-q", "import", "links", "--retire"])
        .arg(&file));
    let out_file = tmp.path().join("all.tsv");
    let out = run(kgrec(&data)
        .args(["recommend", "--all-users", "-k", "4", "--out"])
        .arg(&out_file)
        .args(["--exclude", &format!("{exclude},not-an-item")])
        .args(["--filter", filter]));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("no item \"not-an-item\""), "{err}");
    assert!(err.contains("every list filtered by"), "{err}");
    let text = std::fs::read_to_string(&out_file).unwrap();
    let mut by_user: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        by_user
            .entry(f[0].to_owned())
            .or_default()
            .push(f[1].to_owned());
    }
    assert!(by_user.len() > 5, "{text}");
    let unfiltered = list(&data, "u1", 40, &[]);
    for (user, items) in by_user.iter().take(6) {
        assert!(!items.contains(&exclude), "{user}: {items:?}");
        assert!(!items.contains(&retired), "{user}: {items:?}");
        // The batch's list is the one-user list with the same flags.
        let one = list(&data, user, 4, &["--exclude", &exclude, "--filter", filter]);
        assert_eq!(items, &one, "user {user}");
    }
    // The filter did restrict: user 1's unfiltered list differs from the filtered one.
    assert_ne!(by_user["u1"], unfiltered[..by_user["u1"].len()].to_vec());
    // The explained batch honours both too.
    let jsonl = tmp.path().join("all.jsonl");
    let out = run(kgrec(&data)
        .args(["recommend", "--all-users", "--explain", "-k", "4", "--out"])
        .arg(&jsonl)
        .args(["--exclude", &exclude, "--filter", filter]));
    assert!(out.status.success(), "{}", stderr(&out));
    for line in std::fs::read_to_string(&jsonl).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let user = v["user"].as_str().unwrap();
        let items = ids(&v["items"]);
        assert!(!items.contains(&exclude), "{user}: {items:?}");
        assert!(!items.contains(&retired), "{user}: {items:?}");
        if let Some(batch) = by_user.get(user) {
            assert_eq!(&items, batch, "user {user}");
        }
    }
}

/// A list cut short by retirements says so, and `explain` of a retired item says it is retired
/// (text: a note on standard error; JSON: the explanation's `note`).
#[test]
fn short_lists_and_explanations_name_retirement() {
    let tmp = tempfile::tempdir().unwrap();
    let data = trained(tmp.path());
    // Retire every item u1 can be recommended but two: a list of 8 holds 2.
    let all = list(&data, "u1", 40, &[]);
    let keep = &all[..2];
    let retire: Vec<&String> = all.iter().filter(|i| !keep.contains(i)).collect();
    assert!(retire.len() > 8, "{all:?}");
    let file = write_file(
        tmp.path(),
        "gone.txt",
        retire.iter().map(|i| format!("{i}\n")).collect::<String>(),
    );
    ok(kgrec(&data)
        .args(["-q", "import", "links", "--retire"])
        .arg(&file));
    let out = run(kgrec(&data).args(["recommend", "--user", "u1", "-k", "8"]));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "or retired ({} items are retired: `kgrec import links --restore FILE`",
            retire.len()
        )),
        "{err}"
    );
    let item = retire[0].as_str();
    let out = run(kgrec(&data).args(["explain", "--user", "u1", "--item", item]));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!("item {item:?} is retired (no longer offered)")),
        "{err}"
    );
    let json = ok(kgrec(&data).args([
        "explain", "--user", "u1", "--item", item, "--format", "json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(
        v["note"].as_str().is_some_and(|n| n.contains("is retired")),
        "{json}"
    );
    // An offered item's explanation has no such note.
    let offered = ok(kgrec(&data).args([
        "explain", "--user", "u1", "--item", &keep[0], "--format", "json",
    ]));
    assert!(!offered.contains("is retired"), "{offered}");
}
