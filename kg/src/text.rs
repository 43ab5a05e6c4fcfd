//! The string literals the graph states of its entities (labels, abstracts, titles), for
//! content features: read from the RDF store, which keeps every literal (the index keeps only
//! each entity's best label).

use oxigraph::model::vocab::{rdf, xsd};
use oxigraph::model::{Literal, NamedNodeRef, Term};

use crate::error::Result;
use crate::ids::EntityId;
use crate::store::KgStore;

/// A string literal: its text and language tag (lowercase, as oxigraph normalises it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// The literal's lexical form.
    pub value: String,
    /// Its language tag (`en`, `en-gb`), if it has one.
    pub language: Option<String>,
}

impl Text {
    /// The literal as text, if it is one: a simple literal, an `xsd:string` or a language-tagged
    /// string. Numbers, dates and other typed literals are not text.
    pub fn of_literal(literal: &Literal) -> Option<Self> {
        let datatype = literal.datatype();
        if datatype == xsd::STRING || datatype == rdf::LANG_STRING {
            Some(Self {
                value: literal.value().to_owned(),
                language: literal.language().map(str::to_owned),
            })
        } else {
            None
        }
    }
}

impl KgStore {
    /// The text literals ([`Text::of_literal`]) each of `entities` is the subject of, in the
    /// store's order, over every named graph; an id outside the dictionary is corruption.
    pub fn texts_of(&self, entities: &[EntityId]) -> Result<Vec<Vec<Text>>> {
        if entities.is_empty() || self.index().counts()?.literals == 0 {
            return Ok(vec![Vec::new(); entities.len()]);
        }
        let iris = self.index().entity_iris_of(entities)?;
        let store = self.rdf_store()?;
        let mut out = Vec::with_capacity(iris.len());
        for iri in &iris {
            let mut texts = Vec::new();
            // Blank nodes and non-IRIs are not entities: nothing to read.
            if let Ok(node) = NamedNodeRef::new(iri) {
                for quad in store.quads_for_pattern(Some(node.into()), None, None, None) {
                    if let Term::Literal(literal) = &quad?.object
                        && let Some(text) = Text::of_literal(literal)
                    {
                        texts.push(text);
                    }
                }
            }
            out.push(texts);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::import::ImportOptions;

    #[test]
    fn texts_are_string_literals_with_their_language() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path().join("db")).unwrap();
        let mut kg = KgStore::open(&dir.path().join("kg"), &db).unwrap();
        let file = dir.path().join("g.nt");
        std::fs::write(
            &file,
            concat!(
                "<http://e/a> <http://www.w3.org/2000/01/rdf-schema#label> \"Toy Story\"@en .\n",
                "<http://e/a> <http://e/abstract> \"Ein Film\"@de .\n",
                "<http://e/a> <http://e/note> \"plain\" .\n",
                "<http://e/a> <http://e/year> \"1995\"^^<http://www.w3.org/2001/XMLSchema#integer> .\n",
                "<http://e/a> <http://e/director> <http://e/b> .\n",
                "<http://e/b> <http://www.w3.org/2000/01/rdf-schema#label> \"John Lasseter\" .\n",
            ),
        )
        .unwrap();
        kg.import(&[file], &ImportOptions::default(), &mut |_| {})
            .unwrap();
        let a = kg.index().entity_id("http://e/a").unwrap().unwrap();
        let b = kg.index().entity_id("http://e/b").unwrap().unwrap();
        let texts = kg.texts_of(&[a, b]).unwrap();
        let mut of_a: Vec<(String, Option<String>)> = texts[0]
            .iter()
            .map(|t| (t.value.clone(), t.language.clone()))
            .collect();
        of_a.sort();
        assert_eq!(
            of_a,
            vec![
                ("Ein Film".to_owned(), Some("de".to_owned())),
                ("Toy Story".to_owned(), Some("en".to_owned())),
                ("plain".to_owned(), None),
            ],
            "the integer is no text"
        );
        assert_eq!(texts[1].len(), 1);
        let labels = kg.index().labels().unwrap();
        assert_eq!(labels[b.index()].as_deref(), Some("John Lasseter"));
        assert_eq!(labels.len(), kg.index().counts().unwrap().entities as usize);
        assert!(kg.texts_of(&[EntityId(9999)]).is_err());
    }
}
