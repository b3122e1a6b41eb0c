//! Reconstruction reranking with the committed PHOENIX-2014T models (models/): the reverse
//! model prefers translations that keep the glosses' content, and weight 0 is beam search.

use std::path::{Path, PathBuf};

use signscope_slt::rerank::{ReconstructionReranker, Rescorers, add_candidates, nbest_lists};
use signscope_slt::translator::{DecodeOptions, Translator};

fn model(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../models")
        .join(name)
}

fn tokens(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

/// Two PHOENIX-2014T-style gloss sequences, a short and a longer one.
fn weather_glosses() -> Vec<Vec<String>> {
    vec![
        tokens("MORGEN REGEN"),
        tokens("NORD WIND STARK KOENNEN STURM"),
    ]
}

#[test]
fn reverse_model_prefers_the_faithful_translation() {
    let reverse = Translator::load(&model("phoenix2014t_t2g")).unwrap();
    let glosses = tokens("MORGEN REGEN");
    let lp = reverse
        .log_probs(
            &[
                tokens("morgen regnet es"),
                tokens("heute scheint die sonne"),
            ],
            &[glosses.clone(), glosses],
        )
        .unwrap();
    let (faithful, unfaithful) = (lp[0].unwrap(), lp[1].unwrap());
    assert!(faithful < 0.0 && faithful > unfaithful + 2.0, "{lp:?}");

    // A pair longer than the position table gets no score instead of an error.
    let long = vec!["morgen".to_string(); 400];
    let lp = reverse.log_probs(&[long], &[tokens("MORGEN")]).unwrap();
    assert_eq!(lp, vec![None]);
}

#[test]
fn nbest_lists_carry_per_gloss_reconstruction_scores() {
    let g2t = Translator::load(&model("phoenix2014t_g2t")).unwrap();
    let reranker = ReconstructionReranker::load(&model("phoenix2014t_t2g")).unwrap();
    reranker.check_pair(&g2t).unwrap();
    let reverse = Translator::load(&model("phoenix2014t_t2g")).unwrap();
    let sources = weather_glosses();
    let options = DecodeOptions {
        beam_size: 6,
        alpha: 3.0,
    };
    let lists = nbest_lists(
        &g2t,
        Rescorers::reconstruction(&reranker),
        &sources,
        options,
    )
    .unwrap();
    let plain = g2t.translate_batch(&sources, options).unwrap();
    for ((list, best), source) in lists.iter().zip(&plain).zip(&sources) {
        assert!(list.candidates.len() > 1 && list.candidates.len() <= 6);
        assert_eq!(&list.candidates[0], best);
        assert_eq!(list.choose(0.0), 0);
        let texts: Vec<Vec<String>> = list
            .candidates
            .iter()
            .map(|c| reverse.tokenize_source(&c.text))
            .collect();
        let expected = reverse
            .log_probs(&texts, &vec![source.clone(); texts.len()])
            .unwrap();
        for (got, want) in list.reconstruction.iter().zip(expected) {
            let want = want.unwrap() / (source.len() + 1) as f64;
            assert!((got.unwrap() - want).abs() < 1e-6, "{got:?} vs {want}");
        }
        // A large weight picks the candidate the reverse model likes best.
        let most_faithful = (0..texts.len())
            .max_by(|&a, &b| {
                list.reconstruction[a]
                    .unwrap()
                    .total_cmp(&list.reconstruction[b].unwrap())
            })
            .unwrap();
        assert_eq!(list.choose(1e6), most_faithful);
    }

    // The gloss→text model cannot stand in for the reverse one.
    let err = ReconstructionReranker::load(&model("phoenix2014t_g2t"))
        .err()
        .expect("a gloss→text model is refused");
    assert!(format!("{err:#}").contains("text_to_gloss"), "{err:#}");
}

#[test]
fn an_added_candidate_is_scored_as_beam_search_scored_it() {
    // Removing a beam hypothesis and adding its text back must give it the same translator
    // and reconstruction scores, so that a selection weighs added texts (e.g. corrections)
    // on the same terms as the beam's own.
    let g2t = Translator::load(&model("phoenix2014t_g2t")).unwrap();
    let reranker = ReconstructionReranker::load(&model("phoenix2014t_t2g")).unwrap();
    let sources = weather_glosses();
    let options = DecodeOptions {
        beam_size: 4,
        alpha: 3.0,
    };
    let original = nbest_lists(
        &g2t,
        Rescorers::reconstruction(&reranker),
        &sources,
        options,
    )
    .unwrap();
    let mut lists = original.clone();
    let mut texts = Vec::new();
    for list in &mut lists {
        let last = list.candidates.pop().unwrap();
        list.reconstruction.pop();
        list.llm.pop();
        texts.push(last.text);
    }
    let add = |lists: &mut [_]| {
        add_candidates(
            &g2t,
            Rescorers::reconstruction(&reranker),
            &sources,
            lists,
            &texts,
            options,
        )
        .unwrap()
    };
    let added = add(&mut lists);
    assert_eq!(added, 2);
    for (got, want) in lists.iter().zip(&original) {
        let (g, w) = (
            got.candidates.last().unwrap(),
            want.candidates.last().unwrap(),
        );
        assert_eq!(g.text, w.text);
        assert!((g.log_prob - w.log_prob).abs() < 1e-3, "{g:?} vs {w:?}");
        assert!((g.score - w.score).abs() < 1e-4, "{g:?} vs {w:?}");
        let (gr, wr) = (
            got.reconstruction.last().unwrap(),
            want.reconstruction.last().unwrap(),
        );
        assert!((gr.unwrap() - wr.unwrap()).abs() < 1e-6);
        assert_eq!(got.llm.len(), got.candidates.len());
    }
    // A text already in the list is not added twice.
    let again = add(&mut lists);
    assert_eq!(again, 0);
    assert_eq!(lists[0].candidates.len(), original[0].candidates.len());
    // Without a reranker the added candidate has no reconstruction score.
    let mut plain = nbest_lists(&g2t, Rescorers::default(), &sources[..1], options).unwrap();
    let added = add_candidates(
        &g2t,
        Rescorers::default(),
        &sources[..1],
        &mut plain,
        &["morgen gibt es regen".to_string()],
        options,
    )
    .unwrap();
    assert_eq!(added, 1);
    assert_eq!(plain[0].reconstruction.last(), Some(&None));
}

#[test]
fn an_ensemble_needs_members_that_translate_alike() {
    let g2t = Translator::load(&model("phoenix2014t_g2t")).unwrap();
    let sources = weather_glosses();
    let options = DecodeOptions {
        beam_size: 4,
        alpha: 3.0,
    };
    let alone = g2t.translate_batch(&sources, options).unwrap();
    // The model with itself: the mean of two equal distributions is the distribution.
    let twice = Translator::load(&model("phoenix2014t_g2t"))
        .unwrap()
        .with_ensemble(&[model("phoenix2014t_g2t")])
        .unwrap();
    assert_eq!(twice.ensemble_size(), 2);
    let doubled = twice.translate_batch(&sources, options).unwrap();
    for (a, d) in alone.iter().zip(&doubled) {
        assert_eq!(a.text, d.text);
        assert!((a.log_prob - d.log_prob).abs() < 1e-3);
    }
    // The text→gloss model reads the other way round: refused, with its folder named.
    let Err(err) = g2t.with_ensemble(&[model("phoenix2014t_t2g")]) else {
        panic!("a text→gloss member was accepted");
    };
    let err = err.to_string();
    assert!(
        err.contains("phoenix2014t_t2g") && err.contains("text_to_gloss"),
        "{err}"
    );
}
