//! Graph-fact filters: which entities have given facts. "Films of genre Comedy", "of type
//! Film", "in category 1990s comedy films" are facts of the graph, so a category filter of a
//! recommender is a filter on entities. Knows nothing of items: the caller maps entities to
//! whatever it links to them.
//!
//! A [`Filter`] is a list of [`Condition`]s that must all hold (AND); a condition names one
//! predicate and one or more values, any of which will do (OR). The text of one condition is
//! `PREDICATE=VALUE[|VALUE...]`, each term one of
//! - an IRI in angle brackets, `<http://dbpedia.org/ontology/genre>`: any IRI, whatever it holds
//!   (`=`, `|`, `#`, `:`);
//! - a prefixed name of [`PREFIXES`], `dbo:genre`, `dbc:1990s_comedy_films`: its local part ends
//!   at the next `=` or `|`, so an IRI holding either goes in angle brackets;
//! - a literal (values only), written as in Turtle: `"Toy Story"@en`, `"1995"^^xsd:gYear`,
//!   `"x"` (escapes as in N-Triples);
//! - a bare token of a TSV graph (no `:`, `<` or `"`), `film.film.genre`, `m.0abc`: the IRI that
//!   `import kg` mints for it under `urn:kgrec:`.
//!
//! Whitespace around terms is ignored. The data's own prefixes are whatever its files declared,
//! so full IRIs always work; [`PREFIXES`] holds the usual ones.
//!
//! Resolution ([`Facts`]) reads the search graph for IRI values (the heads of one relation into
//! one entity: a binary search, no string work per entity) and the RDF store for literals. A
//! predicate or a value the graph does not hold at all is an error that names it and the nearest
//! names the graph holds; a well-formed filter that matches nothing is an empty set.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::fmt;

use oxigraph::model::{Literal, NamedNode, NamedOrBlankNode, Term};
use oxigraph::store::Store;

use crate::error::KgError;
use crate::ids::{EntityId, RelationId};
use crate::index::GraphIndex;
use crate::paths::PathGraph;
use crate::source::{DEFAULT_TSV_BASE, tsv_token_iri, tsv_token_of};

/// The prefixes a filter may use without declaring them: `(prefix, namespace)`.
pub const PREFIXES: [(&str, &str); 16] = [
    ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("owl", "http://www.w3.org/2002/07/owl#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
    ("skos", "http://www.w3.org/2004/02/skos/core#"),
    ("dct", "http://purl.org/dc/terms/"),
    ("dcterms", "http://purl.org/dc/terms/"),
    ("dc", "http://purl.org/dc/elements/1.1/"),
    ("foaf", "http://xmlns.com/foaf/0.1/"),
    ("schema", "http://schema.org/"),
    ("dbo", "http://dbpedia.org/ontology/"),
    ("dbr", "http://dbpedia.org/resource/"),
    ("dbc", "http://dbpedia.org/resource/Category:"),
    ("dbp", "http://dbpedia.org/property/"),
    ("wd", "http://www.wikidata.org/entity/"),
    ("wdt", "http://www.wikidata.org/prop/direct/"),
];

/// How a condition is written, for error messages.
const SYNTAX: &str = "a condition is PREDICATE=VALUE[|VALUE...], each term an IRI in <...>, a \
                      prefixed name such as dbo:genre, a literal in quotes such as \
                      \"1995\"^^xsd:gYear or \"Drama\"@en (values only), or a bare token of a \
                      TSV graph";

/// Names shown in a hint.
const HINTS: usize = 8;

/// Subclasses a [`Facts::subclass_hint`] names before "and N more".
const SUBCLASSES_SHOWN: usize = 5;

/// `rdfs:subClassOf`, which filters do not follow.
const SUB_CLASS_OF: &str = "http://www.w3.org/2000/01/rdf-schema#subClassOf";

/// Statements of one predicate read for a literal's hint, at most.
const HINT_SCAN: usize = 100_000;

/// Why a filter cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// The text does not parse.
    #[error("filter {condition:?}: {message}; {SYNTAX}")]
    Syntax {
        /// The condition as given.
        condition: String,
        /// What is wrong.
        message: String,
    },
    /// A prefixed name with a prefix outside [`PREFIXES`].
    #[error(
        "filter {condition:?}: unknown prefix {prefix:?} in {term}; {advice} (known prefixes: {})",
        known_prefixes()
    )]
    UnknownPrefix {
        /// The condition as given.
        condition: String,
        /// The term as given.
        term: String,
        /// Its prefix.
        prefix: String,
        /// What to write instead.
        advice: String,
    },
    /// No statement of the graph has the predicate.
    #[error("filter {condition:?}: the graph has no predicate {written}{hint}")]
    UnknownPredicate {
        /// The condition as given.
        condition: String,
        /// The predicate as given, with its IRI.
        written: String,
        /// The relations the graph holds that come nearest, as a clause.
        hint: String,
    },
    /// The graph holds no such entity, or no statement has the literal as its object.
    #[error("filter {condition:?}: the graph has no {what} {written}{hint}")]
    UnknownValue {
        /// The condition as given.
        condition: String,
        /// `entity` or `literal`.
        what: &'static str,
        /// The value as given, with its IRI.
        written: String,
        /// The values of the predicate that come nearest, as a clause.
        hint: String,
    },
    /// Reading the graph failed.
    #[error(transparent)]
    Kg(#[from] KgError),
}

