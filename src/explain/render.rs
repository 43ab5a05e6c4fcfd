//! Explanations as people read them: the JSON of PRODUCT.md (serde types), one sentence per path,
//! and a Graphviz graph of the paths. Rendering reads only these values, never the stores.

use std::collections::HashSet;
use std::fmt::Write as _;

use serde::Serialize;

use crate::cf::ScoreParts;
use crate::serving::local_name;

/// One user's explained list (PRODUCT.md, "Explanation JSON").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub user: String,
    pub items: Vec<ExplainedItem>,
    /// `"popularity"` when the model does not know the user and the list is the popular items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<&'static str>,
    /// The store knows the user but every interaction of theirs was removed (`import
    /// interactions --remove`): the list is the popularity fallback's although the model may
    /// hold the user.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub emptied: bool,
    /// The user arrived after the model was trained and was folded in from their interactions.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub folded_in: bool,
    /// The path search ran out of its time budget (`ExplainOptions::budget`): the paths shown
    /// are those found by then, and items may lack paths they would otherwise have.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// Why the score means little, when it does (`Engine::explain` of one item: the model
    /// collapsed, see `engine::collapse`), and whether the item is retired (no list shows it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One recommended (or asked-about) item with its score parts and paths.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExplainedItem {
    pub item: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The graph gives the item's entity no label (`rdfs:label`, `skos:prefLabel`,
    /// `schema:name`, `foaf:name`): `label` is read from its IRI (`m.0dyb1`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unlabelled: bool,
    /// Position in the user's list; absent for an item of the user's own history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<usize>,
    #[serde(serialize_with = "crate::cf::without_negative_zero")]
    pub score: f32,
    pub score_parts: ScoreParts,
    /// `"interaction_count"` when the score (and so `score_parts.cf`) is the item's number of
    /// interactions — the popularity model's score and the popularity fallback's — rather than
    /// a model score; absent for model scores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score_unit: Option<&'static str>,
    /// Best first; empty when no path of the allowed length exists.
    pub paths: Vec<ExplainedPath>,
    /// The item has paths but every one is weak ([`WEAK_PATH_SCORE`]): why none of them is
    /// given as the reason (the graph part is spread over many weak links, the best one through
    /// a hub such as "painting" that nearly every item shares).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paths_note: Option<String>,
    /// The user already has the item (`explain` of an item of their history): never
    /// recommended to them, explained as the model sees it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub in_history: bool,
    /// The item joined the store after the model was trained: the model has no score for it
    /// (its paths still show how it connects to the user's history).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub not_in_model: bool,
    /// Nobody had interacted with the item when the model was trained: the model placed it
    /// from the graph alone (a `cke` model where the items most like it in the graph sit; an
    /// `svd`/`svdpp` model at its nearest rated items there), so its whole score is the
    /// graph's (`score_parts.kg`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub graph_only: bool,
    /// The model scores from the interactions alone (`als`, `bpr`, `ease`, ... : no graph
    /// part), so the item's paths were found after ranking: links in the graph between the
    /// user's history and the item that the model did not weigh (`paths_note` says so).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub post_hoc: bool,
}

/// A path scoring below this is weak: on the scale of path scores (a product of hop scores in
/// (0, 1], times the weight of its middle entities) a path this low goes through a hub that
/// nearly every item shares (`MiddleIdf` near 0: "a painting, as is Water Lilies" among
/// paintings) or through triples the model finds implausible. Specific paths score 0.002 and
/// above on the graphs we measured (docs/model.md, "Reading an explanation").
pub const WEAK_PATH_SCORE: f32 = 1e-3;

impl ExplainedItem {
    /// Whether the item has a path that is not weak (a reason worth giving).
    pub fn has_strong_path(&self) -> bool {
        self.paths.iter().any(|p| !p.weak)
    }

    /// Whether the item has paths, all of them weak.
    pub fn only_weak_paths(&self) -> bool {
        !self.paths.is_empty() && !self.has_strong_path()
    }

    /// Whether the item has a path that is a reason for its score: one that is not weak,
    /// under a model whose score has a graph part (not found after ranking, [`Self::post_hoc`]).
    pub fn has_reason_path(&self) -> bool {
        self.has_strong_path() && !self.post_hoc
    }
}

/// The note of an item with paths that are not weak under a model whose scores have no graph
/// part (`model`, e.g. `als`): the paths were found after ranking. `item_to_item`: the model's
/// score is a sum over the user's items (`ease`, `itemknn`), and the paths start only at those
/// that add to this one.
pub fn post_hoc_note(model: &str, item_to_item: bool) -> String {
    match item_to_item {
        true => format!(
            "found after ranking: {model} scores from the interactions alone, as a sum over the \
             user's items; each path starts at one of them that adds to this item's score, and \
             the graph link it shows played no part in the score"
        ),
        false => format!(
            "found after ranking: {model} scores from the interactions alone (its scores have \
             no graph part), so these paths are links in the graph between the user's history \
             and this item, not what the model weighed"
        ),
    }
}

