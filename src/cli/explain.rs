//! Explanation commands: `explain --user ID --item ID`, `recommend --explain` (one user, or every
//! user into a JSON-lines file) and the explained part of `demo`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use kgrec::explain::{ExplainOptions, Explainer, TextOptions, explanation_dot, explanation_text};
use kgrec::store::ModelHeader;
use kgrec::{Engine, Error, RecommendRequest, Result};
use serde::Serialize;

use super::args::{ExplainArgs, ExplainFormat, PathArgs, RecommendArgs, TextOrJson};
use super::{emit, stale_note};

fn options(args: &PathArgs) -> ExplainOptions {
    let default = ExplainOptions::default();
    ExplainOptions {
        paths: args.paths.unwrap_or(default.paths),
        hops: args.hops.unwrap_or(default.hops),
        budget: args.explain_timeout_ms.map(Duration::from_millis),
        ..default
    }
}

/// The explanation JSON: one line, or pretty-printed with a final newline.
fn json(value: &impl Serialize, pretty: bool) -> Result<String> {
    let text = if pretty {
        serde_json::to_string_pretty(value).map(|t| t + "\n")
    } else {
        serde_json::to_string(value)
    };
    text.map_err(|e| Error::Internal {
        what: format!("the explanation does not serialise as JSON: {e}"),
    })
}

fn model_name(h: &ModelHeader) -> String {
    format!("model v{} {}", h.version, h.kind.name())
}

/// `kgrec recommend --explain`: one user as text or JSON, or `--all-users --out F.jsonl`.
pub(super) fn recommend_explained(engine: &Engine, args: &RecommendArgs) -> Result<()> {
    let options = options(&args.paths);
    if args.all_users {
        let out = args
            .out
            .as_deref()
            .ok_or_else(|| Error::BadInput("--all-users needs --out FILE.jsonl".to_owned()))?;
        let explainer = engine
            .explainer(args.model_version)?
            .with_labels(super::label_langs());
        let served = engine.served_version(args.model_version)?;
        if served.stale() {
            stale_note(&served.model.header);
        }
        let request = super::models::batch_request(args)?;
        let scope = engine.batch_scope(&served, &request.exclude, &request.filter)?;
        super::models::warn_unknown_excluded(&scope.unknown_excluded);
        super::models::batch_filter_note(scope.matching_items, &args.filter);
        return explain_all_users(
            &engine.path()?,
            &explainer,
            &served,
            (request.k, &scope.exclude),
            options,
            (out, args.force),
        );
    }
    let request = RecommendRequest {
        explain: Some(options),
        ..super::models::one_user_request(args)?
    };
    let recs = engine.recommend(&request)?;
    if recs.stale {
        stale_note(&recs.model);
    }
    super::models::warn_unknown_excluded(&recs.unknown_excluded);
    super::models::filter_notes(&recs, &args.filter);
    super::models::short_list_note(&recs, args);
    let missing = || Error::Internal {
        what: "an explained recommendation came back without its explanation".to_owned(),
    };
    match args.format.unwrap_or_default() {
        TextOrJson::Json => emit(&json(&recs.explained_json().ok_or_else(missing)?, true)?),
        TextOrJson::Text => {
            let explanation = recs.explanation.as_ref().ok_or_else(missing)?;
            emit(&explanation_text(
                explanation,
                TextOptions {
                    model: &recs.model,
                    single_item: false,
                    paths: options.paths,
                },
            ))
        }
    }
}

