//! Content features: TF-IDF over the text the graph holds about each item (maths in
//! `docs/model.md`, "Content features (`tfidf`)").
//!
//! An item's document is the text literals its linked entity is the subject of (labels,
//! abstracts, any string) and the labels of its one-hop neighbours (director, actors,
//! categories: a graph with labels alone still describes its items). Words are Unicode words
//! (`unicode-segmentation`), lower-cased; a word without a letter (a year, a number) is dropped,
//! and so are the stop words of the literal's language tag (`stop-words`; a neighbour's label
//! and an untagged literal have no language and keep all their words: idf damps what is
//! common). A term is kept when at least [`TfidfParams::min_df`] documents hold it. Its weight
//! in a document is `(1 + ln tf) · idf`, `idf = ln((1 + N) / (1 + df)) + 1` over the `N`
//! documents with a word, and each document's vector is brought to unit length, so that a dot
//! product is a cosine. Every item keeps its [`TfidfParams::neighbours`] most similar items.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};

use kgrec_kg::text::Text;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;

use crate::cf::{FitError, ParamError, require};
use crate::ease::ItemWeights;
use crate::fused::ItemGraph;

/// Hyper-parameters of the content model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TfidfParams {
    /// Most similar items kept per item.
    pub neighbours: usize,
    /// A term is kept when at least this many documents hold it.
    pub min_df: usize,
    /// Whether an item's document takes its one-hop neighbours' labels.
    pub neighbour_labels: bool,
}

impl Default for TfidfParams {
    fn default() -> Self {
        Self {
            neighbours: 100,
            min_df: 2,
            neighbour_labels: true,
        }
    }
}

impl TfidfParams {
    /// Range checks.
    pub fn check(&self) -> Result<(), ParamError> {
        require(
            self.neighbours >= 1,
            "neighbours",
            self.neighbours,
            "at least 1",
        )?;
        require(self.min_df >= 1, "min_df", self.min_df, "at least 1")
    }
}

/// Lower-cased words of `text` without the stop words of its language.
#[derive(Debug, Default)]
pub struct Tokenizer {
    /// Stop words by primary language subtag, looked up once per language.
    stop: HashMap<String, HashSet<&'static str>>,
}

impl Tokenizer {
    /// The words of `text` (Unicode word boundaries, lower-cased, with a letter), without the
    /// stop words of `language` (a BCP 47 tag: its primary subtag, `en` of `en-GB`, picks the
    /// list; a language without one, or none, keeps every word).
    pub fn tokens(&mut self, text: &str, language: Option<&str>) -> Vec<String> {
        let stop = language.map(|tag| {
            let primary = tag
                .split(['-', '_'])
                .next()
                .unwrap_or(tag)
                .to_ascii_lowercase();
            &*self.stop.entry(primary).or_insert_with_key(|primary| {
                stop_words::lookup(primary.as_str())
                    .map(|words| words.iter().copied().collect())
                    .unwrap_or_default()
            })
        });
        text.unicode_words()
            .filter(|w| w.chars().any(char::is_alphabetic))
            .map(str::to_lowercase)
            .filter(|w| stop.is_none_or(|s| !s.contains(w.as_str())))
            .collect()
    }
}

/// The words of the first `n_items` items' documents: `item_texts[i]` (the literals of item
/// `i`'s entity) and, with `neighbour_labels`, the labels (`labels`, by entity) of the entities
/// its entity is linked to in `graph`.
pub fn documents(
    graph: &ItemGraph,
    n_items: usize,
    item_texts: &[Vec<Text>],
    labels: &[Option<String>],
    neighbour_labels: bool,
) -> Vec<Vec<String>> {
    let mut tokenizer = Tokenizer::default();
    (0..n_items)
        .map(|item| {
            let mut words = Vec::new();
            for text in item_texts.get(item).map_or(&[][..], Vec::as_slice) {
                words.extend(tokenizer.tokens(&text.value, text.language.as_deref()));
            }
            if neighbour_labels && item < graph.n_items() {
                for &(_, entity) in graph.neighbourhood(item) {
                    if let Some(Some(label)) = labels.get(entity as usize) {
                        words.extend(tokenizer.tokens(label, None));
                    }
                }
            }
            words
        })
        .collect()
}

