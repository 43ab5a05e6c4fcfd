//! The twenty-first fresh look (issue #21): an item the model holds nothing of (no
//! interactions, and an entity with no edge in the graph) is neither listed nor blamed on a
//! collapse; `tune` fits collapsed defaults again at a smaller --reg as `train` does; weak paths
//! under a model without a graph part do not speak of one; `explain` of a user whose
//! interactions were all removed does not say the model lacks them.

use std::path::{Path, PathBuf};

use crate::common::*;

/// Eight paintings whose only fact is being a painting (every path between two of them goes
/// through that class: weak), liked in two groups of four by 40 users.
fn paintings(tmp: &Path) -> PathBuf {
    let mut graph = String::from(
        "@prefix ex: <http://example.org/> .\n\
         @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n\
         ex:painting rdfs:label \"painting\" .\n",
    );
    let mut links = String::from("item_id\tiri\n");
    for i in 1..=8 {
        graph.push_str(&format!(
            "ex:P{i} rdfs:label \"Painting {i}\" ; ex:instanceOf ex:painting .\n"
        ));
        links.push_str(&format!("P{i}\thttp://example.org/P{i}\n"));
    }
    let mut rows = String::from("user_id\titem_id\n");
    for u in 0..40 {
        let base = if u % 2 == 0 { 1 } else { 5 };
        for k in 0..3 {
            rows.push_str(&format!("u{u}\tP{}\n", base + (u / 2 + k) % 4));
        }
    }
    let data = tmp.join("paintings");
    let graph = write_file(tmp, "paintings.ttl", graph);
    let links = write_file(tmp, "paintings-links.tsv", links);
    let rows = write_file(tmp, "paintings.tsv", rows);
    import_linked(&data, &graph, &rows, &links);
    data
}

/// [`paintings`], plus item `orphan` linked (without interactions) to an entity the graph
/// holds only a label of.
fn with_orphan(tmp: &Path) -> PathBuf {
    let data = paintings(tmp);
    let label = write_file(
        tmp,
        "orphan.nt",
        "<http://example.org/Orphan> <http://www.w3.org/2000/01/rdf-schema#label> \"Orphan\" .\n",
    );
    ok(kgrec(&data).args(["import", "kg", "-q"]).arg(label));
    let link = write_file(
        tmp,
        "orphan.tsv",
        "item_id\tiri\norphan\thttp://example.org/Orphan\n",
    );
    ok(kgrec(&data).args(["import", "links", "-q"]).arg(link));
    data
}

#[test]
fn an_item_with_no_interactions_and_an_entity_without_edges_is_not_ranked_nor_blamed_on_a_collapse()
{
    let tmp = tempfile::tempdir().unwrap();
    let data = with_orphan(tmp.path());
    for model in ["cke", "kg-ease"] {
        ok(kgrec(&data).args(["train", "-q", "--model", model, "--seed", "1"]));
        let list: serde_json::Value = serde_json::from_str(&ok(kgrec(&data).args([
            "recommend",
            "--user",
            "u0",
            "-k",
            "100",
            "--format",
            "json",
        ])))
        .unwrap();
        // u0 has 3 of the 8 paintings: the other 5, and not the orphan (listed at 0 before).
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 5, "{model}: {list}");
        assert!(
            items.iter().all(|i| i["item"] != "orphan"),
            "{model}: an item with no basis was listed: {list}"
        );
        let out = run(kgrec(&data).args(["explain", "--user", "u0", "--item", "orphan"]));
        assert_eq!(out.status.code(), Some(2), "{model}: {}", stdout(&out));
        let said = stderr(&out);
        assert!(
            said.contains("its entity has no edge in the graph to place it by"),
            "{model}: {said}"
        );
        assert!(said.contains("`kgrec import kg`"), "{model}: {said}");
        let out = run(kgrec(&data).args(["similar", "--item", "orphan"]));
        assert_eq!(out.status.code(), Some(2), "{model}: {}", stdout(&out));
        let said = stderr(&out);
        assert!(!said.contains("collapse"), "{model}: {said}");
        assert!(!said.contains("--reg"), "{model}: {said}");
        assert!(said.contains("learnt nothing about it"), "{model}: {said}");
    }
}

#[test]
fn weak_paths_under_a_model_without_a_graph_part_do_not_speak_of_one() {
    let tmp = tempfile::tempdir().unwrap();
    let data = paintings(tmp.path());
    ok(kgrec(&data).args(["train", "-q", "--model", "ease"]));
    let text = ok(kgrec(&data).args(["recommend", "--user", "u0", "--explain", "-k", "3"]));
    // The item of u0's group: every path through the class, under a model with no graph part.
    assert!(text.contains("[weak]  You liked Painting"), "{text}");
    assert!(
        text.contains("no path is a reason for this item: ease scores from the interactions alone"),
        "{text}"
    );
    assert!(!text.contains("graph part (kg"), "{text}");
    // The other group's items: no item of u0's adds to them, so no path is searched for.
    assert!(
        text.contains("(no path: under ease none of the user's linked items adds to this one's"),
        "{text}"
    );
    assert!(!text.contains("no path within the hop limit"), "{text}");
}

/// Look 21: `tune` showed the defaults as a failed trial where they collapse at the default
/// --reg, although `train` without a tuning refits them at a smaller one; now the tuner's
/// defaults are what `train` fits, recorded with the --reg fitted.
#[test]
fn tune_fits_collapsed_defaults_again_at_a_smaller_reg_as_train_does() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    let tune = [
        "tune",
        "--models",
        "als",
        "--trials",
        "1",
        "--budget",
        "60s",
        "--no-train",
    ];
    let out: serde_json::Value =
        serde_json::from_str(&ok(kgrec(&data).args(tune).args(["--format", "json"]))).unwrap();
    let als = &out["learners"][0];
    let defaults = &als["trials"][0];
    // The defaults collapse on these validation rows at --reg 30 (the fixtures are tiny).
    assert_eq!(defaults["params"]["reg"].as_f64(), Some(3.0), "{als}");
    assert!(defaults["value"].as_f64().is_some_and(|v| v > 0.0), "{als}");
    assert!(
        als["default_value"].as_f64().is_some_and(|v| v > 0.0),
        "{als}"
    );
    assert_eq!(
        out["refitted_defaults"][0]
            .as_str()
            .map(|s| s.starts_with("als: the default --reg 30 collapsed")),
        Some(true),
        "{out}"
    );
    let text = ok(kgrec(&data).args(tune));
    assert!(
        text.contains("so the defaults' trial was fitted again at --reg 3, as `train` does"),
        "{text}"
    );
    assert!(!text.contains("failed"), "{text}");
}
