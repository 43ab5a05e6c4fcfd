//! Which of an entity's labels a reader sees: the label predicates in their order
//! ([`GraphIndex::label`]), and among one predicate's literals the languages the reader prefers
//! (`--label-lang ru,en`, `KGREC_LABEL_LANG`, the HTTP `lang=` parameter or `Accept-Language`).
//!
//! The index keeps one label per entity, chosen at import for the default preference (English,
//! then untagged, then any other language). Any other preference reads the entity's label
//! literals from the RDF store when the label is shown ([`entity_label`], [`iri_label`]).

use oxigraph::model::{NamedNodeRef, Term};
use oxigraph::store::Store;

use crate::error::{KgError, Result};
use crate::ids::EntityId;
use crate::index::{GraphIndex, LABEL_PREDICATES};

/// Language ranges a reader prefers labels in, best first. A range matches a language tag
/// equal to it or starting with it followed by `-` (RFC 4647 basic filtering, ASCII case
/// ignored): `en` matches `en`, `en-GB` and `en-Latn-US`; `zh-Hans` matches `zh-Hans` and
/// `zh-Hans-CN` but not `zh` nor `zh-Hant`. A range no label matches falls back to its
/// truncations before the next range (RFC 4647 Lookup): `zh-Hans-CN`, then `zh-Hans`, then
/// `zh` (which matches `zh-Hant` too); `ru-RU`, then `ru`. After the ranges come untagged
/// literals, then any other language. The default is `en`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelLangs {
    /// As given: lower-cased, without repeats; empty for `*` alone (untagged first, then any).
    ranges: Vec<String>,
    /// The order literals are ranked in: each range, then its truncations not already listed.
    lookup: Vec<String>,
}

impl Default for LabelLangs {
    fn default() -> Self {
        Self::from_ranges(vec!["en".to_owned()])
    }
}

impl std::fmt::Display for LabelLangs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ranges.is_empty() {
            true => f.write_str("*"),
            false => f.write_str(&self.ranges.join(",")),
        }
    }
}

impl std::str::FromStr for LabelLangs {
    type Err = KgError;
    fn from_str(list: &str) -> Result<Self> {
        Self::parse(list)
    }
}

/// Entries of an `Accept-Language` header looked at, at most (a browser sends a handful).
const MAX_ACCEPTED: usize = 32;

