//! Issue #21 ("a new user's first afternoon"), labels in the reader's language: `--label-lang`
//! and `KGREC_LABEL_LANG` choose the labels of items (recommend, similar, explain), of the
//! entities on a path and of relations (the explanation sentences, JSON, dot, the
//! `--all-users --explain` file); `serve --label-lang` sets the service's default, and each
//! request may choose with `lang=` or `Accept-Language`. The default (English first) is unchanged.

use crate::common::*;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::fifteenth_look_graph::{LABEL, WD, WDT};

/// The fifteenth look's films (item i is film Fi; u0 has Heat and Jaws, not Collateral; ALS;
/// Heat (F0) and Collateral (F1) directed (P57) by Michael Mann), with labels in more languages
/// imported afterwards: Heat in Russian, Chinese (`zh-Hans`) and untagged; Collateral in Russian
/// and Chinese (`zh`); Ran (F3) untagged; Michael Mann in Russian; P57 "director"@en and
/// "режиссёр"@ru. Every film keeps its English label.
fn data_dir(dir: &Path) -> PathBuf {
    let data = crate::fifteenth_look_graph::data_dir(dir);
    let labels = [
        ("F0", "\"Схватка\"@ru"),
        ("F0", "\"盗火线\"@zh-Hans"),
        ("F0", "\"Heat (1995)\""),
        ("F1", "\"Соучастник\"@ru"),
        ("F1", "\"借刀杀人\"@zh"),
        ("F3", "\"Ran (1985)\""),
        ("Q1", "\"Майкл Манн\"@ru"),
    ];
    let mut g = String::new();
    for (entity, literal) in labels {
        writeln!(g, "<{WD}{entity}> <{LABEL}> {literal} .").unwrap();
    }
    writeln!(g, "<{WDT}P57> <{LABEL}> \"режиссёр\"@ru .").unwrap();
    writeln!(g, "<{WDT}P57> <{LABEL}> \"director\"@en .").unwrap();
    let file = write_file(dir, "labels.nt", g);
    ok(kgrec(&data).args(["import", "kg"]).arg(&file));
    data
}

/// `kgrec ARGS` (words separated by spaces; which must succeed), with `KGREC_LABEL_LANG` set
/// to `env` unless it is empty: its standard output.
fn kgrec_ok(data: &Path, env: &str, args: &str) -> String {
    let mut cmd = kgrec(data);
    if !env.is_empty() {
        cmd.env("KGREC_LABEL_LANG", env);
    }
    ok(cmd.args(args.split(' ')))
}

