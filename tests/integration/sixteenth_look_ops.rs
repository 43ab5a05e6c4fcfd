//! Operator findings of the fifteenth and sixteenth looks (issue #21): weightless explanation
//! paths, replicas beside a writable server, staleness in `stats`.

use std::path::{Path, PathBuf};

use crate::common::*;

/// The museum of the fifteenth look: eight paintings, all `wdt:P31` painting,
/// liked by 40 visitors; trained `cke --reg 3`.
fn museum(tmp: &Path) -> PathBuf {
    let data = tmp.join("museum");
    let dir = fixture("museum");
    ok(kgrec(&data).args(["import", "kg"]).arg(dir.join("wd.ttl")));
    ok(kgrec(&data)
        .args(["import", "interactions"])
        .arg(dir.join("fav.tsv"))
        .arg("--link")
        .arg(dir.join("link.tsv")));
    ok(kgrec(&data).args(["train", "--reg", "3"]));
    data
}

/// look15 #4: every path from v1's history to Water Lilies goes through the class "painting",
/// which every item shares: each weighed 5e-6 and was shown `[0.000]` as the reason, and the
/// batch counted such items "with a path". Now such paths are marked weak (text `[weak]`,
/// JSON and HTTP `"weak": true`), the item says why (`paths_note`, naming the hub), and the
/// batch counts it apart.
#[test]
fn weightless_paths_are_flagged_not_given_as_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let data = museum(tmp.path());
    let text = ok(kgrec(&data).args(["recommend", "--user", "v1", "--explain", "-k", "3"]));
    assert!(text.contains("[weak]  You liked"), "{text}");
    assert!(!text.contains("[0.000]"), "{text}");
    assert!(text.contains("spread over many weak links"), "{text}");
    assert!(text.contains("the best through painting"), "{text}");

    let json: serde_json::Value = serde_json::from_str(&ok(kgrec(&data).args([
        "recommend",
        "--user",
        "v1",
        "--explain",
        "-k",
        "3",
        "--format",
        "json",
    ])))
    .unwrap();
    let items = json["items"].as_array().unwrap();
    assert!(!items.is_empty(), "{json}");
    for item in items {
        let paths = item["paths"].as_array().unwrap();
        assert!(!paths.is_empty(), "{item}");
        for p in paths {
            assert_eq!(p["weak"], true, "{p}");
            assert!(p["score"].as_f64().unwrap() < 1e-3, "{p}");
        }
        let note = item["paths_note"].as_str().unwrap_or_default();
        assert!(note.contains("painting"), "{item}");
    }

    let out = tmp.path().join("all.jsonl");
    let summary = run(kgrec(&data)
        .args(["recommend", "--all-users", "--explain", "--out"])
        .arg(&out));
    assert!(summary.status.success(), "{}", stderr(&summary));
    let said = format!("{}{}", stdout(&summary), stderr(&summary));
    let (mut strong, mut weak_only) = (0, 0);
    for line in std::fs::read_to_string(&out).unwrap().lines() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        for item in e["items"].as_array().unwrap() {
            let paths = item["paths"].as_array().unwrap();
            if paths.iter().any(|p| p["weak"] != true) {
                strong += 1;
            } else if !paths.is_empty() {
                weak_only += 1;
                assert!(item["paths_note"].is_string(), "{item}");
            }
        }
    }
    assert!(weak_only > 0, "{said}");
    assert!(
        said.contains(&format!(
            "{strong} with a path and {weak_only} only through weak links"
        )),
        "{strong} {weak_only}: {said}"
    );

    let server = Server::start(&data, &[]);
    let answer = server.get("/v1/users/v1/explanations/A3");
    let body = answer.json();
    server.terminate(30);
    assert_eq!(answer.status, 200, "{body}");
    assert_eq!(body["items"][0]["paths"][0]["weak"], true, "{body}");
    assert!(body["items"][0]["paths_note"].is_string(), "{body}");
}

