#![allow(clippy::unwrap_used)]
use super::*;
use kgrec_kg::{EntityId, RelationId, Triple};

fn words(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn tokens_are_lowercase_words_without_the_languages_stop_words() {
    let mut t = Tokenizer::default();
    assert_eq!(
        t.tokens("The Toy Story, of 1995: Pixar's FIRST film.", Some("en")),
        words(&["toy", "story", "pixar's", "first", "film"]),
        "`the` and `of` are English stop words (function words only: `first` stays); a year \
         has no letter"
    );
    assert_eq!(
        t.tokens("A Great New World: the Old Man's Home", Some("en")),
        words(&["great", "new", "world", "old", "man's", "home"]),
        "ordinary title words are not stop words"
    );
    assert_eq!(
        t.tokens("The Toy Story", None),
        words(&["the", "toy", "story"]),
        "no language, no stop words"
    );
    assert_eq!(
        t.tokens("Der Film und die Stadt", Some("de-AT")),
        words(&["film", "stadt"]),
        "the primary subtag picks German's list"
    );
    assert_eq!(
        t.tokens("Ästhetik der Ökonomie", Some("xx")),
        words(&["ästhetik", "der", "ökonomie"]),
        "an unknown language keeps every word; Unicode letters are letters"
    );
}

#[test]
fn weights_are_sublinear_tf_times_smooth_idf_at_unit_length() {
    let docs = vec![
        words(&["space", "space", "space", "alien"]),
        words(&["space", "cowboy"]),
        words(&["cowboy", "western"]),
        Vec::new(),
        words(&["unique"]),
    ];
    let v = TfidfVectors::new(&docs, 2);
    assert_eq!(v.len(), 5);
    assert_eq!(v.described(), 4);
    assert_eq!(
        v.n_terms(),
        2,
        "space and cowboy; alien, western and unique are in one document each"
    );
    assert_eq!(v.with_terms(), 3);
    // Document 0: only `space` is kept, so its unit vector is that term alone.
    let d0: Vec<(&str, f32)> = v.vector(0).collect();
    assert_eq!(d0, vec![("space", 1.0)]);
    // Document 1: space and cowboy, each in 2 of 4 described documents, tf 1: equal weights.
    let d1: Vec<(&str, f32)> = v.vector(1).collect();
    assert_eq!(d1.len(), 2);
    assert!((d1[0].1 - d1[1].1).abs() < 1e-6 && (d1[0].1 - 0.5f32.sqrt()).abs() < 1e-6);
    assert!((v.cosine(0, 1) - 0.5f32.sqrt()).abs() < 1e-6);
    assert_eq!(v.cosine(0, 2), 0.0);
    assert_eq!(v.vector(3).count(), 0);

    // Sublinear tf and idf with everything kept: tf 3 weighs 1 + ln 3, idf ln(5/3) + 1.
    let all = TfidfVectors::new(&docs, 1);
    let idf = |df: f64| ((1.0 + 4.0) / (1.0 + df)).ln() + 1.0;
    let (space, alien) = ((1.0 + 3f64.ln()) * idf(2.0), idf(1.0));
    let norm = (space * space + alien * alien).sqrt();
    let d0: HashMap<&str, f32> = all.vector(0).collect();
    assert!((f64::from(d0["space"]) - space / norm).abs() < 1e-6);
    assert!((f64::from(d0["alien"]) - alien / norm).abs() < 1e-6);
}

#[test]
fn neighbours_are_the_most_similar_documents_by_cosine() {
    let docs = vec![
        words(&["a", "b", "c"]),
        words(&["a", "b"]),
        words(&["a"]),
        words(&["x", "y"]),
        words(&["x", "y", "b"]),
    ];
    let v = TfidfVectors::new(&docs, 1);
    let never = AtomicBool::new(false);
    let s = v.neighbours(2, &never).unwrap();
    assert_eq!(s.n_items(), 5);
    let row0 = s.row_entries(0);
    let mut expected: Vec<(u32, f32)> = (1..5)
        .map(|o| (o as u32, v.cosine(0, o)))
        .filter(|&(_, c)| c > 0.0)
        .collect();
    expected.sort_by(|x, y| y.1.total_cmp(&x.1));
    expected.truncate(2);
    expected.sort_by_key(|&(o, _)| o);
    assert_eq!(row0, expected);
    assert!(
        row0.iter().all(|&(o, _)| o != 0),
        "no item is its own neighbour"
    );
    assert!(
        s.row_entries(3).iter().all(|&(o, _)| o == 4),
        "document 3 shares terms with document 4 only"
    );
    assert!(
        TfidfVectors::new(&docs, 1)
            .neighbours(2, &AtomicBool::new(true))
            .is_err()
    );
}

#[test]
fn documents_take_own_literals_and_neighbour_labels() {
    // Item 0 → entity 0, directed by entity 5 ("Ridley Scott"); item 1 unlinked.
    let graph = ItemGraph::new(
        6,
        1,
        vec![Triple::new(EntityId(0), RelationId(0), EntityId(5))],
        vec![Some(EntityId(0)), None],
    );
    let texts = vec![
        vec![Text {
            value: "Alien, a film".to_owned(),
            language: Some("en".to_owned()),
        }],
        Vec::new(),
    ];
    let mut labels = vec![None; 6];
    labels[5] = Some("Ridley Scott".to_owned());
    let docs = documents(&graph, 2, &texts, &labels, true);
    assert_eq!(docs[0], words(&["alien", "film", "ridley", "scott"]));
    assert!(docs[1].is_empty());
    let own = documents(&graph, 2, &texts, &labels, false);
    assert_eq!(own[0], words(&["alien", "film"]));
}