/// Item → label of `similar --item 9` (every other item), after the arguments `langs`.
fn similar_labels(data: &Path, langs: &str) -> HashMap<String, String> {
    let args = format!("{langs} similar --item 9 -k 9 --format json");
    let v: serde_json::Value = serde_json::from_str(&kgrec_ok(data, "", args.trim())).unwrap();
    v["similar"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|i| {
            (
                i["item"].as_str().unwrap().to_owned(),
                i["label"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The labels along the first path of an explanation JSON's first item: the item's label,
/// then each step's relation label and target label.
fn path_labels(j: &serde_json::Value) -> (String, Vec<(String, String)>) {
    let item = &j["items"][0];
    let steps = item["paths"][0]["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("no path: {j}"))
        .iter()
        .map(|s| {
            let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
            (text(&s["relation_label"]), text(&s["to"]["label"]))
        })
        .collect();
    (item["label"].as_str().unwrap_or("").to_owned(), steps)
}

/// `explain --user u0 --item 1 --format json` after the arguments `langs`: the path labels.
fn explained_labels(data: &Path, langs: &str) -> (String, Vec<(String, String)>) {
    let args = format!("{langs} explain --user u0 --item 1 --format json");
    path_labels(&serde_json::from_str(&kgrec_ok(data, "", args.trim())).unwrap())
}

/// `(relation label, entity label)` pairs.
fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(r, e)| (r.to_string(), e.to_string()))
        .collect()
}

/// The command line and the environment: the default is unchanged (English, else untagged);
/// `ru` picks Russian for items, path entities and relations, untagged before other
/// languages; `zh` matches `zh-Hans`, `zh-Hans` does not match `zh`; the variable does what
/// the option does and the option wins; text, JSON, dot and the `--all-users` file follow.
#[test]
fn label_lang_chooses_the_labels_of_items_paths_and_relations() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_dir(tmp.path());

    let default = similar_labels(&data, "");
    assert_eq!(default["0"], "Heat");
    assert_eq!(default["1"], "Collateral");
    assert_eq!(default["3"], "Ran");
    assert_eq!(similar_labels(&data, "--label-lang en"), default);

    let ru = similar_labels(&data, "--label-lang ru");
    assert_eq!(ru["0"], "Схватка");
    assert_eq!(ru["1"], "Соучастник");
    assert_eq!(ru["3"], "Ran (1985)", "untagged before English: {ru:?}");
    assert_eq!(ru["2"], "Thief");
    // A list: the first tag an item has a label in.
    let de_ru = similar_labels(&data, "--label-lang de,ru,en");
    assert_eq!(de_ru["0"], "Схватка");
    assert_eq!(
        de_ru["3"], "Ran",
        "en listed, so before untagged: {de_ru:?}"
    );

    let zh = similar_labels(&data, "--label-lang zh");
    assert_eq!(zh["0"], "盗火线", "zh matches zh-Hans");
    assert_eq!(zh["1"], "借刀杀人");
    let hans = similar_labels(&data, "--label-lang zh-Hans");
    assert_eq!(hans["0"], "盗火线");
    // zh-Hans does not match plain zh, but falls back to it (RFC 4647 Lookup) before untagged
    // and other languages.
    assert_eq!(hans["1"], "借刀杀人");
    assert_eq!(
        similar_labels(&data, "--label-lang zh-Hans,zh")["1"],
        "借刀杀人"
    );
    // A regional tag with no labels of its own: zh-CN falls back to zh (which matches
    // zh-Hans), ru-RU to ru, before untagged and English.
    let zh_cn = similar_labels(&data, "--label-lang zh-CN");
    assert_eq!(zh_cn["1"], "借刀杀人", "the @zh label: {zh_cn:?}");
    assert_eq!(zh_cn["0"], "盗火线", "zh, matching zh-Hans: {zh_cn:?}");
    assert_eq!(zh_cn["3"], "Ran (1985)", "then untagged: {zh_cn:?}");
    let ru_ru = similar_labels(&data, "--label-lang ru-RU,en");
    assert_eq!(ru_ru["0"], "Схватка", "{ru_ru:?}");
    assert_eq!(ru_ru["3"], "Ran", "ru-RU, ru, then en: {ru_ru:?}");
    let text = kgrec_ok(&data, "zh-Hans-CN", "similar --item 9 -k 9");
    assert!(
        text.contains("借刀杀人") && text.contains("盗火线") && !text.contains("Heat"),
        "{text}"
    );

    // The variable, and the option over it.
    let env = kgrec_ok(&data, "ru", "similar --item 9 -k 9");
    assert!(env.contains("Схватка") && !env.contains("Heat"), "{env}");
    let both = kgrec_ok(&data, "ru", "--label-lang en similar --item 9 -k 9");
    assert!(both.contains("Heat") && !both.contains("Схватка"), "{both}");

    // Explanations: the item, the entities on the path and the relation.
    let expected = [
        ("", ["Collateral", "Heat", "director", "Michael Mann"]),
        (
            "--label-lang ru",
            ["Соучастник", "Схватка", "режиссёр", "Майкл Манн"],
        ),
    ];
    for (langs, [item, liked, relation, director]) in expected {
        let path = (
            item.to_owned(),
            pairs(&[("", liked), (relation, director), (relation, item)]),
        );
        assert_eq!(explained_labels(&data, langs), path, "{langs}");
    }
    let text = kgrec_ok(&data, "", "explain --user u0 --item 1");
    let sentence = "You liked Heat, directed by Michael Mann, who also directed Collateral";
    assert!(text.contains(sentence), "{text}");
    let text = kgrec_ok(&data, "ru", "explain --user u0 --item 1");
    for words in ["Схватка", "режиссёр", "Майкл Манн", "Соучастник"]
    {
        assert!(text.contains(words), "{words}: {text}");
    }
    assert!(!text.contains("Michael Mann"), "{text}");
    let dot = kgrec_ok(
        &data,
        "",
        "explain --user u0 --item 1 --format dot --label-lang ru",
    );
    assert!(
        dot.contains("Майкл Манн") && !dot.contains("Michael Mann"),
        "{dot}"
    );

    // recommend, plain and explained.
    let recs = kgrec_ok(
        &data,
        "",
        "recommend --user u0 -k 8 --label-lang ru --format json",
    );
    assert!(
        recs.contains("Соучастник") && !recs.contains("\"Collateral\""),
        "{recs}"
    );
    let explained = kgrec_ok(&data, "ru", "recommend --user u0 -k 8 --explain");
    assert!(explained.contains("Майкл Манн"), "{explained}");

    // The batch file.
    let out = tmp.path().join("all.jsonl");
    let batch = format!(
        "recommend --all-users --explain -k 3 --out {}",
        out.display()
    );
    kgrec_ok(&data, "ru", &batch);
    let lines = std::fs::read_to_string(&out).unwrap();
    assert!(
        lines.contains("Схватка") || lines.contains("Соучастник"),
        "{lines}"
    );
    assert!(
        !lines.contains("\"Heat\"") && !lines.contains("\"Collateral\""),
        "{lines}"
    );
}

/// A tag that is not BCP 47, in the option or the variable, is refused before anything runs,
/// naming the tag (and the variable); so are an empty tag and a `*` before the end.
#[test]
fn a_label_lang_that_is_not_bcp47_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = run(kgrec(&data).args(["--label-lang", "ru,en_GB", "stats"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("\"en_GB\" is not a BCP 47 language tag"),
        "{err}"
    );
    assert!(!data.exists(), "nothing created");
    let out = run(kgrec(&data)
        .env("KGREC_LABEL_LANG", "english please")
        .args(["stats"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("\"english please\" is not a BCP 47 language tag")
            && err.contains("KGREC_LABEL_LANG"),
        "{err}"
    );
    for bad in ["ru,,en", "*,ru", ""] {
        let out = run(kgrec(&data).args(["stats", "--label-lang", bad]));
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
    }
}

/// The service: `lang=` first, else `Accept-Language` (q-values honoured), else `serve
/// --label-lang`; a bad `lang=` is a 400; the answers say they vary by `Accept-Language`.
#[test]
fn the_service_takes_lang_then_accept_language_then_its_default() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_dir(tmp.path());
    let label_of = |v: &serde_json::Value, item: &str| -> String {
        v["similar"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .find(|i| i["item"] == item)
            .and_then(|i| i["label"].as_str())
            .unwrap_or_else(|| panic!("no item {item}: {v}"))
            .to_owned()
    };
    let similar = "/v1/items/9/similar?k=9";
    {
        let server = Server::start(&data, &[]);
        assert_eq!(label_of(&server.get(similar).json(), "0"), "Heat");
        let r = server.get(&format!("{similar}&lang=ru"));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(label_of(&r.json(), "0"), "Схватка");
        assert_eq!(r.header("vary"), Some("accept-language"));
        let accept = |value: &str| {
            server
                .request("GET", similar, &[("Accept-Language", value)], b"")
                .json()
        };
        assert_eq!(
            label_of(&accept("ru-RU, ru;q=0.9, en;q=0.5"), "0"),
            "Схватка"
        );
        // A regional tag falls back to its language (RFC 4647 Lookup), in q order.
        assert_eq!(label_of(&accept("ru-RU"), "0"), "Схватка");
        assert_eq!(label_of(&accept("zh-CN"), "1"), "借刀杀人");
        assert_eq!(label_of(&accept("zh-Hans-CN"), "1"), "借刀杀人");
        assert_eq!(label_of(&accept("en-US;q=0.5, ru-RU"), "0"), "Схватка");
        assert_eq!(label_of(&accept("en-US, ru-RU;q=0.5"), "0"), "Heat");
        let r = server.get(&format!("{similar}&lang=ru-RU"));
        assert_eq!(label_of(&r.json(), "0"), "Схватка");
        // q-values, not the order written, decide.
        assert_eq!(label_of(&accept("en;q=0.2, zh;q=0.8"), "1"), "借刀杀人");
        assert_eq!(label_of(&accept("zh;q=0.2, en;q=0.8"), "1"), "Collateral");
        // Not well-formed: ignored, the default answers.
        assert_eq!(label_of(&accept("ru_RU"), "0"), "Heat");
        // lang= wins over the header.
        let r = server.request(
            "GET",
            &format!("{similar}&lang=zh"),
            &[("Accept-Language", "ru")],
            b"",
        );
        assert_eq!(label_of(&r.json(), "0"), "盗火线");
        let bad = server.get(&format!("{similar}&lang=ru_RU"));
        assert_eq!(bad.status, 400, "{}", bad.text());
        assert_eq!(bad.error_code(), "bad_parameter");
        assert!(bad.text().contains("ru_RU"), "{}", bad.text());

        let recs = server.request(
            "GET",
            "/v1/users/u0/recommendations?k=8",
            &[("Accept-Language", "ru")],
            b"",
        );
        assert_eq!(recs.status, 200, "{}", recs.text());
        assert!(recs.text().contains("Соучастник"), "{}", recs.text());
        let explained = server.get("/v1/users/u0/explanations/1?lang=ru");
        assert_eq!(explained.status, 200, "{}", explained.text());
        let (item, steps) = path_labels(&explained.json());
        assert_eq!(item, "Соучастник");
        assert_eq!(steps[1], ("режиссёр".to_owned(), "Майкл Манн".to_owned()));
        let explained = server.get("/v1/users/u0/recommendations?k=8&explain=true&lang=ru");
        assert!(
            explained.text().contains("Майкл Манн"),
            "{}",
            explained.text()
        );
        server.terminate(30);
    }
    let server = Server::start(&data, &["--label-lang", "ru"]);
    assert_eq!(label_of(&server.get(similar).json(), "0"), "Схватка");
    let english = server.request("GET", similar, &[("Accept-Language", "en")], b"");
    assert_eq!(label_of(&english.json(), "0"), "Heat");
    assert_eq!(
        label_of(&server.get(&format!("{similar}&lang=en")).json(), "0"),
        "Heat"
    );
    server.terminate(30);
}

/// Display columns of `s` on a terminal, counted here independently of kgrec: a CJK ideograph
/// takes two, the rest (ASCII, Cyrillic) one.
fn columns(s: &str) -> usize {
    s.chars()
        .map(|c| match c {
            '\u{3400}'..='\u{9fff}' => 2,
            _ => 1,
        })
        .sum()
}

/// Text tables pad by display width: with CJK and Cyrillic item ids (`recommend`, `similar`)
/// and CJK values (`sparql`), every row's next column starts at the same display column.
#[test]
fn text_tables_align_cjk_ids_and_labels_by_display_width() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let items = [
        ("书-012", "狂人日记"),
        ("книга-011", "Крыжовник"),
        ("b", "B"),
        ("书书", "孔乙己"),
    ];
    let mut nt = String::new();
    let mut links = String::from("item_id\tiri\n");
    for (i, (id, label)) in items.iter().enumerate() {
        writeln!(nt, "<http://e.org/b{i}> <{LABEL}> \"{label}\"@zh .").unwrap();
        writeln!(
            nt,
            "<http://e.org/b{i}> <http://e.org/by> <http://e.org/a> ."
        )
        .unwrap();
        writeln!(links, "{id}\thttp://e.org/b{i}").unwrap();
    }
    let mut rows = String::from("user_id\titem_id\n");
    for u in 0..4 {
        for (id, _) in &items[..=u] {
            writeln!(rows, "u{u}\t{id}").unwrap();
        }
    }
    writeln!(rows, "王芳\tb").unwrap();
    let data = dir.join("data");
    let nt = write_file(dir, "books.nt", nt);
    let rows = write_file(dir, "rows.tsv", rows);
    let links = write_file(dir, "links.tsv", links);
    ok(kgrec(&data).args(["import", "kg"]).arg(&nt));
    ok(kgrec(&data)
        .args(["import", "interactions"])
        .arg(&rows)
        .arg("--link")
        .arg(&links));
    ok(kgrec(&data).args(["train", "--model", "pop"]));
    let label_columns = |text: &str, rows: usize| {
        let starts: Vec<usize> = text
            .lines()
            .filter_map(|line| {
                let (_, label) = items.iter().find(|(_, l)| line.ends_with(l))?;
                Some(columns(&line[..line.len() - label.len()]))
            })
            .collect();
        assert_eq!(starts.len(), rows, "{text}");
        assert!(
            starts.windows(2).all(|w| w[0] == w[1]),
            "{starts:?}\n{text}"
        );
    };
    let recs = ok(kgrec(&data).args([
        "--label-lang",
        "zh",
        "recommend",
        "--user",
        "王芳",
        "-k",
        "3",
    ]));
    label_columns(&recs, 3);
    // The header's `label` starts where the labels do.
    let header = recs.lines().find(|l| l.starts_with("rank")).unwrap();
    let first = recs.lines().find(|l| l.ends_with("狂人日记")).unwrap();
    assert_eq!(
        columns(header) - "label".len(),
        columns(first) - columns("狂人日记"),
        "{recs}"
    );
    let table = ok(kgrec(&data).args([
        "sparql",
        &format!("SELECT ?l ?s WHERE {{ ?s <{LABEL}> ?l }} ORDER BY ?s"),
    ]));
    let bars: Vec<usize> = table
        .lines()
        .filter_map(|line| Some(columns(&line[..line.find(" | ")?])))
        .collect();
    assert_eq!(bars.len(), items.len() + 1, "{table}");
    assert!(bars.windows(2).all(|w| w[0] == w[1]), "{bars:?}\n{table}");
}
