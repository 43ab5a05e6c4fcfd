//! Neural scoring (`ncf`): an NCF-style head over user, item and graph vectors, trained with
//! BPR (He et al., WWW 2017; Rendle et al., RecSys 2020 for why the dot product is the honest
//! baseline). `--head dot|gmf|mlp|neumf` picks the score ([`net`]); the fit is in [`train`].
//! Stored as the arrays `users`, `items`, `item_bias`, `item_graph` (the fixed graph vectors, so
//! serving needs no graph) and `net` (the network's weights); the header's params say the head
//! and the layers.
//!
//! Score parts: `kg` is what the item's graph vector adds, `s(u, i) − s(u, i | e_i = 0)`, and
//! `cf` the rest; the `dot` and `gmf` heads do not read the graph, so their `kg` is 0.

mod net;
mod train;

pub use net::Head;
pub use train::NcfParams;

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use ndarray::{Array1, Array2, ArrayView1};

use super::{
    Binding, Feedback, Knob, Learner, Loaded, ModelKind, ModelSpec, Overrides, TrainInput, Trained,
    apply, params_json, take, trained_header,
};
use crate::cf::{EpochReport, FactorView, FitError, Recommender, ScoreParts};
use crate::error::{Error, Result};
use crate::ids::{ItemId, UserId};
use crate::store::{StoreError, StoredModel};
use net::{ItemSide, Net, Rows};
use train::Fitted;

pub(super) const LEARNER: Learner = Learner {
    name: "ncf",
    aliases: &["neumf"],
    kind: ModelKind::Ncf,
    about: "Neural scoring trained with BPR and Adam: --head dot (p.q + b, the default: no MLP \
            head beat it on validation), gmf, mlp (an MLP over the user, item and graph vectors; \
            the graph vector is TransE's, --kg-weight 0 drops it) or neumf (gmf and mlp side by \
            side) (default: 64 factors, 40 epochs, reg 0.01, lr 0.005; mlp and neumf lr 0.001)",
    knobs: &[
        Knob::Head,
        Knob::Dim,
        Knob::Epochs,
        Knob::Lr,
        Knob::Reg,
        Knob::KgWeight,
    ],
    recommender: true,
    feedback: Feedback::Binary,
    space: super::space::NCF,
    cold_space: super::space::NONE,
    spec,
    load,
};

fn spec(o: &Overrides) -> Result<ModelSpec> {
    let head = match &o.head {
        Some(h) => Head::parse(h).ok_or_else(|| {
            Error::BadInput(format!("--head {h}: expected {}", Head::NAMES.join(", ")))
        })?,
        None => NcfParams::default().head,
    };
    let mut p = NcfParams::with_head(head);
    p = apply(p, o.dim, |p, factors| NcfParams { factors, ..p });
    p = apply(p, o.epochs, |p, epochs| NcfParams { epochs, ..p });
    p = apply(p, o.lr, |p, learning_rate| NcfParams { learning_rate, ..p });
    p = apply(p, o.reg, |p, regularization| NcfParams {
        regularization,
        ..p
    });
    p = apply(p, o.kg_weight, |p, kg_weight| NcfParams { kg_weight, ..p });
    p.check().map_err(FitError::from)?;
    Ok(ModelSpec::Ncf(p))
}

pub(super) fn fit(
    p: &NcfParams,
    input: &TrainInput<'_>,
    seed: u64,
    progress: &mut dyn FnMut(&EpochReport),
    cancel: &AtomicBool,
) -> Result<Trained> {
    let start = Instant::now();
    let mut notes = Vec::new();
    let graph = match p.uses_graph() {
        true => {
            let item_graph = input.item_graph();
            let vectors = train::graph_vectors(
                &item_graph,
                p.factors,
                p.kge_epochs,
                p.kg_weight,
                seed,
                cancel,
            )?;
            if vectors.is_none() {
                notes.push(format!(
                    "{}; ncf --head {} trains without graph vectors",
                    super::cke::graph_absence(
                        input.snapshot.links.iter().flatten().count(),
                        item_graph.triples().is_empty(),
                        input.caller
                    ),
                    p.head.name()
                ));
            }
            vectors
        }
        false => None,
    };
    let graph = graph.unwrap_or_else(|| Array2::zeros((input.matrix.n_items(), 0)));
    let mut last = None;
    let fitted = p.fit(
        input.matrix,
        graph,
        seed,
        |r: &EpochReport| {
            last = Some(*r);
            progress(r);
        },
        cancel,
    )?;
    let header = trained_header(
        ModelKind::Ncf,
        params_json(p)?,
        seed,
        input,
        last,
        start,
        p.factors,
    );
    let flat = |a: &Array2<f32>| a.iter().copied().collect::<Vec<f32>>();
    Ok(Trained {
        header,
        arrays: vec![
            ("users".to_owned(), flat(&fitted.users)),
            ("items".to_owned(), flat(&fitted.items)),
            ("item_bias".to_owned(), fitted.bias.to_vec()),
            ("item_graph".to_owned(), flat(&fitted.graph)),
            ("net".to_owned(), fitted.net.theta.clone()),
        ],
        notes,
    })
}

