//! The twenty-second fresh look (issue #21): under a model whose scores have no graph part the
//! paths are said to be found after ranking, not counted as reasons; a new item the model
//! placed from the graph alone says so, its whole score the graph's; `-q` keeps the warning
//! that a list's order is near-arbitrary; a link to an IRI the graph lacks does not replace
//! one to an entity it holds; a query naming a graph the store lacks is told which it has.

use std::path::{Path, PathBuf};

use crate::common::*;

/// A bookshop: nine books in three genres (two authors each), eight readers who each stay in
/// one genre, and `hyperion` (science fiction, by an author of another book) in the catalogue
/// with no purchase.
fn bookshop(tmp: &Path) -> PathBuf {
    let genres = ["scifi", "fantasy", "crime"];
    let mut graph = String::from(
        "@prefix ex: <http://shop.example/> .\n\
         @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n",
    );
    let mut links = String::from("item_id\tiri\n");
    for (g, genre) in genres.iter().enumerate() {
        graph.push_str(&format!("ex:{genre} rdfs:label \"{genre}\" .\n"));
        for b in 0..3 {
            let book = g * 3 + b;
            graph.push_str(&format!(
                "ex:Book{book} rdfs:label \"Book {book}\" ; ex:genre ex:{genre} ; ex:author \
                 ex:Author{} .\n",
                g * 2 + b % 2
            ));
            links.push_str(&format!("b{book}\thttp://shop.example/Book{book}\n"));
        }
    }
    graph.push_str(
        "ex:Hyperion rdfs:label \"Hyperion\" ; ex:genre ex:scifi ; ex:author ex:Author0 .\n",
    );
    links.push_str("hyperion\thttp://shop.example/Hyperion\n");
    let mut rows = String::from("user_id\titem_id\n");
    for u in 0..8 {
        let g = u % 3;
        for k in 0..2 {
            rows.push_str(&format!("r{u}\tb{}\n", g * 3 + (u / 3 + k) % 3));
        }
    }
    let data = tmp.join("shop");
    let graph = write_file(tmp, "books.ttl", graph);
    let links = write_file(tmp, "books-links.tsv", links);
    let rows = write_file(tmp, "purchases.tsv", rows);
    import_linked(&data, &graph, &rows, &links);
    data
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// `user`'s top 3, explained, as JSON.
fn explained_top3(data: &Path, user: &str) -> serde_json::Value {
    json(&ok(kgrec(data).args([
        "recommend",
        "--user",
        user,
        "--explain",
        "-k",
        "3",
        "--format",
        "json",
    ])))
}

#[test]
fn paths_under_a_model_without_a_graph_part_are_found_after_ranking_not_reasons() {
    let tmp = tempfile::tempdir().unwrap();
    let data = bookshop(tmp.path());
    ok(kgrec(&data).args(["train", "-q", "--model", "als", "--seed", "1"]));
    let e = explained_top3(&data, "r0");
    let items = e["items"].as_array().unwrap();
    let with_paths: Vec<_> = items
        .iter()
        .filter(|i| !i["paths"].as_array().unwrap().is_empty())
        .collect();
    assert!(!with_paths.is_empty(), "r0's genre mates have paths: {e}");
    for item in with_paths {
        assert_eq!(item["post_hoc"], true, "{item}");
        let note = item["paths_note"].as_str().unwrap_or_default();
        assert!(note.contains("found after ranking") || note.contains("no path is a reason"));
        assert!(
            note.contains("als scores from the interactions alone"),
            "{note}"
        );
        assert_eq!(item["score_parts"]["kg"], 0.0, "{item}");
    }
    // The batch counts them apart from paths that are reasons.
    let out = run(kgrec(&data).args([
        "recommend",
        "--all-users",
        "--explain",
        "--out",
        "-",
        "-k",
        "3",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(said.contains(" 0 with a path"), "{said}");
    assert!(
        said.contains("with paths found after ranking (als scores from the interactions alone"),
        "{said}"
    );
    // Under cke (graph part on) the same paths are reasons.
    ok(kgrec(&data).args(["train", "-q", "--model", "cke", "--seed", "1"]));
    let e = explained_top3(&data, "r0");
    assert!(
        e["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i.get("post_hoc").is_none()),
        "{e}"
    );
}

#[test]
fn a_new_item_placed_from_the_graph_alone_says_so_with_its_whole_score_the_graph_s() {
    let tmp = tempfile::tempdir().unwrap();
    let data = bookshop(tmp.path());
    ok(kgrec(&data).args(["train", "-q", "--seed", "1"]));
    // r0 reads science fiction; Hyperion is science fiction that nobody bought.
    let e = json(&ok(kgrec(&data).args([
        "explain", "--user", "r0", "--item", "hyperion", "--format", "json",
    ])));
    let item = &e["items"][0];
    assert_eq!(item["graph_only"], true, "{e}");
    assert_eq!(item["score_parts"]["cf"], 0.0, "{e}");
    let (score, kg) = (
        item["score"].as_f64().unwrap(),
        item["score_parts"]["kg"].as_f64().unwrap(),
    );
    assert!((score - kg).abs() < 1e-4, "{e}");
    let text = ok(kgrec(&data).args(["explain", "--user", "r0", "--item", "hyperion"]));
    assert!(
        text.contains("new item: nobody had interacted with it when model v1 cke was trained"),
        "{text}"
    );
    assert!(text.contains("cf 0.0000 + kg"), "{text}");
    // Lists flag it too.
    let list = json(&ok(kgrec(&data).args([
        "recommend",
        "--user",
        "r0",
        "-k",
        "9",
        "--format",
        "json",
    ])));
    let flagged: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["graph_only"] == true)
        .map(|i| i["item"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(flagged, ["hyperion"], "{list}");
    let text = ok(kgrec(&data).args(["recommend", "--user", "r0", "-k", "9"]));
    assert!(
        text.lines()
            .any(|l| l.contains("hyperion") && l.contains("(new: placed from the graph alone)")),
        "{text}"
    );
    // An item with purchases is not flagged.
    let e = json(&ok(kgrec(&data).args([
        "explain", "--user", "r0", "--item", "b2", "--format", "json",
    ])));
    assert!(e["items"][0].get("graph_only").is_none(), "{e}");
    // kg-ease scores it through its graph rows: the same flag, and its paths (the facts it
    // shares with r0's books, which placed it) are not called weak.
    ok(kgrec(&data).args(["train", "-q", "--model", "kg-ease"]));
    let e = json(&ok(kgrec(&data).args([
        "explain", "--user", "r0", "--item", "hyperion", "--format", "json",
    ])));
    let item = &e["items"][0];
    assert_eq!(item["graph_only"], true, "{e}");
    let paths = item["paths"].as_array().unwrap();
    assert!(!paths.is_empty(), "{e}");
    assert!(paths.iter().all(|p| p.get("weak").is_none()), "{e}");
    let similar = json(&ok(
        kgrec(&data).args(["similar", "--item", "hyperion", "--format", "json"])
    ));
    assert_eq!(similar["graph_only"], true, "{similar}");
}

#[test]
fn quiet_keeps_the_warning_that_a_list_s_order_is_near_arbitrary() {
    let tmp = tempfile::tempdir().unwrap();
    let data = bookshop(tmp.path());
    ok(kgrec(&data).args(["train", "-q", "--model", "als", "--reg", "30"]));
    for args in [
        &["recommend", "--user", "r0", "-k", "3", "-q"][..],
        &["recommend", "--all-users", "--out", "-", "-k", "2", "-q"][..],
        &["explain", "--user", "r0", "--item", "b5", "-q"][..],
    ] {
        let out = run(kgrec(&data).args(args));
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("near-arbitrary"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(!stdout(&out).is_empty(), "{args:?}");
    }
    // The training that collapsed says so under -q too.
    let out = run(kgrec(&data).args(["train", "-q", "--model", "als", "--reg", "1000"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: the als model collapsed"),
        "{}",
        stderr(&out)
    );
    // What is not about the results stays quiet.
    let out = run(kgrec(&data).args(["stats", "-q"]));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn a_link_to_an_iri_the_graph_lacks_does_not_replace_one_it_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let data = bookshop(tmp.path());
    let before = stats(&data);
    // A typo in letter case: the graph has Book1, not book1.
    let typo = write_file(
        tmp.path(),
        "typo.tsv",
        "item_id\tiri\nb1\thttp://shop.example/book1\n",
    );
    let out = run(kgrec(&data).args(["import", "links"]).arg(&typo));
    expect_bad_input(
        &out,
        &typo,
        &[
            "item \"b1\" is linked to <http://shop.example/Book1>, in the graph",
            "which the graph lacks; did you mean <http://shop.example/Book1>?",
            "nothing was written",
        ],
    );
    assert_eq!(stats(&data), before, "a refused link file wrote something");
    // The same through an interaction import's --link.
    let rows = write_file(tmp.path(), "more.tsv", "user_id\titem_id\nr9\tb1\n");
    let out = run(kgrec(&data)
        .args(["import", "interactions"])
        .arg(&rows)
        .arg("--link")
        .arg(&typo));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(stats(&data), before, "a refused import wrote something");
    // A new item linked in the wrong case is stored (its graph may come later), with the
    // graph's spelling named.
    let new = write_file(
        tmp.path(),
        "new.tsv",
        "item_id\tiri\nb1-paperback\thttp://shop.example/book1\n",
    );
    let out = run(kgrec(&data).args(["import", "links"]).arg(&new));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "the graph has <http://shop.example/Book1>, the same IRI in other letter case"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_query_naming_a_graph_the_store_lacks_is_told_which_graphs_it_has() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("quads");
    let quads = write_file(
        tmp.path(),
        "catalogue.nq",
        "<http://e.example/a> <http://e.example/p> <http://e.example/b> <http://e.example/graphs/books> .\n\
         <http://e.example/c> <http://e.example/p> <http://e.example/d> <http://e.example/graphs/films> .\n",
    );
    ok(kgrec(&data).args(["import", "kg", "-q"]).arg(quads));
    // A typo: did you mean.
    let out = run(kgrec(&data).args([
        "sparql",
        "SELECT * WHERE { GRAPH <http://e.example/graphs/book> { ?s ?p ?o } }",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("did you mean <http://e.example/graphs/books>?"),
        "{}",
        stderr(&out)
    );
    // A guess far from any name: the names there are.
    let out = run(kgrec(&data).args([
        "sparql",
        "SELECT * FROM NAMED <http://other.example/catalogue> WHERE { GRAPH ?g { ?s ?p ?o } }",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(said.contains("nor a named graph of that name"), "{said}");
    assert!(
        said.contains("<http://e.example/graphs/books>, <http://e.example/graphs/films>"),
        "{said}"
    );
    // A graph name the store holds is no absent IRI, whatever it finds.
    let out = run(kgrec(&data).args([
        "sparql",
        "SELECT * WHERE { GRAPH <http://e.example/graphs/books> { ?s <http://e.example/q> ?o } }",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("graphs/books>"), "{}", stderr(&out));
}

#[test]
fn a_tsv_graph_whose_tokens_are_item_ids_is_told_its_facts_reach_no_item() {
    let tmp = tempfile::tempdir().unwrap();
    let data = bookshop(tmp.path());
    // The shop's items are linked to <http://shop.example/BookN>; this graph names them b0, b1.
    let rooms = write_file(
        tmp.path(),
        "shelves.tsv",
        "b0\tshelved_in\tshelf_A\nb1\tshelved_in\tshelf_A\nb4\tshelved_in\tshelf_B\n",
    );
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&rooms));
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("warning: 3 of the catalogue's item ids are tokens of the TSV graph"),
        "{said}"
    );
    assert!(
        said.contains("b0 (graph <urn:kgrec:b0>; linked to <http://shop.example/Book0>)"),
        "{said}"
    );
    // Linked to those tokens, they are the items' entities: no warning.
    let fresh = tmp.path().join("fresh");
    let links = write_file(tmp.path(), "tokens.tsv", "item_id\tiri\nb0\tb0\nb1\tb1\n");
    ok(kgrec(&fresh).args(["import", "kg", "-q"]).arg(&rooms));
    ok(kgrec(&fresh).args(["import", "links", "-q"]).arg(&links));
    let out = run(kgrec(&fresh).args(["import", "kg"]).arg(&rooms));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("tokens of the TSV graph"),
        "{}",
        stderr(&out)
    );
}