/// The distinct words of each item's own text literals (`item_texts`, by dense item id) as term
/// ids numbered in order of first appearance, ascending per item: `kg-ease`'s text rows.
pub fn item_terms(item_texts: &[Vec<Text>]) -> Vec<Vec<u32>> {
    let mut tokenizer = Tokenizer::default();
    let mut id: HashMap<String, u32> = HashMap::new();
    item_texts
        .iter()
        .map(|texts| {
            let mut terms: Vec<u32> = Vec::new();
            for text in texts {
                for word in tokenizer.tokens(&text.value, text.language.as_deref()) {
                    let next = id.len() as u32;
                    terms.push(*id.entry(word).or_insert(next));
                }
            }
            terms.sort_unstable();
            terms.dedup();
            terms
        })
        .collect()
}

/// Unit-length TF-IDF vectors of documents, sparse by document.
#[derive(Debug, Clone, PartialEq)]
pub struct TfidfVectors {
    /// Document `d`'s terms are `terms[ptr[d]..ptr[d + 1]]`, ascending.
    ptr: Vec<usize>,
    terms: Vec<u32>,
    weights: Vec<f32>,
    /// The kept terms, by id.
    vocabulary: Vec<String>,
    /// Documents with at least one word.
    described: usize,
}

impl TfidfVectors {
    /// The vectors of `documents` (each a list of words), keeping the terms at least `min_df`
    /// of them hold; terms are numbered in order of first appearance.
    pub fn new(documents: &[Vec<String>], min_df: usize) -> Self {
        let mut df: HashMap<&str, usize> = HashMap::new();
        let mut described = 0;
        for doc in documents {
            described += usize::from(!doc.is_empty());
            let distinct: HashSet<&str> = doc.iter().map(String::as_str).collect();
            for w in distinct {
                *df.entry(w).or_default() += 1;
            }
        }
        let mut id: HashMap<&str, u32> = HashMap::new();
        let mut vocabulary = Vec::new();
        let mut idf = Vec::new();
        let mut ptr = vec![0usize];
        let (mut terms, mut weights) = (Vec::new(), Vec::new());
        for doc in documents {
            let mut tf: HashMap<u32, u32> = HashMap::new();
            for w in doc {
                let Some(&d) = df.get(w.as_str()) else {
                    continue;
                };
                if d < min_df.max(1) {
                    continue;
                }
                let t = *id.entry(w.as_str()).or_insert_with(|| {
                    vocabulary.push(w.clone());
                    idf.push(((1.0 + described as f64) / (1.0 + d as f64)).ln() + 1.0);
                    (vocabulary.len() - 1) as u32
                });
                *tf.entry(t).or_default() += 1;
            }
            let mut row: Vec<(u32, f64)> = tf
                .into_iter()
                .map(|(t, n)| (t, (1.0 + f64::from(n).ln()) * idf[t as usize]))
                .collect();
            row.sort_unstable_by_key(|&(t, _)| t);
            let norm = row.iter().map(|(_, w)| w * w).sum::<f64>().sqrt();
            for (t, w) in row {
                terms.push(t);
                weights.push((w / norm) as f32);
            }
            ptr.push(terms.len());
        }
        Self {
            ptr,
            terms,
            weights,
            vocabulary,
            described,
        }
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.ptr.len() - 1
    }

    /// Whether there are no documents.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of kept terms.
    pub fn n_terms(&self) -> usize {
        self.vocabulary.len()
    }

    /// Documents with at least one word (kept or not).
    pub fn described(&self) -> usize {
        self.described
    }

    /// Documents with at least one kept term.
    pub fn with_terms(&self) -> usize {
        self.ptr.windows(2).filter(|w| w[1] > w[0]).count()
    }