/// [`post_hoc_note`] for `svd`/`svdpp` trained with the graph prior: the graph pulled every
/// linked item's vector towards its nearest rated items there, so it shaped the score, but no
/// share of it can be split off; the paths are still found after ranking.
pub fn prior_post_hoc_note(model: &str) -> String {
    format!(
        "found after ranking: {model}'s graph prior pulled each linked item's vector towards \
         its nearest rated items in the graph during training, so the graph shaped this score, \
         but no share of it can be told apart from the ratings' (the kg part shows 0); these \
         paths are links in the graph between the user's history and this item, not terms of \
         the score"
    )
}

/// The note of an item the model placed from the graph alone ([`ExplainedItem::graph_only`]).
pub fn graph_only_note(model: &str) -> String {
    format!(
        "new item: nobody had interacted with it when {model} was trained, so the model \
         placed it from the graph alone (by the items most like it there): its whole score is \
         the graph's, and its paths are the facts it shares with the user's items"
    )
}

impl ExplainedPath {
    /// The names of the path's middle entities (every entity reached but the last), e.g.
    /// `["painting"]` for "You liked X, instance of painting, as is Y".
    pub fn middle_names(&self) -> Vec<&str> {
        let hops = self.steps.get(1..).unwrap_or_default();
        hops.iter()
            .take(hops.len().saturating_sub(1))
            .map(|s| s.to.name())
            .collect()
    }
}

/// The note of an item whose paths are all weak: the graph part is spread over many weak links,
/// named by the best one's middle entities. `no_graph_part` names a model whose scores have no
/// graph part (`als`, `ease`, ...): its note says the score comes from the interactions instead.
pub fn weak_paths_note(item: &ExplainedItem, no_graph_part: Option<&str>) -> Option<String> {
    if !item.only_weak_paths() {
        return None;
    }
    let through = item
        .paths
        .first()
        .map(|p| p.middle_names().join(", "))
        .filter(|n| !n.is_empty())
        .map_or(String::new(), |n| format!(" (the best through {n})"));
    Some(match no_graph_part {
        Some(model) => format!(
            "no path is a reason for this item: {model} scores from the interactions alone (its \
             scores have no graph part), and the paths shown are weak links to the user's \
             history{through}"
        ),
        None => format!(
            "no path carries the graph part (kg {:.4}): it is spread over many weak links to the \
             user's history{through}; the paths shown are those weak links, not the reason",
            four_places(item.score_parts.kg)
        ),
    })
}

/// One relation path from the user's history to the item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExplainedPath {
    pub score: f32,
    /// The path carries almost none of the graph part (`score` < [`WEAK_PATH_SCORE`]): it is
    /// shown for what it is, a weak link (through a hub or an implausible triple), never as
    /// the reason for the item, and an item with only weak paths is not counted "with a path".
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub weak: bool,
    pub text: String,
    pub steps: Vec<PathStep>,
}

/// One step: the user's interaction first, then triples of the graph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathStep {
    pub from: Node,
    /// `"interacted"` for the first step, else the relation's IRI.
    pub relation: String,
    /// The relation's label in the graph (`wdt:P57 rdfs:label "director"@en`), when it has
    /// one: the text reads it rather than the IRI's local name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation_label: Option<String>,
    /// `"forward"`: (from, relation, to) is a triple; `"inverse"`: (to, relation, from) is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    pub to: Node,
}

/// The direction a triple is walked in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Forward,
    Inverse,
}

/// A user, an item of their history, or an entity of the graph.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Node {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The graph gives the entity no label: `label` is read from its IRI.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unlabelled: bool,
}

impl Node {
    /// The label, else the IRI's local name, else the item or user id.
    pub fn name(&self) -> &str {
        self.label
            .as_deref()
            .or(self.iri.as_deref().map(local_name))
            .or(self.item.as_deref())
            .or(self.user.as_deref())
            .unwrap_or("?")
    }
}

impl PathStep {
    /// How the step's relation reads: its label ("director"), else the words of its IRI's local
    /// name ([`relation_words`]).
    pub fn relation_words(&self) -> String {
        match &self.relation_label {
            Some(label) => label_words(label),
            None => relation_words(&self.relation),
        }
    }
}

/// A relation's label as words to phrase with: "Director" reads as "director" (an acronym such
/// as "ISBN" stays), and "has part" as its noun, "part".
fn label_words(label: &str) -> String {
    let label = label.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut chars = label.chars();
    let words: String = match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && !second.is_uppercase() => {
            first.to_lowercase().chain(label.chars().skip(1)).collect()
        }
        _ => label,
    };
    without_has(words)
}

/// `hasHost` reads as its noun: "whose host is", not "whose has host is".
fn without_has(words: String) -> String {
    match words.strip_prefix("has ") {
        Some(noun) if !noun.is_empty() => noun.to_owned(),
        _ => words,
    }
}