impl FilterError {
    /// Whether the filter is at fault (rather than the data directory).
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, Self::Kg(_))
    }
}

fn known_prefixes() -> String {
    PREFIXES
        .iter()
        .map(|(p, _)| *p)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A term of a condition with the text it was written as.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Written<T> {
    term: T,
    text: String,
}

impl<T: fmt::Display> Written<T> {
    /// `dbo:genre (<http://dbpedia.org/ontology/genre>)`, or the text alone when that is the
    /// whole term.
    fn describe(&self) -> String {
        let full = self.term.to_string();
        if full == self.text {
            full
        } else {
            format!("{} ({full})", self.text)
        }
    }
}

/// One condition: the entity has the predicate with one of the values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Condition {
    predicate: Written<NamedNode>,
    values: Vec<Written<Term>>,
    text: String,
}

impl Condition {
    /// Parses `PREDICATE=VALUE[|VALUE...]` (see the module's documentation).
    pub fn parse(text: &str) -> Result<Self, FilterError> {
        let syntax = |message: String| FilterError::Syntax {
            condition: text.to_owned(),
            message,
        };
        let (predicate, rest) = read_term(text, text)?;
        let predicate = match predicate.term {
            Term::NamedNode(iri) => Written {
                term: iri,
                text: predicate.text,
            },
            _ => {
                return Err(syntax(format!(
                    "the predicate {} is not an IRI",
                    predicate.text
                )));
            }
        };
        let Some(mut rest) = rest.trim_start().strip_prefix('=') else {
            return Err(syntax(if rest.trim().is_empty() {
                format!("no `=` after the predicate {}", predicate.text)
            } else {
                format!(
                    "expected `=` after the predicate {}, found {:?}",
                    predicate.text,
                    rest.trim()
                )
            }));
        };
        let mut values = Vec::new();
        loop {
            let (value, after) = read_term(rest, text)?;
            let after = after.trim_start();
            let value_text = value.text.clone();
            values.push(value);
            if after.is_empty() {
                break;
            }
            rest = after.strip_prefix('|').ok_or_else(|| {
                syntax(format!(
                    "expected `|` or the end after {value_text}, found {after:?} (an IRI holding \
                     `=` or `|` goes in <...>)"
                ))
            })?;
        }
        Ok(Self {
            predicate,
            values,
            text: text.to_owned(),
        })
    }

    /// The predicate.
    pub fn predicate(&self) -> &NamedNode {
        &self.predicate.term
    }

    /// The values, any of which will do.
    pub fn values(&self) -> impl Iterator<Item = &Term> {
        self.values.iter().map(|v| &v.term)
    }

    /// The condition as given.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// The condition with full IRIs (`<p>=<o>|"literal"@en`), which parses back to itself.
impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}=", self.predicate.term)?;
        for (n, v) in self.values.iter().enumerate() {
            if n > 0 {
                f.write_str("|")?;
            }
            write!(f, "{}", v.term)?;
        }
        Ok(())
    }
}

/// Conditions that must all hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Filter {
    conditions: Vec<Condition>,
}

impl Filter {
    /// Parses one condition per text; no text, no filter.
    pub fn parse<S: AsRef<str>>(texts: impl IntoIterator<Item = S>) -> Result<Self, FilterError> {
        let conditions = texts
            .into_iter()
            .map(|t| Condition::parse(t.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Self { conditions })
    }

    /// Whether there is no condition (everything passes).
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }

    /// The conditions.
    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }
}

/// Reads one term at the start of `s` (after whitespace); returns it and what follows.
fn read_term<'s>(s: &'s str, condition: &str) -> Result<(Written<Term>, &'s str), FilterError> {
    let syntax = |message: String| FilterError::Syntax {
        condition: condition.to_owned(),
        message,
    };
    let s = s.trim_start();
    let (term, len) = match s.chars().next() {
        None => return Err(syntax("a term is missing".to_owned())),
        Some('<') => {
            let (iri, len) = read_iri(s, condition)?;
            (Term::NamedNode(iri), len)
        }
        Some('"') => {
            let (literal, len) = read_literal(s, condition)?;
            (Term::Literal(literal), len)
        }
        Some(_) => {
            let len = s.find(['=', '|']).unwrap_or(s.len());
            let token = s[..len].trim_end();
            if token.is_empty() {
                return Err(syntax(format!("a term is missing before {:?}", &s[len..])));
            }
            (Term::NamedNode(bare_name(token, condition)?), len)
        }
    };
    let written = Written {
        term,
        text: s[..len].trim_end().to_owned(),
    };
    Ok((written, &s[len..]))
}