impl LabelLangs {
    /// A comma-separated list of BCP 47 language tags, best first (`ru,en`); `*`, last, stands
    /// for the fallback every list ends with anyway (untagged, then any language). A tag that is
    /// not well-formed BCP 47 is refused, naming it.
    pub fn parse(list: &str) -> Result<Self> {
        let items: Vec<&str> = list.split(',').map(str::trim).collect();
        let mut ranges: Vec<String> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if item.is_empty() {
                return Err(KgError::BadArgument(format!(
                    "{list:?} has an empty language tag: give BCP 47 tags separated by commas, \
                     best first (such as ru,en)"
                )));
            }
            if *item == "*" {
                if i + 1 != items.len() {
                    return Err(KgError::BadArgument(format!(
                        "{list:?}: `*` (untagged labels, then any language) must come last"
                    )));
                }
                continue;
            }
            oxilangtag::LanguageTag::parse(*item).map_err(|e| {
                KgError::BadArgument(format!(
                    "{item:?} is not a BCP 47 language tag ({e}): give tags such as ru, en-GB \
                     or zh-Hans, separated by commas, best first"
                ))
            })?;
            let range = item.to_ascii_lowercase();
            if !ranges.contains(&range) {
                ranges.push(range);
            }
        }
        Ok(Self::from_ranges(ranges))
    }

    /// The preference for `ranges` (lower-cased, without repeats), with their lookup order.
    fn from_ranges(ranges: Vec<String>) -> Self {
        let mut lookup: Vec<String> = Vec::new();
        for range in &ranges {
            for candidate in std::iter::once(range.as_str()).chain(truncations(range)) {
                if !lookup.iter().any(|r| r == candidate) {
                    lookup.push(candidate.to_owned());
                }
            }
        }
        Self { ranges, lookup }
    }

    /// The preference an HTTP `Accept-Language` header states (RFC 9110 §12.5.4): ranges by
    /// quality (`q=`, 1 when absent; ties in the header's order), without those of quality 0,
    /// up to a `*`. Entries that are not well-formed (a bad tag, a bad `q`) are skipped rather
    /// than refused: the header is the client software's, not the user's. `None` when nothing
    /// usable is left.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut weighted: Vec<(u16, &str)> = Vec::new();
        for entry in header.split(',').take(MAX_ACCEPTED) {
            let mut parts = entry.split(';');
            let range = parts.next().unwrap_or_default().trim();
            let mut quality = Some(1000);
            for param in parts {
                let (name, value) = param.split_once('=').unwrap_or((param, ""));
                if name.trim().eq_ignore_ascii_case("q") {
                    quality = qvalue(value.trim());
                }
            }
            let Some(quality) = quality else {
                continue;
            };
            let well_formed = range == "*" || oxilangtag::LanguageTag::parse(range).is_ok();
            if quality > 0 && well_formed {
                weighted.push((quality, range));
            }
        }
        // Stable: equal qualities keep the header's order.
        weighted.sort_by_key(|&(quality, _)| std::cmp::Reverse(quality));
        let mut ranges: Vec<String> = Vec::new();
        let mut wildcard = false;
        for (_, range) in weighted {
            if range == "*" {
                wildcard = true;
                break;
            }
            let range = range.to_ascii_lowercase();
            if !ranges.contains(&range) {
                ranges.push(range);
            }
        }
        (wildcard || !ranges.is_empty()).then(|| Self::from_ranges(ranges))
    }

    /// Whether this is the default preference, the one the graph index's labels were chosen by.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// Where a literal in `language` (`None`: untagged) stands, lower first: the first range it
    /// matches, a range's truncations right after it, then untagged, then any other language.
    pub fn rank(&self, language: Option<&str>) -> usize {
        let n = self.lookup.len();
        match language {
            None => n,
            Some(tag) => self
                .lookup
                .iter()
                .position(|range| range_matches(range, tag))
                .unwrap_or(n + 1),
        }
    }
}

/// The ranges RFC 4647 Lookup falls back to from `range` (§3.4), longest first: a subtag at a
/// time off the end, a singleton left last going with it (`zh-Hant-CN-x-a` → `zh-Hant-CN` →
/// `zh-Hant` → `zh`; `ru-RU` → `ru`). A range that would be a singleton alone (`x-private` →
/// `x`) is not one.
fn truncations(range: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(range), |rest| {
        let mut shorter = &rest[..rest.rfind('-')?];
        if let Some(cut) = shorter.rfind('-')
            && shorter.len() - cut == 2
        {
            shorter = &shorter[..cut];
        }
        (shorter.len() > 1).then_some(shorter)
    })
    .skip(1)
}

/// Whether the (lower-case) `range` matches `tag`: equal, or a prefix of it ending at a `-`.
fn range_matches(range: &str, tag: &str) -> bool {
    let tag = tag.as_bytes();
    tag.len() >= range.len()
        && tag[..range.len()].eq_ignore_ascii_case(range.as_bytes())
        && (tag.len() == range.len() || tag[range.len()] == b'-')
}

