//! The library API end to end, as an application embeds kgrec: open a temporary data directory,
//! import the bundled fixtures (a DBpedia graph of 24 films, interactions, item links), train
//! the default model, print explained recommendations, then add interactions for a user the
//! model has never seen and print that user's folded-in recommendations — no retraining —
//! and the same restricted to one category of the graph (a filter).
//!
//! ```text
//! cargo run --example engine
//! ```

use std::path::Path;
use std::sync::atomic::AtomicBool;

use kgrec::explain::{ExplainOptions, TextOptions, explanation_text};
use kgrec::interactions::RawInteraction;
use kgrec::kg::ImportOptions;
use kgrec::serving::ListSource;
use kgrec::{Engine, Filter, InteractionFile, RecommendRequest, Recommendations, TrainRequest};

fn main() -> anyhow::Result<()> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let tmp = tempfile::tempdir()?;
    let engine = Engine::create(&tmp.path().join("data"))?;

    let graph = engine.import_kg(
        &[fixtures.join("movies.ttl")],
        &ImportOptions::default(),
        &mut |_| {},
    )?;
    println!(
        "graph: {} triples, {} entities, {} relations",
        graph.counts.triples, graph.counts.entities, graph.counts.relations
    );
    let imported = engine.import_interactions(&InteractionFile {
        file: fixtures.join("interactions.tsv"),
        link: Some(fixtures.join("links.tsv")),
        ..InteractionFile::default()
    })?;
    let c = imported.report.counts;
    println!(
        "interactions: {} users, {} items, {} interactions, {} linked items",
        c.users, c.items, c.interactions, c.linked
    );

    // The default learner (cke), seed 0; the callback hears every epoch.
    let mut epochs = 0;
    let trained = engine.train(
        &TrainRequest::default(),
        &mut |_| epochs += 1,
        &AtomicBool::new(false),
    )?;
    println!(
        "trained {} v{} in {epochs} epochs ({:.2} s)",
        trained.header.kind.name(),
        trained.header.version,
        trained.header.fit_seconds
    );

    // A user of the training data, explained.
    let user = engine
        .users()?
        .into_iter()
        .find(|u| u == "92")
        .unwrap_or_else(|| "1".to_owned());
    let request = RecommendRequest {
        explain: Some(ExplainOptions {
            paths: 2,
            ..ExplainOptions::default()
        }),
        ..RecommendRequest::new(&user, 3)
    };
    let recs = engine.recommend(&request)?;
    if let Some(explanation) = &recs.explanation {
        let text = TextOptions {
            model: &recs.model,
            single_item: false,
            paths: 2,
        };
        print!("\n{}", explanation_text(explanation, text));
    }

    // Someone new: three films, arriving after training.
    let newcomer = "new-visitor";
    let liked = ["1", "50", "71"]; // Toy Story, Star Wars, The Lion King (MovieLens ids)
    let rows = liked
        .iter()
        .map(|item| RawInteraction {
            user: newcomer.to_owned(),
            item: (*item).to_owned(),
            rating: None,
            timestamp: None,
            count: 1,
            stamps: Vec::new(),
        })
        .collect();
    engine.add_interactions(rows, Vec::new())?;
    let recs = engine.recommend(&RecommendRequest::new(newcomer, 5))?;
    let how = match recs.source {
        ListSource::FoldedIn => "folded in from their interactions, no retraining",
        ListSource::Model => "from the model",
        ListSource::Popularity => "the popular items (the model cannot fold them in)",
    };
    println!("\nrecommendations for {newcomer}, who liked {liked:?} ({how}):");
    print_items(&recs);

    // Only 1980s science-fiction films: a category filter is a fact of the graph.
    let request = RecommendRequest {
        filter: Filter::parse(["dct:subject=dbc:1980s_science_fiction_films"])?,
        ..RecommendRequest::new(newcomer, 3)
    };
    let recs = engine.recommend(&request)?;
    println!(
        "
the same, 1980s science-fiction films only:"
    );
    print_items(&recs);
    Ok(())
}

/// One line per item: rank, id, score, label.
fn print_items(recs: &Recommendations) {
    for item in &recs.items {
        println!(
            "{:>3}. {:<6} {:>8.4}  {}",
            item.rank,
            item.item,
            item.score,
            item.label.as_deref().unwrap_or("")
        );
    }
}