/// One explanation JSON per line for every user of the store, written beside `out` and renamed.
fn explain_all_users(
    data: &Path,
    explainer: &Explainer,
    served: &kgrec::serving::Served,
    (k, exclude): (usize, &[u32]),
    options: ExplainOptions,
    (out, force): (&Path, bool),
) -> Result<()> {
    let (users, model) = (&served.users(), &served.model.header);
    let collapse = kgrec::engine::collapse_note(served);
    let (mut items, mut with_path, mut weak_only, mut post_hoc) = (0usize, 0usize, 0usize, 0usize);
    let mut prior_shaped = false;
    let mut failure = None;
    let written = super::write_out((out, super::OutKind::Explained), force, data, |writer| {
        for user in users {
            let e = match explainer.recommend_excluding(user, k, options, exclude) {
                Ok(e) => e,
                Err(e) => {
                    failure = Some(e);
                    return Err(std::io::Error::other("explanation failed"));
                }
            };
            items += e.items.len();
            with_path += e.items.iter().filter(|i| i.has_reason_path()).count();
            weak_only += e.items.iter().filter(|i| i.only_weak_paths()).count();
            post_hoc += e
                .items
                .iter()
                .filter(|i| i.post_hoc && i.has_strong_path())
                .count();
            prior_shaped |= e.items.iter().any(|i| {
                i.post_hoc
                    && i.paths_note
                        .as_deref()
                        .is_some_and(|n| n.contains("graph prior"))
            });
            let line = serde_json::to_string(&e).map_err(std::io::Error::other)?;
            writeln!(writer, "{line}")?;
        }
        Ok(())
    });
    if let Some(e) = failure {
        return Err(e.into());
    }
    let written = written?;
    super::models::collapsed_batch_note(collapse.as_deref());
    let shown = &written.shown;
    // An item whose paths are all weak (`paths_note`) has no path worth giving as its reason.
    let weak = match weak_only {
        0 => String::new(),
        n => format!(" and {n} only through weak links (see their paths_note)"),
    };
    // Under a model with no graph part, paths are found after ranking, never its reasons.
    let found_after = match post_hoc {
        0 => String::new(),
        n => format!(
            ", {n} with paths found after ranking ({}: see their paths_note)",
            match prior_shaped {
                // svd/svdpp with the graph prior: as their items' notes say it.
                true => format!(
                    "{}'s graph prior shaped its scores, but no share of them can be split off",
                    model.kind.name()
                ),
                false => format!("{} scores from the interactions alone", model.kind.name()),
            }
        ),
    };
    super::written_summary(
        &written,
        &format!(
            "wrote {shown} ({} users, {items} items, {with_path} with a path{weak}{found_after}, {})\n",
            users.len(),
            model_name(model)
        ),
    )
}

/// `kgrec explain --user ID --item ID [--format text|json|dot|svg] [--paths N] [--hops H]`
pub fn explain(data: &Path, args: &ExplainArgs) -> Result<()> {
    let engine = super::open_reader(data)?;
    let served = engine.served_version(args.model_version)?;
    if served.stale() {
        stale_note(&served.model.header);
    }
    if let Some(note) = kgrec::engine::collapsed_user_note(&served, &args.user) {
        super::caveat(&format!("warning: {note}"));
    }
    if kgrec::engine::emptied_user(&served, &args.user) {
        super::warn(&format!(
            "note: {}",
            kgrec::engine::emptied_explain_note(&args.user)
        ));
    }
    let (explanation, model) = engine.explain_in(
        &args.user,
        &args.item,
        options(&args.paths),
        args.model_version,
        &super::label_langs(),
    )?;
    if let Some(note) = engine.retired_note(&args.item)? {
        super::warn(&format!("note: {note}"));
    }
    match args.format {
        ExplainFormat::Json => emit(&json(&explanation, true)?),
        ExplainFormat::Text => emit(&explanation_text(
            &explanation,
            TextOptions {
                model: &model,
                single_item: true,
                paths: options(&args.paths).paths,
            },
        )),
        ExplainFormat::Dot => emit(&explanation_dot(&explanation)),
        ExplainFormat::Svg => emit(&render_svg(&explanation_dot(&explanation))?),
    }
}

/// Graphviz's `dot` on PATH, if any.
fn find_dot() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("dot"))
        .find(|candidate| candidate.is_file())
}

/// SVG from Graphviz's `dot`; without it, a hint how to get it.
fn render_svg(dot: &str) -> Result<String> {
    // A missing program is not the user's input at fault: exit code 1, not 2.
    let Some(program) = find_dot() else {
        return Err(Error::io(
            "dot",
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "--format svg needs Graphviz's `dot` program, which is not on PATH: install \
                 Graphviz (e.g. `apt-get install graphviz`), or write the graph with `--format \
                 dot` and render it elsewhere (`dot -Tsvg paths.dot > paths.svg`)",
            ),
        ));
    };
    let mut child = Command::new(&program)
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(&program, e))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(dot.as_bytes())
            .map_err(|e| Error::io(&program, e))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| Error::io(&program, e))?;
    if !output.status.success() {
        return Err(Error::io(
            &program,
            std::io::Error::other(String::from_utf8_lossy(&output.stderr).into_owned()),
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The demo's finale: the explained top 5 of the first `users` users (in store order) with at
/// least one path.
pub(super) fn demo_explanations(engine: &Engine, users: usize) -> Result<()> {
    let explainer = engine.explainer(None)?;
    let served = engine.served()?;
    let options = ExplainOptions {
        paths: 2,
        ..ExplainOptions::default()
    };
    let mut shown = 0;
    for user in &served.users() {
        if shown == users {
            break;
        }
        let e = explainer.recommend(user, 5, options)?;
        if e.items.iter().any(|i| i.has_reason_path()) {
            emit(&format!(
                "\n{}",
                explanation_text(
                    &e,
                    TextOptions {
                        model: &served.model.header,
                        single_item: false,
                        paths: options.paths,
                    }
                )
            ))?;
            shown += 1;
        }
    }
    Ok(())
}