/// The words of a relation's local name: `musicComposer` → `music composer`, `based_on` →
/// `based on`.
pub fn relation_words(iri: &str) -> String {
    let mut words = String::new();
    let mut previous_lower = false;
    // Freebase names properties `domain.type.property` (`film.film.written_by`).
    let name = local_name(iri);
    let name = name
        .rsplit('.')
        .next()
        .filter(|p| !p.is_empty())
        .unwrap_or(name);
    for c in name.chars() {
        if c == '_' || c == '-' {
            words.push(' ');
            previous_lower = false;
        } else if c.is_uppercase() && previous_lower {
            words.push(' ');
            words.extend(c.to_lowercase());
            previous_lower = false;
        } else {
            words.extend(c.to_lowercase());
            previous_lower = c.is_lowercase() || c.is_ascii_digit();
        }
    }
    without_has(words)
}

/// How a relation reads: `forward` before the entity reached along the triple ("directed by"),
/// `inverse` after "who also" against it ("directed"), or `None` for "as is" (relations that
/// file things under a shared value).
struct Phrase {
    forward: &'static str,
    inverse: Option<&'static str>,
    /// The entity reached forward is a person ("who also"), else an organisation ("which also").
    person: bool,
}

/// Phrases for relation names common to general-purpose ontologies (DBpedia, Wikidata,
/// schema.org); any other relation reads as "whose R is X" / "the R of X".
fn phrase(words: &str) -> Option<Phrase> {
    let (forward, inverse) = match words {
        "director" | "directed by" => ("directed by", Some("directed")),
        "producer" | "executive producer" | "produced by" => ("produced by", Some("produced")),
        "writer" | "author" | "screenwriter" | "screenplay" | "written by" => {
            ("written by", Some("wrote"))
        }
        "composer" | "music composer" | "music by" => ("with music by", Some("wrote music for")),
        "editor" | "editing" | "film editor" => ("edited by", Some("edited")),
        "cinematography" | "cinematographer" | "director of photography" => {
            ("shot by", Some("shot"))
        }
        "starring" | "actor" | "cast member" => ("starring", Some("starred in")),
        "distributor" | "distributed by" => ("distributed by", Some("distributed")),
        "creator" | "created by" => ("created by", Some("created")),
        "narrator" => ("narrated by", Some("narrated")),
        "publisher" => ("published by", Some("published")),
        "developer" => ("developed by", Some("developed")),
        "designer" => ("designed by", Some("designed")),
        "founder" | "founded by" => ("founded by", Some("founded")),
        "subject" | "category" => ("filed under", None),
        "about" | "topic" | "main subject" | "keywords" | "keyword" => ("about", None),
        "genre" => ("in the genre", None),
        "type" => ("a", None),
        "country" | "country of origin" => ("from", None),
        "language" | "original language" => ("in", None),
        _ => return None,
    };
    let person = !matches!(
        words,
        "distributor" | "distributed by" | "publisher" | "developer"
    );
    Some(Phrase {
        forward,
        inverse,
        person,
    })
}

/// Relation names ending in one of these read as "X, <relation> Y" (`sequelOf`, `basedOn`).
const PREPOSITIONS: [&str; 9] = ["of", "by", "on", "in", "for", "from", "to", "with", "at"];

/// Relation names starting with one of these verbs read as "X, which <relation> Y" (`fits`,
/// `isPartOf`, `belongsTo`): "whose fits is Y" would read as if the relation were a noun.
const VERBS: [&str; 40] = [
    "is",
    "was",
    "are",
    "were",
    "contains",
    "includes",
    "features",
    "fits",
    "uses",
    "requires",
    "covers",
    "teaches",
    "mentions",
    "cites",
    "references",
    "follows",
    "likes",
    "knows",
    "owns",
    "supports",
    "influences",
    "produces",
    "depicts",
    "describes",
    "replaces",
    "succeeds",
    "precedes",
    "extends",
    "implements",
    "targets",
    "treats",
    "causes",
    "prevents",
    "affects",
    "interacts",
    "belongs",
    "sells",
    "employs",
    "borders",
    "plays",
];

/// The verb a relation's words start with, if they read as a verb phrase.
fn verb(words: &str) -> Option<&str> {
    let first = words.split(' ').next()?;
    VERBS.contains(&first).then_some(first)
}

