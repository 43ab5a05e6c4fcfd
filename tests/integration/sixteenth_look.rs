//! The sixteenth fresh look (issue #21): a fit that diverges is refused, not made current.

use crate::cf::imported;
use crate::common::*;

/// `train --model bpr --lr 1e9` (and `als --alpha 1e30`) used to store a model of NaN
/// parameters, make it current (every score NaN, `null` in JSON) and prune a good version; the
/// fit is now refused with the knob to lower, nothing stored, the current model unchanged.
#[test]
fn a_diverged_fit_is_refused_and_the_current_model_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let data = imported(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "als", "--keep", "1"]));
    let before = ok(kgrec(&data).args(["recommend", "--user", "1", "-k", "3"]));
    for (args, knob) in [
        (&["--model", "bpr", "--lr", "1e9"][..], "smaller --lr"),
        (
            &["--model", "als", "--alpha", "1e30"][..],
            "smaller --alpha",
        ),
    ] {
        let out = run(kgrec(&data).arg("train").args(args).args(["--keep", "1"]));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("the fit diverged"), "{err}");
        assert!(err.contains("nothing was stored"), "{err}");
        assert!(err.contains(knob), "{err}");
        assert_eq!(
            stats(&data)["models"],
            serde_json::json!(["v1 als (current)"]),
            "{args:?}"
        );
        let after = ok(kgrec(&data).args(["recommend", "--user", "1", "-k", "3"]));
        assert_eq!(after, before, "{args:?}");
        assert!(!after.contains("NaN"), "{after}");
    }
}