fn load(stored: StoredModel, _: &Binding<'_>) -> Result<Loaded> {
    let header = &stored.header;
    let what = format!("model v{}", header.version);
    let bad = |detail: &str| StoreError::corruption(what.clone(), detail);
    let params: NcfParams = serde_json::from_str(&header.params)
        .map_err(|e| StoreError::corruption(format!("{what} parameters"), e))?;
    let (n, m, d) = (header.users as usize, header.items as usize, params.factors);
    let mut arrays = stored.arrays;
    let mut get =
        |name: &str| take(&mut arrays, name).ok_or_else(|| bad(&format!("no {name} array")));
    let (users, items, bias, graph, theta) = (
        get("users")?,
        get("items")?,
        get("item_bias")?,
        get("item_graph")?,
        get("net")?,
    );
    let table = |v: Vec<f32>, rows: usize, name: &str| {
        Array2::from_shape_vec((rows, d), v).map_err(|e| bad(&format!("{name}: {e}")))
    };
    if users.len() != n * d || items.len() != m * d || bias.len() != m {
        return Err(bad("the tables do not match the header's sizes").into());
    }
    if !(graph.is_empty() || graph.len() == m * d) {
        return Err(bad("the graph vectors are not one row per item").into());
    }
    let graph = match graph.is_empty() {
        true => Array2::zeros((m, 0)),
        false => table(graph, m, "item_graph")?,
    };
    let net = Net::new(params.shape(), theta)
        .ok_or_else(|| bad("the network's weights do not fit its layers"))?;
    let fitted = Fitted {
        users: table(users, n, "users")?,
        items: table(items, m, "items")?,
        bias: Array1::from(bias),
        graph,
        net,
    };
    Ok(Loaded::Recommender(Box::new(ServedNcf::new(
        fitted, &what,
    )?)))
}

/// An `ncf` model as served: the item side of the network precomputed once (the first layer's
/// item part of every item), so scoring a user is one pass over the items in matrix products.
#[derive(Debug)]
pub(crate) struct ServedNcf {
    fitted: Fitted,
    side: ItemSide,
}

impl ServedNcf {
    /// Serves `fitted`; `what` names it in an error.
    pub(crate) fn new(fitted: Fitted, what: &str) -> Result<Self, StoreError> {
        let d = fitted.net.shape.dim;
        if fitted.users.ncols() != d || fitted.items.ncols() != d {
            return Err(StoreError::corruption(
                what.to_owned(),
                "the vectors are not of the network's width",
            ));
        }
        let side = ItemSide::new(
            &fitted.net,
            fitted.items.clone(),
            &fitted.graph,
            fitted.bias.clone(),
        );
        Ok(Self { fitted, side })
    }

    fn user_vector(&self, user: UserId) -> Array1<f32> {
        match self.fitted.users.outer_iter().nth(user.index()) {
            Some(row) => row.to_owned(),
            None => Array1::zeros(self.fitted.net.shape.dim),
        }
    }

    /// The score of one (user vector, item) pair, with the item's graph vector or without it.
    fn score_one(&self, p: ArrayView1<'_, f32>, item: usize, with_graph: bool) -> f32 {
        let f = &self.fitted;
        let d = f.net.shape.dim;
        let e = match (with_graph, f.graph.ncols() == d) {
            (true, true) => f.graph.row(item).to_owned().insert_axis(ndarray::Axis(0)),
            _ => Array2::zeros((1, d)),
        };
        let rows = Rows {
            p: p.to_owned().insert_axis(ndarray::Axis(0)),
            q: f.items.row(item).to_owned().insert_axis(ndarray::Axis(0)),
            e,
            b: Array1::from(vec![f.bias[item]]),
        };
        f.net.forward(&rows).s[0]
    }
}