    /// Document `d`'s `(term, weight)` entries, ascending term.
    pub fn vector(&self, d: usize) -> impl Iterator<Item = (&str, f32)> {
        let (lo, hi) = (self.ptr[d], self.ptr[d + 1]);
        self.terms[lo..hi]
            .iter()
            .zip(&self.weights[lo..hi])
            .map(|(&t, &w)| (self.vocabulary[t as usize].as_str(), w))
    }

    /// The cosine of documents `a` and `b`.
    pub fn cosine(&self, a: usize, b: usize) -> f32 {
        let (ra, rb) = (self.ptr[a]..self.ptr[a + 1], self.ptr[b]..self.ptr[b + 1]);
        let (ta, tb) = (&self.terms[ra.clone()], &self.terms[rb.clone()]);
        let (wa, wb) = (&self.weights[ra], &self.weights[rb]);
        let (mut i, mut j, mut dot) = (0, 0, 0.0f32);
        while i < ta.len() && j < tb.len() {
            match ta[i].cmp(&tb[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    dot += wa[i] * wb[j];
                    i += 1;
                    j += 1;
                }
            }
        }
        dot
    }

    /// Every document's `k` most similar others by cosine (positive only; ties go to the lower
    /// document), as item-to-item weights: row `j` holds `j`'s neighbours. Rows are computed on
    /// rayon's threads, each from its own document alone.
    pub fn neighbours(&self, k: usize, cancel: &AtomicBool) -> Result<ItemWeights, FitError> {
        let n = self.len();
        // Postings: term → (document, weight).
        let n_terms = self.vocabulary.len();
        let mut post_ptr = vec![0usize; n_terms + 1];
        for &t in &self.terms {
            post_ptr[t as usize + 1] += 1;
        }
        for t in 1..post_ptr.len() {
            post_ptr[t] += post_ptr[t - 1];
        }
        let mut fill = post_ptr.clone();
        let mut postings = vec![(0u32, 0.0f32); self.terms.len()];
        for d in 0..n {
            for k in self.ptr[d]..self.ptr[d + 1] {
                let t = self.terms[k] as usize;
                postings[fill[t]] = (d as u32, self.weights[k]);
                fill[t] += 1;
            }
        }
        let rows: Vec<Vec<(u32, f32)>> = (0..n)
            .into_par_iter()
            .map_init(
                || (vec![0.0f32; n], Vec::new()),
                |(acc, touched), d| {
                    if cancel.load(Ordering::Relaxed) {
                        return Vec::new();
                    }
                    for k in self.ptr[d]..self.ptr[d + 1] {
                        let (t, w) = (self.terms[k] as usize, self.weights[k]);
                        for &(other, v) in &postings[post_ptr[t]..post_ptr[t + 1]] {
                            let o = other as usize;
                            if o != d {
                                if acc[o] == 0.0 {
                                    touched.push(other);
                                }
                                acc[o] += w * v;
                            }
                        }
                    }
                    let mut best: Vec<(u32, f32)> = touched
                        .drain(..)
                        .map(|o| {
                            let v = acc[o as usize];
                            acc[o as usize] = 0.0;
                            (o, v)
                        })
                        .filter(|&(_, v)| v > 0.0)
                        .collect();
                    let order =
                        |x: &(u32, f32), y: &(u32, f32)| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0));
                    if best.len() > k {
                        best.select_nth_unstable_by(k - 1, order);
                        best.truncate(k);
                    }
                    best.sort_unstable_by_key(|&(o, _)| o);
                    best
                },
            )
            .collect();
        if cancel.load(Ordering::Relaxed) {
            return Err(FitError::Cancelled);
        }
        let mut ptr = Vec::with_capacity(n + 1);
        ptr.push(0);
        let (mut cols, mut vals) = (Vec::new(), Vec::new());
        for row in rows {
            for (c, v) in row {
                cols.push(c);
                vals.push(v);
            }
            ptr.push(cols.len());
        }
        Ok(ItemWeights::from_sparse_rows(n, ptr, cols, vals))
    }
}

#[cfg(test)]
mod tests;