/// `<...>` at the start of `s`: the IRI and the bytes it took.
fn read_iri(s: &str, condition: &str) -> Result<(NamedNode, usize), FilterError> {
    let syntax = |message: String| FilterError::Syntax {
        condition: condition.to_owned(),
        message,
    };
    let end = s
        .find('>')
        .ok_or_else(|| syntax(format!("{s:?} opens an IRI with `<` but never closes it")))?;
    let iri = NamedNode::new(&s[1..end])
        .map_err(|e| syntax(format!("{} is not a valid IRI: {e}", &s[..=end])))?;
    Ok((iri, end + 1))
}

/// A quoted literal with its optional `@lang` or `^^datatype` at the start of `s`.
fn read_literal(s: &str, condition: &str) -> Result<(Literal, usize), FilterError> {
    let syntax = |message: String| FilterError::Syntax {
        condition: condition.to_owned(),
        message,
    };
    let bytes = s.as_bytes();
    let mut i = 1;
    let close = loop {
        match bytes.get(i) {
            None => {
                return Err(syntax(format!(
                    "{s:?} opens a literal with `\"` but never closes it"
                )));
            }
            Some(b'\\') => i += 2,
            Some(b'"') => break i,
            Some(_) => i += 1,
        }
    };
    let quoted = &s[..=close];
    let rest = &s[close + 1..];
    let (ntriples, len) = if let Some(tag) = rest.strip_prefix('@') {
        let n = tag
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(tag.len());
        (format!("{quoted}@{}", &tag[..n]), close + 2 + n)
    } else if let Some(datatype) = rest.strip_prefix("^^") {
        let (iri, n) = if datatype.starts_with('<') {
            read_iri(datatype, condition)?
        } else {
            let n = datatype
                .find(|c: char| c == '=' || c == '|' || c.is_whitespace())
                .unwrap_or(datatype.len());
            let name = &datatype[..n];
            if !name.contains(':') {
                return Err(syntax(format!(
                    "the datatype of {quoted} is missing or not an IRI: write ^^xsd:integer or \
                     ^^<IRI>"
                )));
            }
            (bare_name(name, condition)?, n)
        };
        (format!("{quoted}^^{iri}"), close + 3 + n)
    } else {
        (quoted.to_owned(), close + 1)
    };
    let literal: Literal = ntriples.parse().map_err(|e| {
        syntax(format!(
            "{} is not a valid literal: {e}",
            &s[..len.min(s.len())]
        ))
    })?;
    Ok((literal, len))
}

/// A prefixed name (`dbo:genre`) or a bare TSV token (`m.0abc`).
fn bare_name(token: &str, condition: &str) -> Result<NamedNode, FilterError> {
    let iri = match token.split_once(':') {
        Some((prefix, local)) => {
            let Some((_, namespace)) = PREFIXES.iter().find(|(p, _)| *p == prefix) else {
                let advice = if local.starts_with("//") || prefix.eq_ignore_ascii_case("urn") {
                    format!("write a full IRI in angle brackets: <{token}>")
                } else {
                    "filters do not read the prefixes your files declare: write the full IRI \
                     in angle brackets, <...>"
                        .to_owned()
                };
                return Err(FilterError::UnknownPrefix {
                    condition: condition.to_owned(),
                    term: token.to_owned(),
                    prefix: prefix.to_owned(),
                    advice,
                });
            };
            format!("{namespace}{local}")
        }
        None => tsv_token_iri(DEFAULT_TSV_BASE, token),
    };
    NamedNode::new(&iri).map_err(|e| FilterError::Syntax {
        condition: condition.to_owned(),
        message: format!("{token} makes {iri:?}, which is not a valid IRI: {e}"),
    })
}

/// `prefix:local` for an IRI under a namespace of [`PREFIXES`] (the longest), the bare token of a
/// TSV graph's IRI, else `<iri>`: how hints name what the graph holds, in a form a filter takes.
pub fn compact(iri: &str) -> String {
    let plain = |local: &str| {
        !local.is_empty()
            && !local
                .contains(|c: char| c.is_whitespace() || matches!(c, '=' | '|' | '<' | '>' | '"'))
    };
    if let Some(token) = tsv_token_of(DEFAULT_TSV_BASE, iri)
        && plain(&token)
        && !token.contains(':')
        && tsv_token_iri(DEFAULT_TSV_BASE, &token) == iri
    {
        return token;
    }
    PREFIXES
        .iter()
        .filter_map(|(p, ns)| Some((p, ns.len(), iri.strip_prefix(ns)?)))
        .filter(|(_, _, local)| plain(local))
        .min_by_key(|(_, n, _)| Reverse(*n))
        .map_or_else(
            || format!("<{iri}>"),
            |(p, _, local)| format!("{p}:{local}"),
        )
}

/// The last segment of an IRI (after `/`, `#` or `:`).
pub fn local_name(iri: &str) -> &str {
    let trimmed = iri.trim_end_matches(['/', '#']);
    trimmed.rsplit(['/', '#', ':']).next().unwrap_or(trimmed)
}

