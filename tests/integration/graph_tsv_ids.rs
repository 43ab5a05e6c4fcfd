//! A tab-separated graph (`head<TAB>relation<TAB>tail`) whose ids hold a control character is
//! refused at import, naming file, line and column, as an interactions file is: the id would
//! otherwise be minted into an IRI (the character percent-encoded) and come back raw in the
//! tab-separated outputs.

use crate::common::*;

#[test]
fn a_graph_id_holding_a_control_character_is_refused_at_import() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let tsv = tmp.path().join("graph.tsv");
    std::fs::write(
        &tsv,
        "head\trelation\ttail\ntoy_story\tdirector\tlasseter\nup\tdirector\tdoc\u{7}ter\n",
    )
    .unwrap();
    // A first import refused: no directory left.
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&tsv));
    expect_bad_input(
        &out,
        &tsv,
        &[
            "graph.tsv:3:16",
            "`tail` \"doc\\u{7}ter\" holds a control character (U+0007)",
            "remove it from the file",
        ],
    );
    assert!(!data.exists(), "a refused first import leaves no directory");
    // Into a data directory with a graph: refused whole, the graph as it was.
    import_movie_graph(&data);
    let before = triples(&data);
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&tsv));
    expect_bad_input(&out, &tsv, &["graph.tsv:3:16", "control character"]);
    assert_eq!(triples(&data), before);
    // The same on a blank-separated (KGAT) graph, a C1 control in its relation.
    let kgat = tmp.path().join("kg_final.txt");
    std::fs::write(&kgat, "0 1 5\n5 1\u{85}2 7\n").unwrap();
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&kgat));
    expect_bad_input(&out, &kgat, &["kg_final.txt:2:4", "`relation`", "(U+0085)"]);
    assert_eq!(triples(&data), before);
    // The line fixed, the file imports.
    std::fs::write(
        &tsv,
        "head\trelation\ttail\ntoy_story\tdirector\tlasseter\nup\tdirector\tdocter\n",
    )
    .unwrap();
    ok(kgrec(&data).args(["import", "kg"]).arg(&tsv));
    assert_eq!(triples(&data), before + 2);
}