/// The sentence of one path: "You liked Toy Story, directed by John Lasseter, who also directed
/// A Bug's Life". `steps[0]` is the interaction step.
pub fn path_text(steps: &[PathStep]) -> String {
    let mut text = String::from("You liked ");
    let Some(first) = steps.first() else {
        return String::new();
    };
    text.push_str(first.to.name());
    let mut previous: Option<&PathStep> = None;
    for step in &steps[1..] {
        let to = step.to.name();
        let words = step.relation_words();
        let known = phrase(&words);
        // `byArtist` (schema.org), `inAlbum`: the preposition says it; "whose by artist is"
        // would not.
        let words = match PREPOSITIONS
            .iter()
            .find(|p| words.starts_with(&format!("{p} ")))
        {
            Some(p) if known.is_none() => (*p).to_owned(),
            _ => words,
        };
        let after_forward = previous.is_some_and(|p| p.direction == Some(Direction::Forward));
        let after_same_forward =
            after_forward && previous.is_some_and(|p| p.relation == step.relation);
        // `sequel of`, or the bare preposition (`ex:by`).
        let prepositional = PREPOSITIONS
            .iter()
            .any(|p| words == *p || words.ends_with(&format!(" {p}")));
        let verb = verb(&words).filter(|_| known.is_none());
        let part = match (step.direction, known) {
            // "an Event", "an Opera" (by the first letter: "an" before a vowel).
            (Some(Direction::Forward), Some(p))
                if p.forward == "a"
                    && to.chars().next().is_some_and(|c| "aeiouAEIOU".contains(c)) =>
            {
                format!("an {to}")
            }
            (Some(Direction::Forward), Some(p)) => format!("{} {to}", p.forward),
            (Some(Direction::Forward), None) if verb.is_some() => format!("which {words} {to}"),
            (_, None) if after_same_forward && matches!(verb, Some("is" | "was")) => {
                format!("as is {to}")
            }
            (_, None) if after_same_forward && matches!(verb, Some("are" | "were")) => {
                format!("as are {to}")
            }
            (_, None) if after_same_forward && verb.is_some() => format!("as does {to}"),
            (_, None) if verb.is_some() => format!("and {to} {words} it"),
            (Some(Direction::Forward), None) if prepositional => format!("{words} {to}"),
            (Some(Direction::Forward), None) => format!("whose {words} is {to}"),
            (_, None) if prepositional && after_same_forward => format!("as is {to}"),
            (_, None) if prepositional => format!("and {to} is {words} it"),
            (_, Some(Phrase { inverse: None, .. })) => format!("as is {to}"),
            (
                _,
                Some(Phrase {
                    inverse: Some(verb),
                    person,
                    ..
                }),
            ) if after_forward => {
                let who = if person { "who" } else { "which" };
                format!("{who} also {verb} {to}")
            }
            (_, _) if after_same_forward => format!("also the {words} of {to}"),
            (_, _) => format!("the {words} of {to}"),
        };
        text.push_str(", ");
        text.push_str(&part);
        previous = Some(step);
    }
    text
}

/// What the text form of an explanation needs besides the explanation.
#[derive(Debug, Clone, Copy)]
pub struct TextOptions<'a> {
    /// The model that scored the items.
    pub model: &'a crate::store::ModelHeader,
    /// One item asked about (`explain`), not a list (`recommend --explain`).
    pub single_item: bool,
    /// How many paths were asked for per item (0: none, so none is missing).
    pub paths: usize,
}

/// The text form of an explanation: each item, its score parts and its paths' sentences.
pub fn explanation_text(e: &Explanation, options: TextOptions<'_>) -> String {
    let header = options.model;
    let model = format!("model v{} {}", header.version, header.kind.name());
    let popularity = header.kind == crate::learners::ModelKind::Popularity;
    let mut out = String::new();
    match e.fallback {
        Some(_) => {
            // Paths only where some were found: a user with no history has none.
            let paths = match e.items.iter().any(|i| !i.paths.is_empty()) {
                true => {
                    "; the paths show how they connect to the user's history, they did not \
                         rank them"
                }
                false => "",
            };
            match e.emptied {
                true => {
                    let _ = writeln!(
                        out,
                        "user {} has no interactions (all were removed), so {model} has nothing \
                         to score from: the most popular items{paths}",
                        e.user
                    );
                }
                false => {
                    let _ = writeln!(
                        out,
                        "user {} is not in the model ({model}): the most popular items{paths}",
                        e.user
                    );
                }
            }
        }
        None if e.folded_in => {
            let _ = writeln!(
                out,
                "explained {} for user {} ({model}; the user arrived after training and was \
                 folded in from their interactions)",
                match options.single_item {
                    true => "item",
                    false => "recommendations",
                },
                e.user
            );
        }
        None if options.single_item => {
            let _ = writeln!(out, "explained item for user {} ({model})", e.user);
        }
        None => {
            let _ = writeln!(
                out,
                "explained recommendations for user {} ({model})",
                e.user
            );
        }
    }
    for item in &e.items {
        let rank = item.rank.map_or("  -".to_owned(), |r| format!("{r:>2}."));
        let name = printable(item.label.as_deref().unwrap_or(&item.item));
        let _ = if e.fallback.is_some() {
            writeln!(
                out,
                "{rank:>3} {name} (item {}): popularity {:.0} (no model score for this user)",
                item.item, item.score,
            )
        } else {
            let score = if popularity {
                // A popularity model's score is a count, not a collaborative part.
                format!(
                    "popularity {:.0} (users who have the item)",
                    item.score_parts.cf
                )
            } else {
                format!(
                    "score {:.4} = cf {:.4} + kg {:.4}",
                    four_places(item.score),
                    four_places(item.score_parts.cf),
                    four_places(item.score_parts.kg)
                )
            };
            if item.not_in_model {
                writeln!(
                    out,
                    "{rank:>3} {name} (item {}): no score: the item joined the store after {model} \
                     was trained (train again to rank it)",
                    item.item
                )
            } else {
                writeln!(
                    out,
                    "{rank:>3} {name} (item {}): {score}{}",
                    item.item,
                    if item.in_history {
                        " (already in the user's history: never recommended to them)"
                    } else {
                        ""
                    }
                )
            }
        };
        if item.graph_only {
            let _ = writeln!(out, "     ({})", graph_only_note(&model));
        }
        // A `paths_note` says why no path can exist (no graph, no link, no history).
        if item.paths.is_empty() && options.paths > 0 && item.paths_note.is_none() {
            let _ = writeln!(
                out,
                "     {}",
                if e.truncated {
                    "(no path found within the time budget)"
                } else {
                    "(no path within the hop limit)"
                }
            );
        }
        if let Some(note) = &item.paths_note {
            let _ = writeln!(out, "     ({})", printable(note));
        }
        for p in &item.paths {
            match p.weak {
                true => writeln!(out, "     [weak]  {}", printable(&p.text)),
                false => writeln!(out, "     [{:.3}] {}", p.score, printable(&p.text)),
            }
            .ok();
        }
    }
    if header.kind == crate::learners::ModelKind::Cke
        && e.fallback.is_none()
        && e.items.iter().any(|i| i.score_parts.kg != 0.0)
    {
        let _ = writeln!(out, "{CKE_SPLIT_LEGEND}");
    }
    if let Some(line) = unlabelled_line(e) {
        let _ = writeln!(out, "{}", printable(&line));
    }
    if e.truncated {
        let _ = writeln!(
            out,
            "(the path search ran out of its time budget: paths may be missing or not the best)"
        );
    }
    out
}