/// A name for an entity without a label: the token a TSV import minted its IRI from, else its
/// IRI's local name percent-decoded (`sci%20fi` → `sci fi`; kept as it is when the escapes are
/// not UTF-8).
pub fn readable_name(iri: &str) -> String {
    if let Some(token) = tsv_token_of(DEFAULT_TSV_BASE, iri) {
        return token;
    }
    let local = local_name(iri);
    percent_encoding::percent_decode_str(local)
        .decode_utf8()
        .map_or_else(|_| local.to_owned(), |name| name.into_owned())
}

/// How near a name is to the one asked for: the same local name (ignoring case) first, then one
/// holding the other, then the rest.
fn nearness(asked: &str, name: &str) -> u8 {
    let (a, b) = (
        local_name(asked).to_lowercase(),
        local_name(name).to_lowercase(),
    );
    if a == b {
        0
    } else if !a.is_empty() && !b.is_empty() && (a.contains(&b) || b.contains(&a)) {
        1
    } else if strsim::osa_distance(&a, &b) <= (a.chars().count() / 4).max(1) {
        // A typo or two away (`directr` for `director`).
        1
    } else {
        2
    }
}

/// The `HINTS` nearest of `(name, count)` to `asked`, nearer then more frequent first, as
/// `"a (n units), b (m units), ... and k more"` (`unit`: singular and plural).
fn nearest(asked: &str, mut names: Vec<(String, usize)>, unit: (&str, &str)) -> String {
    let total = names.len();
    names.sort_by(|(a, n), (b, m)| {
        (nearness(asked, a), Reverse(*n), a).cmp(&(nearness(asked, b), Reverse(*m), b))
    });
    let mut shown: Vec<String> = names
        .iter()
        .take(HINTS)
        .map(|(name, n)| {
            let unit = if *n == 1 { unit.0 } else { unit.1 };
            format!("{} ({n} {unit})", compact(name))
        })
        .collect();
    if total > HINTS {
        shown.push(format!("and {} more", total - HINTS));
    }
    shown.join(", ")
}

/// What a filter is resolved against: the graph index (entity IRIs), its search graph (edges by
/// relation), the relation IRIs in id order, and the RDF store (literals).
#[derive(Clone, Copy)]
pub struct Facts<'g> {
    /// The entity and relation dictionaries.
    pub index: &'g GraphIndex,
    /// The edges, both ways.
    pub graph: &'g PathGraph,
    /// Relation IRIs by [`RelationId`].
    pub relations: &'g [String],
    /// The statements, literals included.
    pub rdf: &'g Store,
}

impl fmt::Debug for Facts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Facts")
            .field("entities", &self.graph.n_entities())
            .field("relations", &self.relations.len())
            .finish_non_exhaustive()
    }
}