impl Recommender for ServedNcf {
    fn n_users(&self) -> usize {
        self.fitted.users.nrows()
    }

    fn n_items(&self) -> usize {
        self.fitted.items.nrows()
    }

    fn score_items(&self, user: UserId, out: &mut [f32]) {
        let p = self.user_vector(user);
        self.side.score(&self.fitted.net, p.view(), out);
    }

    /// The `dot` head is a dot-product model: batch top-K takes its blocked fast path.
    fn factors(&self) -> Option<FactorView<'_>> {
        (self.fitted.net.shape.head == Head::Dot).then(|| FactorView {
            users: self.fitted.users.view(),
            items: self.fitted.items.view(),
            item_bias: Some(self.fitted.bias.view()),
        })
    }

    /// The heads other than `dot` (whose factors `similar` compares itself): the cosine of the
    /// items' `[q_i; e_i]`, what the network reads of an item (an item nobody interacted with
    /// has `q_i = 0`, so it is placed by its graph vector alone).
    fn item_similarities(&self, item: ItemId, out: &mut [f32]) -> bool {
        let f = &self.fitted;
        if f.net.shape.head == Head::Dot || item.index() >= f.items.nrows() {
            return false;
        }
        let row = |i: usize| {
            let mut v = f.items.row(i).to_vec();
            if f.graph.nrows() == f.items.nrows() {
                v.extend(f.graph.row(i).iter());
            }
            v
        };
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        let target = row(item.index());
        let nt = norm(&target);
        for (i, o) in out.iter_mut().enumerate().take(f.items.nrows()) {
            let v = row(i);
            let d = nt * norm(&v);
            *o = match d > 0.0 {
                true => v.iter().zip(&target).map(|(a, b)| a * b).sum::<f32>() / d,
                false => 0.0,
            };
        }
        true
    }

    fn score_parts(&self, user: UserId, item: ItemId) -> ScoreParts {
        let i = item.index();
        if i >= self.n_items() {
            return ScoreParts::default();
        }
        let p = self.user_vector(user);
        let whole = self.score_one(p.view(), i, true);
        if !self.fitted.net.shape.head.has_mlp() || self.fitted.graph.ncols() == 0 {
            return ScoreParts { cf: whole, kg: 0.0 };
        }
        let cf = self.score_one(p.view(), i, false);
        ScoreParts { cf, kg: whole - cf }
    }

    fn has_graph_part(&self) -> bool {
        self.fitted.net.shape.head.has_mlp() && self.fitted.graph.ncols() > 0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn the_head_flag_picks_the_head_and_its_step_size() {
        let spec = |head: Option<&str>, lr: Option<f32>| {
            let o = Overrides {
                head: head.map(str::to_owned),
                lr,
                ..Overrides::default()
            };
            match ModelSpec::new("ncf", &o).unwrap() {
                ModelSpec::Ncf(p) => p,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(spec(None, None).head, Head::Dot);
        assert_eq!(spec(None, None).learning_rate, 0.005);
        assert_eq!(spec(Some("mlp"), None).learning_rate, 0.001);
        assert_eq!(spec(Some("neumf"), Some(0.02)).learning_rate, 0.02);
        assert_eq!(spec(Some("gmf"), None).head, Head::Gmf);
        let bad = Overrides {
            head: Some("deep".to_owned()),
            ..Overrides::default()
        };
        let err = ModelSpec::new("ncf", &bad).unwrap_err().to_string();
        assert!(
            err.contains("--head deep: expected dot, gmf, mlp, neumf"),
            "{err}"
        );
        let foreign = Overrides {
            alpha: Some(2.0),
            ..Overrides::default()
        };
        assert!(ModelSpec::new("ncf", &foreign).is_err());
        // The spec survives the header's JSON (a refresh fits it again).
        let p = spec(Some("neumf"), None);
        let json = serde_json::to_string(&ModelSpec::Ncf(p.clone())).unwrap();
        assert_eq!(
            serde_json::from_str::<ModelSpec>(&json).unwrap(),
            ModelSpec::Ncf(p)
        );
    }
}