/// An HTTP quality value in thousandths: `0`, `0.5`, `1`, `1.000` (at most three decimals,
/// at most 1); `None` for anything else.
fn qvalue(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// The label `store` gives `iri` for `langs`: among the literals of the first label predicate
/// the IRI has one of, the best ranked ([`LabelLangs::rank`]); of equally ranked ones,
/// `indexed` (the default choice, the first imported) when it is one of them, else the first
/// by language tag, then text. `None` when the store has no label literal for it (or the
/// IRI is not an IRI).
pub fn iri_label(
    store: &Store,
    iri: &str,
    langs: &LabelLangs,
    indexed: Option<&str>,
) -> Result<Option<String>> {
    let Ok(subject) = NamedNodeRef::new(iri) else {
        return Ok(None);
    };
    for predicate in LABEL_PREDICATES {
        let predicate = NamedNodeRef::new_unchecked(predicate);
        // (rank, not the indexed text, language, text): the smallest wins.
        let mut best: Option<(usize, bool, String, String)> = None;
        for quad in store.quads_for_pattern(Some(subject.into()), Some(predicate), None, None) {
            let Term::Literal(literal) = quad?.object else {
                continue;
            };
            let key = (
                langs.rank(literal.language()),
                Some(literal.value()) != indexed,
                literal.language().unwrap_or_default().to_owned(),
                literal.value().to_owned(),
            );
            if best.as_ref().is_none_or(|b| key < *b) {
                best = Some(key);
            }
        }
        if let Some((_, _, _, text)) = best {
            return Ok(Some(text));
        }
    }
    Ok(None)
}

/// The label of entity `id` for `langs`: the graph index's ([`GraphIndex::label`]) for the
/// default preference or without a store, else the store's ([`iri_label`]), the index's when
/// the store has none.
pub fn entity_label(
    index: &GraphIndex,
    store: Option<&Store>,
    id: EntityId,
    langs: &LabelLangs,
) -> Result<Option<String>> {
    let indexed = index.label(id)?;
    let Some(store) = store.filter(|_| !langs.is_default()) else {
        return Ok(indexed);
    };
    let Some(iri) = index.entity_iri(id)? else {
        return Ok(indexed);
    };
    Ok(iri_label(store, &iri, langs, indexed.as_deref())?.or(indexed))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use oxigraph::model::{Literal, NamedNode, Quad};

    fn langs(list: &str) -> LabelLangs {
        LabelLangs::parse(list).unwrap()
    }

    #[test]
    fn a_list_is_tags_best_first_and_star_only_last() {
        assert_eq!(langs("ru, EN-gb,ru").to_string(), "ru,en-gb");
        assert_eq!(langs("ru,*").to_string(), "ru");
        assert_eq!(langs("*").to_string(), "*");
        assert!(langs("en").is_default());
        assert!(!langs("ru,en").is_default());
        for bad in ["", "ru,,en", "*,ru", "r u", "english-", "ru_RU", "12"] {
            let e = LabelLangs::parse(bad).unwrap_err().to_string();
            assert!(e.contains("tag") || e.contains('*'), "{bad:?}: {e}");
        }
        let e = LabelLangs::parse("ru,en_GB").unwrap_err().to_string();
        assert!(e.contains("\"en_GB\" is not a BCP 47 language tag"), "{e}");
    }

    #[test]
    fn ranges_match_themselves_and_their_subtags_then_untagged_then_any() {
        let l = langs("zh-Hans,ru");
        assert_eq!(l.rank(Some("zh-Hans")), 0);
        assert_eq!(l.rank(Some("ZH-hans-CN")), 0);
        // Its truncation `zh` comes next, before `ru` (RFC 4647 Lookup).
        assert_eq!(l.rank(Some("zh")), 1, "zh-Hans falls back to plain zh");
        assert_eq!(l.rank(Some("zh-Hant")), 1);
        assert_eq!(l.rank(Some("zh-Hansx")), 1, "a prefix ends at a hyphen");
        assert_eq!(l.rank(Some("ru-RU")), 2);
        assert_eq!(l.rank(None), 3);
        assert_eq!(l.rank(Some("ja")), 4);
        assert_eq!(l.to_string(), "zh-hans,ru", "shown as given");
        let zh = langs("zh");
        assert_eq!(zh.rank(Some("zh-Hans")), 0);
        assert_eq!(zh.rank(Some("zh-Hant-TW")), 0);
        let d = LabelLangs::default();
        // The order the graph index chooses by: English, untagged, any other.
        assert_eq!(
            [Some("en-GB"), None, Some("fr")].map(|t| d.rank(t)),
            [0, 1, 2]
        );
        assert_eq!(langs("*").rank(None), 0);
        assert_eq!(langs("*").rank(Some("en")), 1);
    }

    #[test]
    fn a_range_falls_back_to_its_truncations_before_the_next_range() {
        fn t(r: &str) -> Vec<&str> {
            truncations(r).collect()
        }
        assert_eq!(t("zh-hans-cn"), ["zh-hans", "zh"]);
        assert_eq!(t("ru-ru"), ["ru"]);
        assert_eq!(t("ru"), [] as [&str; 0]);
        // A singleton left last goes with the subtag after it (RFC 4647 §3.4).
        assert_eq!(t("zh-hant-cn-x-a"), ["zh-hant-cn", "zh-hant", "zh"]);
        assert_eq!(t("x-private"), [] as [&str; 0]);
        assert_eq!(t("i-klingon"), [] as [&str; 0]);
        // zh-CN: the @zh label, not English nor any other.
        let l = langs("zh-CN");
        assert_eq!(l.rank(Some("zh-CN")), 0);
        assert_eq!(l.rank(Some("zh")), 1);
        assert_eq!(l.rank(Some("zh-Hans")), 1);
        assert_eq!(l.rank(None), 2);
        assert_eq!(l.rank(Some("en")), 3);
        // Each range's truncations come before the next range (`fr-FR, zh-Hant`: fr-FR, fr,
        // zh-Hant, zh); one already listed keeps its earlier place.
        let l = langs("fr-FR,zh-Hant,ru-RU,ru,fr");
        let order = ["fr-FR", "fr", "zh-Hant", "zh", "ru-RU", "ru"];
        assert_eq!(order.map(|t| l.rank(Some(t))), [0, 1, 2, 3, 4, 5]);
        assert_eq!(l.rank(None), 6);
        // An exact or subtag match keeps its place: `zh` still matches zh-Hans first.
        let zh = langs("zh,en");
        assert_eq!(zh.rank(Some("zh-Hans")), 0);
        assert_eq!(zh.rank(Some("en-GB")), 1);
        // The header's ranges too, by quality, each with its truncations.
        let h = LabelLangs::from_accept_language("en;q=0.5, ru-RU, zh-Hans-CN;q=0.8").unwrap();
        let order = ["ru-RU", "ru", "zh-Hans-CN", "zh-Hans", "zh", "en"];
        assert_eq!(order.map(|t| h.rank(Some(t))), [0, 1, 2, 3, 4, 5]);
        assert_eq!(h.to_string(), "ru-ru,zh-hans-cn,en");
        assert!(!langs("en-US").is_default());
    }

    fn tag() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        (
            "[a-z]{2,3}",
            proptest::option::of("[A-Z][a-z]{3}"),
            proptest::option::of("[A-Z]{2}|[0-9]{3}"),
            proptest::option::of("[a-z]{5,8}"),
        )
            .prop_map(|(language, script, region, variant)| {
                [Some(language), script, region, variant]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join("-")
            })
    }

    proptest::proptest! {
        /// Every truncation is a shorter range the tag's own range matches (so a label in it
        /// would have matched by subtag), and a label tagged with a truncation of the one
        /// range asked for ranks above untagged and other languages.
        #[test]
        fn truncations_are_ever_shorter_prefixes_ranked_before_the_fallback(
            asked in tag(),
            other in tag(),
        ) {
            let l = langs(&asked);
            let asked = asked.to_ascii_lowercase();
            let mut longer = asked.as_str();
            for (i, shorter) in truncations(&asked).enumerate() {
                proptest::prop_assert!(shorter.len() < longer.len());
                proptest::prop_assert!(range_matches(shorter, &asked));
                proptest::prop_assert_eq!(l.rank(Some(shorter)), i + 1);
                longer = shorter;
            }
            proptest::prop_assert_eq!(l.rank(Some(&asked)), 0);
            let primary = asked.split('-').next().unwrap_or_default();
            proptest::prop_assert!(l.rank(Some(primary)) < l.rank(None));
            // Another tag ranks before untagged exactly when it shares the primary subtag.
            let shares = other.to_ascii_lowercase().split('-').next() == Some(primary);
            proptest::prop_assert_eq!(l.rank(Some(&other)) < l.rank(None), shares);
        }
    }

    #[test]
    fn accept_language_orders_by_quality_and_skips_what_is_not_well_formed() {
        let a = |h: &str| LabelLangs::from_accept_language(h).map(|l| l.to_string());
        assert_eq!(
            a("ru-RU, ru;q=0.9, en-US;q=0.8, en;q=0.7").unwrap(),
            "ru-ru,ru,en-us,en"
        );
        assert_eq!(a("en;q=0.5, de, fr;q=0.9").unwrap(), "de,fr,en");
        // Equal qualities keep the header's order; q=0 is "not this one".
        assert_eq!(a("fr;q=0.8,de;q=0.8,ru;q=0").unwrap(), "fr,de");
        // Bad entries are skipped: a bad tag, q above 1, too many decimals, not a number.
        assert_eq!(
            a("en_US, de;q=2, fr;q=0.1234, it;q=x, ru ; Q=0.300").unwrap(),
            "ru"
        );
        // A wildcard ends the list (what follows it is "any language" already).
        assert_eq!(a("ru, *;q=0.5, en;q=0.1").unwrap(), "ru");
        assert_eq!(a("*").unwrap(), "*");
        assert_eq!(a(""), None);
        assert_eq!(a("de;q=0"), None);
        assert_eq!(a(" , ;q=1"), None);
        assert_eq!(qvalue("1.000"), Some(1000));
        assert_eq!(qvalue("0."), Some(0));
        assert_eq!(qvalue("1.001"), None);
        assert_eq!(qvalue(".5"), None);
    }

    #[test]
    fn the_store_label_follows_the_predicates_then_the_languages() {
        let store = Store::new().unwrap();
        let add = |s: &str, p: &str, lit: Literal| {
            store
                .insert(&Quad::new(
                    NamedNode::new(s).unwrap(),
                    NamedNode::new(p).unwrap(),
                    lit,
                    oxigraph::model::GraphName::DefaultGraph,
                ))
                .unwrap();
        };
        let tagged = |t: &str, l: &str| Literal::new_language_tagged_literal(t, l).unwrap();
        let label = LABEL_PREDICATES[0];
        add("http://e/a", label, tagged("Солярис", "ru"));
        add("http://e/a", label, tagged("Solaris", "en"));
        add("http://e/a", label, tagged("飞向太空", "zh-Hans"));
        add(
            "http://e/a",
            label,
            Literal::new_simple_literal("Solaris (1972)"),
        );
        // A later predicate never wins over an earlier one, whatever its language.
        add(
            "http://e/a",
            LABEL_PREDICATES[1],
            tagged("Солярис (фильм)", "ru"),
        );
        add("http://e/b", LABEL_PREDICATES[1], tagged("Б", "ru"));
        add("http://e/b", LABEL_PREDICATES[1], tagged("B", "de"));
        add("http://e/b", LABEL_PREDICATES[1], tagged("Bé", "fr"));
        let get = |iri: &str, l: &str, indexed: Option<&str>| {
            iri_label(&store, iri, &langs(l), indexed).unwrap()
        };
        assert_eq!(get("http://e/a", "ru", None).as_deref(), Some("Солярис"));
        assert_eq!(get("http://e/a", "zh", None).as_deref(), Some("飞向太空"));
        assert_eq!(
            get("http://e/a", "zh-Hant,en", None).as_deref(),
            Some("飞向太空"),
            "zh-Hant falls back to zh, which matches zh-Hans"
        );
        assert_eq!(
            get("http://e/a", "zh-Hans-CN", None).as_deref(),
            Some("飞向太空")
        );
        assert_eq!(get("http://e/a", "ru-RU", None).as_deref(), Some("Солярис"));
        assert_eq!(
            get("http://e/a", "ja-JP,en", None).as_deref(),
            Some("Solaris")
        );
        assert_eq!(
            get("http://e/a", "de", None).as_deref(),
            Some("Solaris (1972)")
        );
        assert_eq!(get("http://e/a", "en", None).as_deref(), Some("Solaris"));
        assert_eq!(get("http://e/b", "ru", None).as_deref(), Some("Б"));
        // Ties among other languages: the default choice if it is one, else by tag.
        assert_eq!(get("http://e/b", "it", None).as_deref(), Some("B"));
        assert_eq!(get("http://e/b", "it", Some("Bé")).as_deref(), Some("Bé"));
        assert_eq!(get("http://e/none", "ru", None), None);
        assert_eq!(get("not an iri", "ru", None), None);
    }
}