/// What `cke`'s split means, under its explanations: both parts are the user's one learnt
/// vector against the two halves of the item's vector, so a large kg part says where the item
/// sits (near its graph neighbours), not that the graph alone chose it.
const CKE_SPLIT_LEGEND: &str = "(cke's split: cf is the user's taste vector against the item's \
     own offset, kg the same vector against the item's graph embedding; the taste vector is \
     learnt from the interactions, and the offset is kept small so that items sit near their \
     graph neighbours, so kg carrying most of a score says where the item sits, not that the \
     graph alone chose it)";

/// How many unlabelled names [`unlabelled_line`] shows before it says "and N more".
const UNLABELLED_NAMED: usize = 4;

/// The line that says which names of an explanation are not labels but read from IRIs (the
/// graph has no label for them: Freebase ids such as `m.0dyb1`, Wikidata properties such as
/// `P57`), so that the reader knows why they are not names, and how to have names. A relation
/// is named there only when its IRI's name is a code (it holds a digit: "whose p57 is"); a
/// relation named in words (`dbo:director`) reads well without a label.
fn unlabelled_line<'e>(e: &'e Explanation) -> Option<String> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut names: Vec<&str> = Vec::new();
    let mut relations: Vec<&str> = Vec::new();
    let mut add = |name: &'e str, to: &mut Vec<&'e str>| {
        if seen.insert(name) {
            to.push(name);
        }
    };
    for item in &e.items {
        if item.unlabelled
            && let Some(label) = item.label.as_deref()
        {
            add(label, &mut names);
        }
        for step in item.paths.iter().flat_map(|p| &p.steps) {
            for node in [&step.from, &step.to] {
                if node.unlabelled {
                    add(node.name(), &mut names);
                }
            }
            if step.direction.is_some()
                && step.relation_label.is_none()
                && relation_words(&step.relation).contains(|c: char| c.is_ascii_digit())
            {
                add(local_name(&step.relation), &mut relations);
            }
        }
    }
    let listed = |names: &[&str]| {
        let more = match names.len().saturating_sub(UNLABELLED_NAMED) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        format!(
            "{}{more}",
            names[..names.len().min(UNLABELLED_NAMED)].join(", ")
        )
    };
    let subject = match (names.is_empty(), relations.is_empty()) {
        (true, true) => return None,
        (false, true) => listed(&names),
        (true, false) => format!("relations {}", listed(&relations)),
        (false, false) => format!("{}; relations {}", listed(&names), listed(&relations)),
    };
    Some(format!(
        "({subject}: no label in the graph, so shown by the end of the IRI; a graph file giving \
         them rdfs:label, skos:prefLabel, schema:name or foaf:name names them)"
    ))
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A node's Graphviz id: the user, else the IRI, else the item.
fn dot_id(n: &Node) -> String {
    match (&n.user, &n.iri, &n.item) {
        (Some(u), _, _) => format!("user:{u}"),
        (None, Some(iri), _) => iri.clone(),
        (None, None, Some(item)) => format!("item:{item}"),
        (None, None, None) => "?".to_owned(),
    }
}