impl Facts<'_> {
    /// The entities that satisfy every condition, ascending; `None` for an empty filter
    /// (nothing is restricted).
    pub fn matching(&self, filter: &Filter) -> Result<Option<Vec<EntityId>>, FilterError> {
        let mut out: Option<Vec<EntityId>> = None;
        for condition in filter.conditions() {
            let subjects = self.subjects(condition)?;
            out = Some(match out {
                None => subjects,
                Some(mut previous) => {
                    previous.retain(|e| subjects.binary_search(e).is_ok());
                    previous
                }
            });
        }
        Ok(out)
    }

    /// Why a filter that no entity satisfies may have been meant otherwise: for each condition
    /// no entity satisfies on its own, each IRI value that has subclasses in the graph
    /// (`rdfs:subClassOf` edges into it). Filters match the facts as stated and do not follow
    /// `rdfs:subClassOf` (an entity typed `Band` is not also of type `Artist` because `Band`
    /// is a subclass of it): the hint says so, names the subclasses (the first few, and a count)
    /// and gives the condition on them. `None` when no value has a subclass.
    pub fn subclass_hint(&self, filter: &Filter) -> Result<Option<String>, FilterError> {
        let Some(sub_class_of) = self
            .relations
            .iter()
            .position(|r| r == SUB_CLASS_OF)
            .map(|i| RelationId(i as u32))
        else {
            return Ok(None);
        };
        let mut hints = Vec::new();
        for condition in filter.conditions() {
            if !self.subjects(condition)?.is_empty() {
                continue;
            }
            for value in &condition.values {
                let Term::NamedNode(iri) = &value.term else {
                    continue;
                };
                let Some(class) = self.index.entity_id(iri.as_str())? else {
                    continue;
                };
                let mut subclasses: Vec<EntityId> = self.graph.heads(sub_class_of, class).collect();
                subclasses.sort_unstable();
                subclasses.dedup();
                if subclasses.is_empty() {
                    continue;
                }
                let mut names: Vec<String> = self
                    .index
                    .entity_iris_of(&subclasses)?
                    .iter()
                    .map(|i| compact(i))
                    .collect();
                names.sort();
                let total = names.len();
                names.truncate(SUBCLASSES_SHOWN);
                let more = match total - names.len() {
                    0 => String::new(),
                    n => format!(" and {n} more"),
                };
                hints.push(format!(
                    "{} has {total} subclass(es) in the graph ({}{more}) and no entity of its \
                     own for {}: filters match the facts as stated and do not follow \
                     rdfs:subClassOf, so filter on the subclasses, e.g. `{}={}`",
                    value.text,
                    names.join(", "),
                    condition.predicate.text,
                    condition.predicate.text,
                    names.join("|")
                ));
            }
        }
        Ok((!hints.is_empty()).then(|| hints.join("; ")))
    }

    /// The entities with the condition's predicate and one of its values, ascending.
    pub fn subjects(&self, condition: &Condition) -> Result<Vec<EntityId>, FilterError> {
        let predicate = condition.predicate();
        let relation = self
            .relations
            .iter()
            .position(|r| r == predicate.as_str())
            .map(|i| RelationId(i as u32));
        if relation.is_none() && !self.has_predicate(predicate)? {
            return Err(FilterError::UnknownPredicate {
                condition: condition.text.clone(),
                written: condition.predicate.describe(),
                hint: self.predicate_hint(predicate.as_str()),
            });
        }
        let mut out = Vec::new();
        for value in &condition.values {
            match &value.term {
                Term::NamedNode(iri) => {
                    let Some(entity) = self.index.entity_id(iri.as_str())? else {
                        return Err(FilterError::UnknownValue {
                            condition: condition.text.clone(),
                            what: "entity",
                            written: value.describe(),
                            hint: self.entity_hint(iri.as_str(), relation, value)?,
                        });
                    };
                    if let Some(r) = relation {
                        out.extend(self.graph.heads(r, entity));
                    }
                }
                Term::Literal(literal)
                    if !self.literal_subjects(predicate, literal, &mut out)? =>
                {
                    return Err(FilterError::UnknownValue {
                        condition: condition.text.clone(),
                        what: "literal",
                        written: value.describe(),
                        hint: self.literal_hint(predicate, literal)?,
                    });
                }
                // A literal that matched; the parser makes no other term.
                _ => {}
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Whether any statement has `predicate` (one with a literal object, say).
    fn has_predicate(&self, predicate: &NamedNode) -> Result<bool, KgError> {
        Ok(self
            .rdf
            .quads_for_pattern(None, Some(predicate.as_ref()), None, None)
            .next()
            .transpose()?
            .is_some())
    }

    /// Pushes the entities with `(entity, predicate, literal)`; `false` when no statement at all
    /// has the literal as its object (the literal is unknown, not merely unmatched).
    fn literal_subjects(
        &self,
        predicate: &NamedNode,
        literal: &Literal,
        out: &mut Vec<EntityId>,
    ) -> Result<bool, KgError> {
        let object = Term::Literal(literal.clone());
        let mut seen = false;
        for quad in
            self.rdf
                .quads_for_pattern(None, Some(predicate.as_ref()), Some(object.as_ref()), None)
        {
            seen = true;
            if let NamedOrBlankNode::NamedNode(subject) = quad?.subject
                && let Some(e) = self.index.entity_id(subject.as_str())?
            {
                out.push(e);
            }
        }
        if seen {
            return Ok(true);
        }
        Ok(self
            .rdf
            .quads_for_pattern(None, None, Some(object.as_ref()), None)
            .next()
            .transpose()?
            .is_some())
    }

    /// `"; relations in the graph include ..."`, nearest first.
    fn predicate_hint(&self, asked: &str) -> String {
        let mut counts = vec![0usize; self.relations.len()];
        for t in self.graph.triples() {
            if let Some(c) = counts.get_mut(t.relation.index()) {
                *c += 1;
            }
        }
        let names: Vec<(String, usize)> = self.relations.iter().cloned().zip(counts).collect();
        if names.is_empty() {
            return " (it has no relation between entities at all)".to_owned();
        }
        format!(
            "; relations in the graph include {}",
            nearest(asked, names, ("edge", "edges"))
        )
    }

    /// `"; values of P include ..."`: the tails of `relation`, nearest first; for a bare token,
    /// how to write the other kinds of term.
    fn entity_hint(
        &self,
        asked: &str,
        relation: Option<RelationId>,
        value: &Written<Term>,
    ) -> Result<String, KgError> {
        let mut hint = String::new();
        if !value.text.starts_with('<') && !value.text.contains(':') {
            hint.push_str(
                " (a bare name is a token of a TSV graph; write an IRI as <...> or prefix:name, \
                 a literal in quotes)",
            );
        }
        let Some(relation) = relation else {
            return Ok(hint);
        };
        let mut counts: HashMap<EntityId, usize> = HashMap::new();
        for t in self.graph.triples().filter(|t| t.relation == relation) {
            *counts.entry(t.tail).or_default() += 1;
        }
        let ids: Vec<EntityId> = counts.keys().copied().collect();
        let iris = self.index.entity_iris_of(&ids)?;
        let names: Vec<(String, usize)> = iris
            .into_iter()
            .zip(&ids)
            .map(|(iri, id)| (iri, counts[id]))
            .collect();
        if !names.is_empty() {
            hint.push_str(&format!(
                "; values of {} include {}",
                compact(&self.relations[relation.index()]),
                nearest(asked, names, ("entity", "entities"))
            ));
        }
        Ok(hint)
    }

    /// `"; did you mean ..."` for literals of `predicate` with the same text in another type or
    /// language, else a few of its literals: the nearest to the asked text first, then the
    /// most frequent, then in text order (the same list every time).
    fn literal_hint(&self, predicate: &NamedNode, asked: &Literal) -> Result<String, KgError> {
        let mut same_text: Vec<String> = Vec::new();
        // Shown form → (nearness to the asked text, statements).
        let mut others: HashMap<String, (u8, usize)> = HashMap::new();
        for quad in self
            .rdf
            .quads_for_pattern(None, Some(predicate.as_ref()), None, None)
            .take(HINT_SCAN)
        {
            if let Term::Literal(l) = quad?.object {
                let shown = compact_literal(&l);
                if l.value().eq_ignore_ascii_case(asked.value()) {
                    if !same_text.contains(&shown) {
                        same_text.push(shown);
                    }
                } else {
                    others
                        .entry(shown)
                        .or_insert_with(|| (nearness(asked.value(), l.value()), 0))
                        .1 += 1;
                }
            }
        }
        same_text.sort();
        let total = others.len();
        let mut others: Vec<(String, (u8, usize))> = others.into_iter().collect();
        others.sort_by(|(a, (near_a, n)), (b, (near_b, m))| {
            (near_a, Reverse(n), a).cmp(&(near_b, Reverse(m), b))
        });
        let mut shown: Vec<String> = others.into_iter().take(HINTS).map(|(s, _)| s).collect();
        if total > HINTS {
            shown.push(format!("and {} more", total - HINTS));
        }
        Ok(if !same_text.is_empty() {
            format!("; did you mean {}?", same_text.join(" or "))
        } else if !shown.is_empty() {
            format!(
                "; values of {} include {}",
                compact(predicate.as_str()),
                shown.join(", ")
            )
        } else {
            String::new()
        })
    }
}

/// A literal as a filter takes it, its datatype compacted: `"1995"^^xsd:gYear`.
fn compact_literal(l: &Literal) -> String {
    let quoted = Literal::new_simple_literal(l.value()).to_string();
    if let Some(lang) = l.language() {
        format!("{quoted}@{lang}")
    } else if l.datatype().as_str() == "http://www.w3.org/2001/XMLSchema#string" {
        quoted
    } else {
        format!("{quoted}^^{}", compact(l.datatype().as_str()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn iri(s: &str) -> Term {
        Term::NamedNode(NamedNode::new(s).unwrap())
    }

    #[test]
    fn conditions_parse_iris_prefixed_names_literals_and_tokens() {
        let c = Condition::parse("dbo:genre=dbr:Comedy_film|<http://e.org/a=b?c#d>").unwrap();
        assert_eq!(c.predicate().as_str(), "http://dbpedia.org/ontology/genre");
        let values: Vec<&Term> = c.values().collect();
        assert_eq!(
            values,
            [
                &iri("http://dbpedia.org/resource/Comedy_film"),
                &iri("http://e.org/a=b?c#d")
            ]
        );
        // Local parts may hold `:` and parentheses; whitespace around terms is ignored.
        let c = Condition::parse(" dct:subject = dbc:1990s_comedy_films | dbr:Star_Wars_(film) ")
            .unwrap();
        assert_eq!(
            c.values().collect::<Vec<_>>(),
            [
                &iri("http://dbpedia.org/resource/Category:1990s_comedy_films"),
                &iri("http://dbpedia.org/resource/Star_Wars_(film)")
            ]
        );
        let c = Condition::parse(r#"rdfs:label="Toy \"Story\" = | x"@en|"1995"^^xsd:gYear|"7"^^<http://www.w3.org/2001/XMLSchema#int>|"plain""#).unwrap();
        let values: Vec<String> = c.values().map(Term::to_string).collect();
        assert_eq!(
            values,
            [
                r#""Toy \"Story\" = | x"@en"#,
                r#""1995"^^<http://www.w3.org/2001/XMLSchema#gYear>"#,
                r#""7"^^<http://www.w3.org/2001/XMLSchema#int>"#,
                r#""plain""#,
            ]
        );
        // A TSV graph's tokens are the IRIs its import minted.
        let c = Condition::parse("film.film.genre=m.0abc").unwrap();
        assert_eq!(c.predicate().as_str(), "urn:kgrec:film.film.genre");
        assert_eq!(c.values().next().unwrap(), &iri("urn:kgrec:m.0abc"));
        // The full form parses back to the same condition.
        for text in [
            "dbo:genre=dbr:Comedy_film|dbr:Drama_film",
            r#"rdfs:label="Toy Story"@en|"1995"^^xsd:gYear"#,
        ] {
            let c = Condition::parse(text).unwrap();
            let again = Condition::parse(&c.to_string()).unwrap();
            assert_eq!(again.predicate(), c.predicate());
            assert!(again.values().eq(c.values()), "{c}");
        }
        let f = Filter::parse(["rdf:type=dbo:Film", "dbo:director=dbr:X"]).unwrap();
        assert_eq!(f.conditions().len(), 2);
        assert!(Filter::parse(Vec::<String>::new()).unwrap().is_empty());
    }

    #[test]
    fn bad_conditions_say_what_is_wrong() {
        let cases: [(&str, &[&str]); 12] = [
            ("dbo:genre", &["no `=` after the predicate dbo:genre"]),
            ("=dbr:X", &["a term is missing"]),
            ("dbo:genre=", &["a term is missing"]),
            ("dbo:genre=dbr:X|", &["a term is missing"]),
            (
                "dbo:genre=dbr:X=Y",
                &["expected `|` or the end after dbr:X"],
            ),
            ("dbo:genre=<http://e.org/x", &["never closes it"]),
            ("dbo:genre=<not an iri>", &["is not a valid IRI"]),
            (r#"dbo:genre="open"#, &["never closes it"]),
            (r#""x"=dbr:X"#, &["the predicate \"x\" is not an IRI"]),
            (r#"dbo:year="1"^^integer"#, &["datatype"]),
            (
                "foo:genre=dbr:X",
                &["unknown prefix \"foo\"", "known prefixes: rdf, rdfs"],
            ),
            (
                "http://dbpedia.org/ontology/genre=dbr:X",
                &["write a full IRI in angle brackets: <http://dbpedia.org/ontology/genre>"],
            ),
        ];
        for (text, needles) in cases {
            let err = Condition::parse(text).unwrap_err();
            assert!(err.is_bad_input());
            let message = err.to_string();
            for needle in needles {
                assert!(message.contains(needle), "{text}: {message}");
            }
        }
    }

    /// The fixture graph (24 DBpedia films) in a store, and what a [`Facts`] borrows.
    struct Graph {
        _tmp: tempfile::TempDir,
        kg: crate::store::KgStore,
        graph: PathGraph,
        relations: Vec<String>,
        rdf: Store,
    }

    impl Graph {
        fn fixtures() -> Self {
            let movies =
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/movies.ttl");
            Self::of(movies, tempfile::tempdir().unwrap())
        }

        /// A Turtle graph given as text.
        fn turtle(text: &str) -> Self {
            let tmp = tempfile::tempdir().unwrap();
            let file = tmp.path().join("g.ttl");
            std::fs::write(&file, text).unwrap();
            Self::of(file, tmp)
        }

        fn of(file: std::path::PathBuf, tmp: tempfile::TempDir) -> Self {
            let db = sled::open(tmp.path().join("sled")).unwrap();
            let mut kg = crate::store::KgStore::open(&tmp.path().join("kg"), &db).unwrap();
            kg.import(&[file], &crate::ImportOptions::default(), &mut |_| {})
                .unwrap();
            let index = kg.index();
            Self {
                graph: PathGraph::new(&crate::Projection::from_index(index).unwrap()),
                relations: index.relation_iris().unwrap(),
                rdf: kg.rdf_store().unwrap(),
                kg,
                _tmp: tmp,
            }
        }

        fn facts(&self) -> Facts<'_> {
            Facts {
                index: self.kg.index(),
                graph: &self.graph,
                relations: &self.relations,
                rdf: &self.rdf,
            }
        }

        /// The local names of the entities matching `conditions`.
        fn matching(&self, conditions: &[&str]) -> Result<Vec<String>, FilterError> {
            let filter = Filter::parse(conditions).unwrap();
            let found = self.facts().matching(&filter)?.unwrap_or_default();
            let iris = self.kg.index().entity_iris_of(&found).unwrap();
            Ok(iris.iter().map(|i| local_name(i).to_owned()).collect())
        }
    }

    /// Filters do not follow rdfs:subClassOf; a class with subclasses and no member of its own
    /// gets a hint naming them (sorted, the first five and a count) and the condition on them.
    #[test]
    fn a_class_with_only_subclasses_gets_a_hint_naming_them() {
        let mut ttl = String::from(
            "@prefix ex: <http://e.org/> .\n\
             @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n",
        );
        for k in 0..7 {
            ttl.push_str(&format!(
                "ex:C{k} rdfs:subClassOf ex:Top .\nex:x{k} a ex:C{k} .\n"
            ));
        }
        let g = Graph::turtle(&ttl);
        assert!(
            g.matching(&["rdf:type=<http://e.org/Top>"])
                .unwrap()
                .is_empty()
        );
        let hint = |conditions: &[&str]| {
            g.facts()
                .subclass_hint(&Filter::parse(conditions).unwrap())
                .unwrap()
        };
        let text = hint(&["rdf:type=<http://e.org/Top>"]).unwrap();
        for needle in [
            "<http://e.org/Top> has 7 subclass(es) in the graph (<http://e.org/C0>, ",
            "<http://e.org/C4> and 2 more)",
            "do not follow rdfs:subClassOf",
            "`rdf:type=<http://e.org/C0>|<http://e.org/C1>|",
        ] {
            assert!(text.contains(needle), "{needle:?} in {text}");
        }
        // A class with members, or one without subclasses: no hint.
        assert_eq!(hint(&["rdf:type=<http://e.org/C0>"]), None);
        assert_eq!(hint(&["rdf:type=<http://e.org/x0>"]), None);
    }

    #[test]
    fn conditions_and_together_and_values_or_together() {
        let g = Graph::fixtures();
        let animated = "dct:subject=dbc:1990s_American_animated_films";
        let mut found = g.matching(&[animated]).unwrap();
        found.sort();
        assert_eq!(
            found,
            ["Aladdin_(1992_Disney_film)", "The_Lion_King", "Toy_Story"]
        );
        let mut found = g
            .matching(&[animated, "dct:subject=dbc:1990s_comedy_films"])
            .unwrap();
        found.sort();
        assert_eq!(found, ["Aladdin_(1992_Disney_film)", "Toy_Story"]);
        let mut found = g
            .matching(&["dct:subject=dbc:1990s_comedy_films|dbc:1990s_adventure_films"])
            .unwrap();
        found.sort();
        assert_eq!(
            found,
            [
                "Aladdin_(1992_Disney_film)",
                "Jurassic_Park_(film)",
                "The_Lion_King",
                "Toy_Story"
            ]
        );
        assert_eq!(
            g.matching(&[
                animated,
                "<http://dbpedia.org/ontology/director>=dbr:John_Lasseter"
            ])
            .unwrap(),
            ["Toy_Story"]
        );
        assert_eq!(g.matching(&["rdf:type=dbo:Film"]).unwrap().len(), 24);
        // A literal: through the RDF store.
        assert_eq!(
            g.matching(&[r#"rdfs:label="Toy Story"@en"#]).unwrap(),
            ["Toy_Story"]
        );
        // Known predicate and value, no such fact: empty, not an error.
        assert!(
            g.matching(&["dbo:director=dbr:Al_Pacino"])
                .unwrap()
                .is_empty()
        );
        assert!(
            g.matching(&[animated, "dbo:director=dbr:Al_Pacino"])
                .unwrap()
                .is_empty()
        );
        assert_eq!(g.facts().matching(&Filter::default()).unwrap(), None);
    }

    #[test]
    fn unknown_predicates_and_values_are_named_with_the_nearest_the_graph_has() {
        let g = Graph::fixtures();
        let message = |conditions: &[&str]| {
            let err = g.matching(conditions).unwrap_err();
            assert!(err.is_bad_input(), "{err}");
            err.to_string()
        };
        let m = message(&["dbo:genre=dbr:Comedy_film"]);
        assert!(
            m.contains(
                "the graph has no predicate dbo:genre (<http://dbpedia.org/ontology/genre>)"
            ),
            "{m}"
        );
        assert!(
            m.contains("relations in the graph include dbo:starring ("),
            "{m}"
        );
        let m = message(&["dct:Subject=dbc:American_films"]);
        assert!(
            m.contains("relations in the graph include dct:subject ("),
            "the same local name comes first: {m}"
        );
        let m = message(&["dbo:directr=dbr:Steven_Spielberg"]);
        assert!(
            m.contains("relations in the graph include dbo:director ("),
            "a typo away comes first: {m}"
        );
        let m = message(&["dct:subject=dbc:Comedy_films"]);
        assert!(
            m.contains("the graph has no entity dbc:Comedy_films"),
            "{m}"
        );
        assert!(m.contains("values of dct:subject include dbc:1990s"), "{m}");
        assert!(m.contains("comedy_films ("), "{m}");
        let m = message(&["dct:subject=Comedy"]);
        assert!(m.contains("a bare name is a token of a TSV graph"), "{m}");
        let m = message(&[r#"rdfs:label="Toy Story""#]);
        assert!(m.contains("the graph has no literal"), "{m}");
        assert!(m.contains(r#"did you mean "Toy Story"@en?"#), "{m}");
        // One bad value among good ones is still named.
        let m = message(&["dct:subject=dbc:1990s_comedy_films|dbr:Nothing_here"]);
        assert!(m.contains("dbr:Nothing_here"), "{m}");
    }

    #[test]
    fn names_compact_to_what_a_filter_takes() {
        assert_eq!(
            compact("http://dbpedia.org/resource/Category:American_films"),
            "dbc:American_films",
            "the longest namespace wins"
        );
        assert_eq!(compact("http://purl.org/dc/terms/subject"), "dct:subject");
        assert_eq!(compact("urn:kgrec:film.film.genre"), "film.film.genre");
        assert_eq!(compact("http://e.org/x"), "<http://e.org/x>");
        assert_eq!(
            compact("http://dbpedia.org/resource/A=B"),
            "<http://dbpedia.org/resource/A=B>"
        );
        assert_eq!(
            local_name("http://dbpedia.org/resource/Star_Wars_(film)"),
            "Star_Wars_(film)"
        );
        assert_eq!(local_name("http://e.org/o#Thing"), "Thing");
        assert_eq!(local_name("urn:kgrec:m.0abc"), "m.0abc");
        assert_eq!(local_name("http://e.org/x/"), "x");
        assert_eq!(readable_name("http://e.org/genre/sci%20fi"), "sci fi");
        assert_eq!(readable_name("http://e.org/bad%FF"), "bad%FF");
        let minted = tsv_token_iri(DEFAULT_TSV_BASE, "a/b c");
        assert_eq!(readable_name(&minted), "a/b c");
    }
}
