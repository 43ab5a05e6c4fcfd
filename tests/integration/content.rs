//! Content features through the binary on the fixtures: `tfidf` trains from the graph's text,
//! recommends, explains and answers `similar`, and places an item without interactions from
//! its text; `kg-ease --text-weight` stacks the words of the items' text under its rows.

use crate::cf::imported_without;
use crate::common::*;
use crate::ease::{ids, json};
use std::path::Path;

fn list_of_109(data: &Path) -> serde_json::Value {
    json(&ok(kgrec(data).args([
        "recommend",
        "--user",
        "109",
        "-k",
        "5",
        "--format",
        "json",
    ])))
}

#[test]
fn tfidf_recommends_from_the_graphs_text_and_places_new_items() {
    let tmp = tempfile::tempdir().unwrap();
    // Indiana Jones and the Last Crusade (210) has no interactions at all.
    let data = imported_without(tmp.path(), "cold", &["210"]);
    let out = run(kgrec(&data).args(["train", "--model", "tfidf"]));
    assert!(stdout(&out).contains("trained tfidf"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("tfidf: 24 of 24 items have text"),
        "{}",
        stderr(&out)
    );

    // Raiders of the Lost Ark's nearest items by text: its sequel, which shares its director,
    // writer, producer, star and categories, comes first, although nobody has interacted with it.
    let found =
        json(&ok(kgrec(&data).args([
            "similar", "--item", "174", "-k", "3", "--format", "json",
        ])));
    let like = found["similar"].as_array().unwrap();
    assert_eq!(like.len(), 3, "{found}");
    assert_eq!(like[0]["item"], "210", "{found}");
    let s: Vec<f64> = like.iter().map(|x| x["score"].as_f64().unwrap()).collect();
    assert!(s.windows(2).all(|w| w[0] >= w[1]) && s[2] > 0.0, "{s:?}");

    // User 109 has Raiders: the new item is recommended, with a score to explain.
    let list = list_of_109(&data);
    assert!(list.get("fallback").is_none(), "{list}");
    assert!(ids(&list).contains(&"210".to_owned()), "{list}");
    let explained = json(&ok(kgrec(&data).args([
        "explain", "--user", "109", "--item", "210", "--format", "json",
    ])));
    assert!(
        explained["items"][0]["score"].as_f64().unwrap() > 0.0,
        "{explained}"
    );

    // The same data, the same model.
    ok(kgrec(&data).args(["train", "--model", "tfidf"]));
    let again = list_of_109(&data);
    assert_eq!(ids(&again), ids(&list));

    // Fewer neighbours: a knob it takes; one it does not is refused.
    ok(kgrec(&data).args(["train", "--model", "tfidf", "--neighbours", "2"]));
    let two =
        json(&ok(kgrec(&data).args([
            "similar", "--item", "174", "-k", "5", "--format", "json",
        ])));
    let positive = two["similar"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["score"].as_f64().unwrap() > 0.0)
        .count();
    assert_eq!(positive, 2, "each item keeps its 2 nearest: {two}");
    let out = run(kgrec(&data).args(["train", "--model", "tfidf", "--dim", "8"]));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--dim does not apply to --model tfidf"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn kg_ease_stacks_the_items_text_words_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let data = imported_without(tmp.path(), "cold", &["210"]);
    let out = run(kgrec(&data).args(["train", "--model", "kg-ease", "--text-weight", "1"]));
    assert!(stdout(&out).contains("trained kg-ease"), "{}", stderr(&out));
    let err = stderr(&out);
    let rows: usize = err
        .split("kg-ease stacked ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no text rows note: {err}"));
    assert!(rows > 0, "{err}");
    assert!(
        err.contains("rows of words of the items' text (weight τ = 1)"),
        "{err}"
    );
    // By default the text rows weigh 0.5; at 0 no text is read, and no note says otherwise.
    let out = run(kgrec(&data).args(["train", "--model", "kg-ease"]));
    assert!(
        stderr(&out).contains("rows of words of the items' text (weight τ = 0.5)"),
        "{}",
        stderr(&out)
    );
    let out = run(kgrec(&data).args(["train", "--model", "kg-ease", "--text-weight", "0"]));
    assert!(stdout(&out).contains("trained kg-ease"), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("words of the items' text"),
        "{}",
        stderr(&out)
    );
    let out = run(kgrec(&data).args(["train", "--model", "als", "--text-weight", "1"]));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--text-weight does not apply to --model als"),
        "{}",
        stderr(&out)
    );
}
