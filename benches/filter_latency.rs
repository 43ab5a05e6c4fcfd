//! Per-request latency of one user's top 10 with and without graph-fact filters on MovieLens-100K
//! fold 0 with the DBpedia graph, at the library level (`Engine::recommend`, what `kgrec
//! recommend --filter` and `GET /v1/users/{id}/recommendations?filter=` call per request).
//!
//! cargo bench --bench filter_latency
//!
//! Builds a temporary data directory outside the timed part (import the graph, the training
//! fold with its links, train the default model, cke, seed 0), warms the served state and the
//! search graph with one request, then, for each filter, times one request per user of the fold
//! (943) and prints p50/p90/p99/max/mean, the items the filter matches and the mean list length;
//! unfiltered and filtered rounds alternate twice, so that drift on a shared machine shows.
//! Skips with a note when `../shared/datasets/ml-100k` is absent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::Instant;

use kgrec::explain::ExplainOptions;
use kgrec::{Engine, Filter, RecommendRequest};

mod common;

/// What one round asks: a name, the conditions, explained or not.
struct Case {
    name: &'static str,
    filter: &'static [&'static str],
    explain: bool,
}

const CASES: [Case; 7] = [
    Case {
        name: "unfiltered",
        filter: &[],
        explain: false,
    },
    Case {
        name: "one category (dct:subject=dbc:1990s_comedy_films)",
        filter: &["dct:subject=dbc:1990s_comedy_films"],
        explain: false,
    },
    Case {
        name: "two large categories, OR (American_films|English-language_films)",
        filter: &["dct:subject=dbc:American_films|dbc:English-language_films"],
        explain: false,
    },
    Case {
        name: "two conditions, AND (rdf:type=dbo:Film, 1990s drama|comedy)",
        filter: &[
            "rdf:type=dbo:Film",
            "dct:subject=dbc:1990s_drama_films|dbc:1990s_comedy_films",
        ],
        explain: false,
    },
    Case {
        name: "a literal (rdfs:label=\"Toy Story\"@en), through the RDF store",
        filter: &["rdfs:label=\"Toy Story\"@en"],
        explain: false,
    },
    Case {
        name: "unfiltered, explained",
        filter: &[],
        explain: true,
    },
    Case {
        name: "one category, explained",
        filter: &["dct:subject=dbc:1990s_comedy_films"],
        explain: true,
    },
];

/// Times one request per user; prints the figures.
fn round(engine: &Engine, users: &[String], case: &Case) {
    let filter = Filter::parse(case.filter).unwrap();
    let mut millis = Vec::with_capacity(users.len());
    let (mut shown, mut matching) = (0usize, None);
    for user in users {
        let request = RecommendRequest {
            filter: filter.clone(),
            explain: case.explain.then(ExplainOptions::default),
            ..RecommendRequest::new(user.as_str(), 10)
        };
        let t = Instant::now();
        let recs = engine.recommend(&request).unwrap();
        millis.push(t.elapsed().as_secs_f64() * 1e3);
        shown += recs.items.len();
        matching = recs.filter.map(|f| f.matching_items);
    }
    let matching = matching.map_or_else(|| "all".to_owned(), |n| n.to_string());
    println!(
        "{:<70} {} | items matching: {matching}, mean list {:.2}",
        case.name,
        common::summary(&mut millis),
        shown as f64 / users.len() as f64
    );
}

fn main() {
    let Some(ml) = common::dataset() else {
        println!("filter_latency skipped: ../shared/datasets/ml-100k is absent");
        return;
    };
    let (_tmp, engine) = common::ml100k_engine(&ml);
    let users = engine.users().unwrap();
    let start = Instant::now();
    let warm = RecommendRequest {
        filter: Filter::parse(["rdf:type=dbo:Film"]).unwrap(),
        ..RecommendRequest::new(users[0].as_str(), 10)
    };
    engine.recommend(&warm).unwrap();
    println!(
        "first filtered request (binds the model, builds the search graph, loads the RDF \
         snapshot): {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    for pass in 1..=2 {
        println!("pass {pass}, {} users, k = 10:", users.len());
        for case in &CASES {
            round(&engine, &users, case);
        }
    }
}