/// The paths of an explanation as one Graphviz digraph: edges point the way the triples do
/// (an inverse step is drawn from `to` to `from`), recommended items have a double border.
pub fn explanation_dot(e: &Explanation) -> String {
    let mut out = String::from(
        "digraph explanation {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n",
    );
    let mut nodes: HashSet<String> = HashSet::new();
    let mut edges: HashSet<(String, String, String)> = HashSet::new();
    let mut node = |out: &mut String, n: &Node, extra: &str| {
        let id = dot_id(n);
        if nodes.insert(id.clone()) {
            let label = match &n.user {
                Some(u) => format!("user {u}"),
                None => n.name().to_owned(),
            };
            let _ = writeln!(
                out,
                "  \"{}\" [label=\"{}\"{extra}];",
                dot_escape(&id),
                dot_escape(&label)
            );
        }
        id
    };
    for item in &e.items {
        let target = Node {
            item: Some(item.item.clone()),
            iri: item.iri.clone(),
            label: item.label.clone(),
            unlabelled: item.unlabelled,
            ..Node::default()
        };
        node(&mut out, &target, ", peripheries=2");
        for p in &item.paths {
            for step in &p.steps {
                let shape = if step.from.user.is_some() {
                    ", shape=ellipse"
                } else {
                    ""
                };
                let from = node(&mut out, &step.from, shape);
                let to = node(&mut out, &step.to, "");
                let label = if step.direction.is_some() {
                    step.relation_words()
                } else {
                    step.relation.clone()
                };
                let (a, b) = match step.direction {
                    Some(Direction::Inverse) => (to, from),
                    _ => (from, to),
                };
                if edges.insert((a.clone(), b.clone(), label.clone())) {
                    let _ = writeln!(
                        out,
                        "  \"{}\" -> \"{}\" [label=\"{}\"];",
                        dot_escape(&a),
                        dot_escape(&b),
                        dot_escape(&label)
                    );
                }
            }
        }
    }
    out.push_str("}\n");
    out
}

