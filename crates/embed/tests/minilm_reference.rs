//! all-MiniLM-L6-v2 against sentence-transformers 6.2.0 on the same local directory
//! (fixture made by scripts/make_fixtures.py: English How2Sign, German PHOENIX, Chinese
//! CSL-Daily sentences and edge cases, one longer than the 256-token window).

mod common;

use signscope_embed::{EmbedError, MiniLm, SentenceEmbedder, cosine};

#[test]
fn matches_sentence_transformers() {
    let Some(dir) = common::minilm_dir() else {
        return;
    };
    let model = MiniLm::load(&dir).unwrap();
    assert_eq!(model.dim(), 384);
    assert_eq!(model.max_seq_length(), 256);
    let reference = common::fixture("minilm_reference.json");
    let texts: Vec<&str> = reference.iter().map(|r| r.text.as_str()).collect();
    // One call: length-sorted padded batches must give each text its own vector.
    let vectors = model.embed_batch(&texts).unwrap();
    let mut worst = (1.0f32, 0.0f32);
    for (r, v) in reference.iter().zip(&vectors) {
        assert_eq!(
            model.token_ids(&r.text).unwrap().len(),
            r.tokens,
            "token count of {:?}",
            r.text
        );
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
        let cos = cosine(v, &r.vector);
        let diff = common::max_abs_diff(v, &r.vector);
        assert!(cos >= 0.9999, "cosine {cos} for {:?}", r.text);
        assert!(diff < 1e-4, "max |Δ| {diff} for {:?}", r.text);
        worst = (worst.0.min(cos), worst.1.max(diff));
    }
    eprintln!(
        "all-MiniLM-L6-v2 vs sentence-transformers: min cosine {}, max |Δ| {:e}",
        worst.0, worst.1
    );
}

#[test]
fn batch_and_single_agree_and_empty_is_rejected() {
    let Some(dir) = common::minilm_dir() else {
        return;
    };
    let model = MiniLm::load(&dir).unwrap();
    let texts = [
        "I call it painting the wall.",
        "We're going to work on a arm drill that will help you have graceful hand movements in front of you.",
    ];
    let batch = model.embed_batch(&texts).unwrap();
    for (t, b) in texts.iter().zip(&batch) {
        let single = model.embed(t).unwrap();
        assert!(common::max_abs_diff(&single, b) < 1e-5);
    }
    assert!(matches!(
        model.embed_batch(&["ok", ""]),
        Err(EmbedError::EmptyText { index: 1 })
    ));
}

#[test]
fn missing_directory_names_the_file() {
    let err = MiniLm::load(std::path::Path::new("/nonexistent/minilm"))
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("/nonexistent/minilm/config.json"),
        "{err}"
    );
}