/// 16 #9: after a removal (or an import, or an HTTP post) since the current model was trained,
/// `stats` says nothing changed; README and docs/http.md say it sees the change. Now text and
/// JSON give the interactions' fingerprint beside the current model's and say the model is
/// stale, with the counts then and now; the other look's note wording covers removals too.
#[test]
fn stats_says_the_model_is_stale_after_a_removal() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "pop"]));
    let fresh = stats(&data);
    assert_eq!(fresh["stale"], false, "{fresh}");
    assert!(fresh.get("stale_note").is_none(), "{fresh}");
    let fingerprint = fresh["fingerprint"].as_str().unwrap().to_owned();
    assert_eq!(fingerprint.len(), 16, "{fresh}");
    assert_eq!(fresh["model_fingerprint"], fingerprint.as_str(), "{fresh}");
    let text = ok(kgrec(&data).arg("stats"));
    assert!(text.contains(&fingerprint), "{text}");
    assert!(!text.contains("stale model"), "{text}");

    let remove = tmp.path().join("remove.tsv");
    std::fs::write(&remove, "user_id\titem_id\n1\t172\n").unwrap();
    ok(kgrec(&data)
        .args(["import", "interactions", "--remove"])
        .arg(&remove));
    let after = stats(&data);
    assert_eq!(after["stale"], true, "{after}");
    assert_ne!(after["fingerprint"], fingerprint.as_str(), "{after}");
    assert_eq!(after["model_fingerprint"], fingerprint.as_str(), "{after}");
    let note = after["stale_note"].as_str().unwrap_or_default();
    let (then, now) = (
        fresh["interactions"].as_u64().unwrap(),
        after["interactions"].as_u64().unwrap(),
    );
    assert_eq!(now + 1, then, "{after}");
    assert!(note.contains(&format!("{then} interactions")), "{note}");
    assert!(note.contains(&format!("{now} interactions")), "{note}");
    let text = ok(kgrec(&data).arg("stats"));
    assert!(text.contains("stale model"), "{text}");
    assert!(text.contains("run `kgrec train`"), "{text}");

    let out = run(kgrec(&data).args(["recommend", "--user", "1", "-k", "3"]));
    assert!(
        stderr(&out).contains("interactions or links changed after model v1 was trained"),
        "{}",
        stderr(&out)
    );
    ok(kgrec(&data).args(["train", "--model", "pop"]));
    assert_eq!(stats(&data)["stale"], false);
}

/// 16 #5: a read-only replica cannot take its copy beside a writable server (its database is
/// open for writing until it stops), yet docs/http.md said to start a new replica before
/// stopping the old one. The refusal now says why and what to do instead, and that procedure
/// works: replicas started before the writable server (or while it is stopped) answer beside it.
#[test]
fn a_replica_beside_a_writable_server_is_refused_with_the_procedure_that_works() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "pop"]));
    let writer = Server::start(&data, &[]);
    let refused = run(kgrec(&data).args(["serve", "--read-only", "--addr", "127.0.0.1:0"]));
    let err = stderr(&refused);
    assert!(!refused.status.success(), "{err}");
    assert!(err.contains("is in use by process"), "{err}");
    assert!(
        err.contains("a read-only replica cannot take its copy"),
        "{err}"
    );
    assert!(err.contains("start replicas before"), "{err}");
    assert_eq!(writer.terminate(30).code(), Some(0));

    // The procedure of the hint: the replica first, then the writable server beside it.
    let replica = Server::start(&data, &["--read-only"]);
    let writer = Server::start(&data, &[]);
    let read = replica.get("/v1/users/1/recommendations?k=3");
    let written = writer.post_json("/v1/interactions", r#"[{"user": "1", "item": "50"}]"#);
    assert_eq!(read.status, 200, "{}", read.text());
    assert!(
        read.json()["items"]
            .as_array()
            .is_some_and(|items| !items.is_empty()),
        "{}",
        read.text()
    );
    assert!(
        (200..300).contains(&written.status),
        "{}: {}",
        written.status,
        written.text()
    );
    assert_eq!(writer.terminate(30).code(), Some(0));
    assert_eq!(replica.terminate(30).code(), Some(0));
}

/// `ncf --lr 1e9` ended with finite but absurd parameters (scores near -6e19) and became the
/// current model; parameters beyond 1e12 now count as diverged, like NaN ones.
#[test]
fn an_absurdly_large_fit_is_refused_like_a_nan_one() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "pop"]));
    let out = run(kgrec(&data).args(["train", "--model", "ncf", "--lr", "1e9"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("the fit diverged"), "{err}");
    assert!(err.contains("smaller --lr"), "{err}");
    assert_eq!(
        stats(&data)["models"],
        serde_json::json!(["v1 pop (current)"])
    );
}