/// `s` as one line of a text table: control characters (a label's newline, tab, escape
/// code) and the Unicode line and paragraph separators are written as escapes (`\n`, `\t`,
/// `\r`, `\u{1b}`), so a label can neither split a row nor drive the terminal. Anything else,
/// a backslash included, is printed as it is; JSON output keeps the text unescaped.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    let escaped = |c: char| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}');
    if !s.chars().any(escaped) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if escaped(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The columns `s` takes on a terminal: an East Asian wide character (`书`, `王`) two, a
/// combining mark none, anything else one. Text tables pad by this, not by characters.
pub fn display_width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// `s` followed by spaces up to `width` display columns ([`display_width`]); `s` alone when it
/// is that wide already. What `{:<width$}` does, counting columns rather than characters, so a
/// column after a CJK id or label starts where the other rows' does.
pub fn pad_right(s: &str, width: usize) -> String {
    let pad = width.saturating_sub(display_width(s));
    let mut out = String::with_capacity(s.len() + pad);
    out.push_str(s);
    out.extend(std::iter::repeat_n(' ', pad));
    out
}

/// `x` for printing with four decimals: a value that rounds to zero is printed `0.0000`, not
/// `-0.0000`.
pub fn four_places(x: f32) -> f32 {
    if x.abs() < 5e-5 { 0.0 } else { x }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(label: &str) -> Node {
        Node {
            iri: Some(format!("http://e.org/{}", label.replace(' ', "_"))),
            label: Some(label.to_owned()),
            ..Node::default()
        }
    }

    fn step(from: &str, relation: &str, direction: Direction, to: &str) -> PathStep {
        PathStep {
            from: entity(from),
            relation: format!("http://dbpedia.org/ontology/{relation}"),
            relation_label: None,
            direction: Some(direction),
            to: entity(to),
        }
    }

    fn liked(label: &str) -> PathStep {
        PathStep {
            from: Node {
                user: Some("7".to_owned()),
                ..Node::default()
            },
            relation: "interacted".to_owned(),
            relation_label: None,
            direction: None,
            to: entity(label),
        }
    }

    /// `(relation, direction, entity reached)`.
    type TestHop<'a> = (&'a str, Direction, &'a str);

    /// The interaction step, then one step per hop.
    fn path(start: &str, hops: &[TestHop<'_>]) -> Vec<PathStep> {
        let mut steps = vec![liked(start)];
        let mut from = start;
        for &(relation, direction, to) in hops {
            steps.push(step(from, relation, direction, to));
            from = to;
        }
        steps
    }

    /// User 7's explanation of one item, `label`, with these paths.
    fn one_item(label: &str, paths: Vec<Vec<PathStep>>) -> Explanation {
        let node = entity(label);
        Explanation {
            user: "7".to_owned(),
            items: vec![ExplainedItem {
                item: "2".to_owned(),
                iri: node.iri,
                label: node.label,
                rank: Some(1),
                score: 1.0,
                score_parts: ScoreParts { cf: 0.5, kg: 0.5 },
                score_unit: None,
                in_history: false,
                not_in_model: false,
                graph_only: false,
                post_hoc: false,
                unlabelled: false,
                paths: paths
                    .into_iter()
                    .map(|steps| ExplainedPath {
                        score: 0.5,
                        weak: false,
                        text: path_text(&steps),
                        steps,
                    })
                    .collect(),
                paths_note: None,
            }],
            fallback: None,
            emptied: false,
            folded_in: false,
            truncated: false,
            note: None,
        }
    }

    #[test]
    fn weak_paths_are_no_reason() {
        let mut e = one_item(
            "Water Lilies",
            vec![path(
                "The Night Watch",
                &[
                    ("type", Direction::Forward, "painting"),
                    ("type", Direction::Inverse, "Water Lilies"),
                ],
            )],
        );
        let item = &mut e.items[0];
        assert!(item.has_strong_path() && weak_paths_note(item, None).is_none());
        item.paths[0].score = 5.2e-6;
        item.paths[0].weak = true;
        assert!(item.only_weak_paths());
        let plain = weak_paths_note(item, Some("ease")).unwrap_or_default();
        assert!(!plain.contains("graph part (kg"), "{plain}");
        assert!(
            plain.contains("ease scores from the interactions alone"),
            "{plain}"
        );
        assert!(plain.contains("the best through painting"), "{plain}");
        let note = weak_paths_note(item, None).unwrap_or_default();
        assert!(note.contains("the best through painting"), "{note}");
        assert!(note.contains("kg 0.5000"), "{note}");
        item.paths_note = Some(note);
        let header = crate::learners::new_header(crate::learners::ModelKind::Cke, String::new(), 1);
        let text = explanation_text(
            &e,
            TextOptions {
                model: &header,
                single_item: false,
                paths: 3,
            },
        );
        assert!(text.contains("[weak]  You liked The Night Watch"), "{text}");
        assert!(!text.contains("[0.000]"), "{text}");
        assert!(text.contains("not the reason"), "{text}");
        let json = serde_json::to_value(&e).unwrap_or_default();
        assert_eq!(json["items"][0]["paths"][0]["weak"], true, "{json}");
        assert!(json["items"][0]["paths_note"].is_string(), "{json}");
    }

    #[test]
    fn sentences_read_like_the_contract() {
        use Direction::{Forward, Inverse};
        let cases: [(&str, &[TestHop<'_>], &str); 15] = [
            (
                "Tosca night",
                &[("type", Forward, "Event"), ("type", Inverse, "Jazz brunch")],
                "You liked Tosca night, an Event, as is Jazz brunch",
            ),
            (
                "Toy Story",
                &[
                    ("director", Forward, "John Lasseter"),
                    ("director", Inverse, "A Bug's Life"),
                ],
                "You liked Toy Story, directed by John Lasseter, who also directed A Bug's Life",
            ),
            (
                "Raising Arizona",
                &[
                    ("director", Forward, "Coen brothers"),
                    ("producer", Inverse, "Fargo"),
                ],
                "You liked Raising Arizona, directed by Coen brothers, who also produced Fargo",
            ),
            (
                "Jaws",
                &[
                    ("distributor", Forward, "Universal"),
                    ("distributor", Inverse, "E.T."),
                ],
                "You liked Jaws, distributed by Universal, which also distributed E.T.",
            ),
            (
                "Aladdin",
                &[
                    ("subject", Forward, "1990s comedy films"),
                    ("subject", Inverse, "The Mask"),
                ],
                "You liked Aladdin, filed under 1990s comedy films, as is The Mask",
            ),
            (
                "History Hour",
                &[
                    ("about", Forward, "history"),
                    ("about", Inverse, "Unheard Tales"),
                ],
                "You liked History Hour, about history, as is Unheard Tales",
            ),
            (
                "Toy Story",
                &[("sequelOf", Inverse, "Toy Story 2")],
                "You liked Toy Story, and Toy Story 2 is sequel of it",
            ),
            (
                "A",
                &[("basedOn", Forward, "B"), ("basedOn", Inverse, "C")],
                "You liked A, based on B, as is C",
            ),
            (
                "Kid A",
                &[("by", Forward, "Radiohead"), ("by", Inverse, "OK Computer")],
                "You liked Kid A, by Radiohead, as is OK Computer",
            ),
            (
                "Kid A",
                &[("by", Inverse, "Radiohead")],
                "You liked Kid A, and Radiohead is by it",
            ),
            (
                "A",
                &[("homeTown", Forward, "B"), ("homeTown", Inverse, "C")],
                "You liked A, whose home town is B, also the home town of C",
            ),
            (
                "Trail shoe",
                &[
                    ("fits", Forward, "Wide foot"),
                    ("fits", Inverse, "Hiking boot"),
                ],
                "You liked Trail shoe, which fits Wide foot, as does Hiking boot",
            ),
            (
                "Chapter 2",
                &[
                    ("isPartOf", Forward, "Course"),
                    ("isPartOf", Inverse, "Chapter 5"),
                ],
                "You liked Chapter 2, which is part of Course, as is Chapter 5",
            ),
            (
                "Flour",
                &[("contains", Inverse, "Bread")],
                "You liked Flour, and Bread contains it",
            ),
            (
                "Track 1",
                &[
                    ("byArtist", Forward, "Artist 3"),
                    ("byArtist", Inverse, "Track 27"),
                ],
                "You liked Track 1, by Artist 3, as is Track 27",
            ),
        ];
        for (start, hops, expected) in cases {
            assert_eq!(path_text(&path(start, hops)), expected);
        }
    }

    #[test]
    fn relation_labels_phrase_the_text_and_unlabelled_codes_are_noted() {
        let wikidata = |mut step: PathStep, property: &str, label: Option<&str>| {
            step.relation = format!("http://www.wikidata.org/prop/direct/{property}");
            step.relation_label = label.map(str::to_owned);
            step
        };
        let heat = vec![
            liked("Heat"),
            wikidata(
                step("Heat", "x", Direction::Forward, "Michael Mann"),
                "P57",
                Some("Director"),
            ),
            wikidata(
                step("Michael Mann", "x", Direction::Inverse, "Collateral"),
                "P57",
                Some("Director"),
            ),
        ];
        assert_eq!(
            path_text(&heat),
            "You liked Heat, directed by Michael Mann, who also directed Collateral"
        );
        assert_eq!(heat[1].relation_words(), "director");
        let has_part = wikidata(
            step("A", "x", Direction::Forward, "B"),
            "P527",
            Some("has part"),
        );
        assert_eq!(has_part.relation_words(), "part");
        let unlabelled = vec![
            liked("Heat"),
            wikidata(
                step("Heat", "x", Direction::Forward, "Al Pacino"),
                "P161",
                None,
            ),
        ];
        assert_eq!(
            path_text(&unlabelled),
            "You liked Heat, whose p161 is Al Pacino"
        );
        let explanation = |paths| one_item("Collateral", paths);
        let line =
            unlabelled_line(&explanation(vec![heat.clone(), unlabelled])).unwrap_or_default();
        assert!(
            line.starts_with("(relations P161: no label in the graph"),
            "{line}"
        );
        assert!(!line.contains("P57"), "{line}");
        // Relations named in words (DBpedia's) need no label.
        let dbpedia = path(
            "Toy Story",
            &[
                ("director", Direction::Forward, "John Lasseter"),
                ("director", Direction::Inverse, "A Bug's Life"),
            ],
        );
        assert_eq!(unlabelled_line(&explanation(vec![heat, dbpedia])), None);
    }

    #[test]
    fn pad_right_pads_to_display_columns_cjk_wide_cyrillic_and_ascii_narrow() {
        assert_eq!(display_width("书-012"), 6);
        assert_eq!(display_width("книга-011"), 9);
        assert_eq!(display_width("item-1"), 6);
        assert_eq!(
            display_width("e\u{301}"),
            1,
            "a combining mark takes no column"
        );
        assert_eq!(pad_right("书-012", 9), "书-012   ");
        assert_eq!(pad_right("книга-011", 9), "книга-011");
        assert_eq!(pad_right("item-1", 9), "item-1   ");
        assert_eq!(pad_right("王芳", 3), "王芳", "never cut, never negative");
        assert_eq!(pad_right("", 2), "  ");
        // Rows padded to the widest id start their next column at the same display column.
        let ids = ["书-012", "книга-011", "b", "王芳的书"];
        let width = ids.iter().map(|s| display_width(s)).max().unwrap_or(0);
        for id in ids {
            assert_eq!(display_width(&pad_right(id, width)), width, "{id}");
        }
    }

    #[test]
    fn printable_escapes_control_characters_and_keeps_the_rest() {
        assert!(matches!(
            printable("Der Prozeß"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(printable("Title 0 \"q\"\nline2"), "Title 0 \"q\"\\nline2");
        assert_eq!(printable("a\tb\rc"), "a\\tb\\rc");
        assert_eq!(printable("\u{1b}[31mred\u{7f}"), "\\u{1b}[31mred\\u{7f}");
        assert_eq!(printable("one\u{2028}two"), "one\\u{2028}two");
        assert_eq!(printable("C:\\new"), "C:\\new");
    }

    #[test]
    fn relation_words_split_names() {
        assert_eq!(
            relation_words("http://dbpedia.org/ontology/musicComposer"),
            "music composer"
        );
        assert_eq!(
            relation_words("http://purl.org/dc/terms/subject"),
            "subject"
        );
        assert_eq!(
            relation_words("urn:kgrec:film.film.directed_by"),
            "directed by"
        );
        assert_eq!(relation_words("http://pod.example/hasHost"), "host");
        assert_eq!(relation_words("http://pod.example/has"), "has");
    }

    #[test]
    fn dot_draws_triples_the_way_they_point() {
        let e = one_item(
            "A Bug's Life",
            vec![path(
                "Toy Story",
                &[
                    ("director", Direction::Forward, "John Lasseter"),
                    ("director", Direction::Inverse, "A Bug's Life"),
                ],
            )],
        );
        let dot = explanation_dot(&e);
        assert!(dot.starts_with("digraph explanation {"), "{dot}");
        assert!(dot.contains("\"user:7\" -> \"http://e.org/Toy_Story\" [label=\"interacted\"]"));
        assert!(dot.contains(
            "\"http://e.org/A_Bug's_Life\" -> \"http://e.org/John_Lasseter\" [label=\"director\"]"
        ));
        assert_eq!(dot.matches("[label=\"A Bug's Life\"").count(), 1, "{dot}");
        assert!(dot.trim_end().ends_with('}'));
    }
}
