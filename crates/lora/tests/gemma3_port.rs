//! The burn port against the candle model it was ported from, merging against the unmerged
//! adapters, and gradients reaching the adapters. Needs the Gemma-3-270m asset
//! (`scripts/fetch-assets.sh gemma`): skipped locally without it, a failure under CI.

use std::path::PathBuf;
use std::sync::Mutex;

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::Distribution;
use signscope_llm::GgufChatModel;
use signscope_lora::finetune::{Batch, Sequence, batch_loss, load_tokenizer, render_prompt};
use signscope_lora::merge::{MergeDType, merge_into_gguf};
use signscope_lora::rescore::LlmScorer;
use signscope_lora::{Adapters, Gemma3, LoraConfig, Target};

/// Each test holds the 270m model in f32 (about 1.1 GB, more with copies): one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn gemma3() -> Option<PathBuf> {
    let assets = signscope_llm::assets::assets_dir();
    match signscope_llm::assets::gemma3_gguf(&assets) {
        Ok(path) => Some(path),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIP: {e}");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

/// The folder models/NAME of the repository.
fn committed_model(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../models")
        .join(name)
}

fn prompt_ids(path: &std::path::Path) -> Vec<u32> {
    let tokenizer = load_tokenizer(path).unwrap();
    let options = signscope_llm::PromptOptions {
        language: Some("German".into()),
        ..Default::default()
    };
    let glosses: Vec<String> = ["MORGEN", "REGEN", "NORD"].map(String::from).to_vec();
    let prompt = render_prompt(&glosses, &options);
    tokenizer.encode(prompt, true).unwrap().get_ids().to_vec()
}

/// Next-token logits after `ids` from the burn port.
fn last_logits(model: &Gemma3, adapters: Option<&Adapters>, ids: &[u32]) -> Vec<f32> {
    let device = model.device();
    let t = ids.len();
    let ids = Tensor::<2, Int>::from_data(
        TensorData::new(ids.iter().map(|&i| i as i64).collect(), [1, t]),
        device,
    );
    let hidden = model.hidden_states(ids, adapters);
    let d = model.config.d_model;
    let last = hidden.narrow(1, t - 1, 1).reshape([1, d]);
    model
        .logits(last)
        .into_data()
        .try_into_vec::<f32>()
        .unwrap()
}

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap()
}

fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len() as f64;
    let ma = a.iter().map(|&x| x as f64).sum::<f64>() / n;
    let mb = b.iter().map(|&x| x as f64).sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x as f64 - ma, y as f64 - mb);
        sab += x * y;
        saa += x * x;
        sbb += y * y;
    }
    sab / (saa * sbb).sqrt()
}

fn compare(ours: &[f32], reference: &[f32]) -> (f64, f32, f32) {
    assert_eq!(ours.len(), reference.len());
    let max_diff = ours
        .iter()
        .zip(reference)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    let spread = reference.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
    (correlation(ours, reference), max_diff, spread)
}

/// The port computes what candle's (GELU-fixed) quantized Gemma 3 computes. On the shipped
/// file candle multiplies by the quantized blocks with 8-bit-quantized activations, the port
/// by the dequantized f32 weights, so the two agree only roughly; on a copy whose
/// projections are stored as f32 (zero adapters merged into every projection) candle's
/// arithmetic is plain f32 too, except for the output layer (still the quantized embedding
/// with 8-bit activations), and the logits agree closely (measured: correlation 0.99986,
/// max difference 0.26 of logits up to 18.9; on the quantized file 0.9978 and 1.40).
#[test]
fn port_matches_candle_gemma3() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(path) = gemma3() else { return };
    let ids = prompt_ids(&path);
    let device = signscope_nn::cpu_device();
    let model = Gemma3::load(&path, &device, ids.len()).unwrap();
    let ours = last_logits(&model, None, &ids);

    let reference = GgufChatModel::load(&path).unwrap().logits(&ids).unwrap();
    let (r, max_diff, spread) = compare(&ours, &reference);
    eprintln!("quantized file: correlation {r:.6}, max |diff| {max_diff:.4} of {spread:.2}");
    assert_eq!(argmax(&ours), argmax(&reference));
    assert!(r > 0.99, "correlation {r}");

    let zero = Adapters::new(
        &model.config,
        &LoraConfig {
            targets: Target::ALL.to_vec(),
            ..LoraConfig::default()
        },
        &device,
    );
    let dir = tempfile::tempdir().unwrap();
    let f32_copy = dir.path().join("f32.gguf");
    merge_into_gguf(&path, &zero, MergeDType::F32, &f32_copy).unwrap();
    let reference = GgufChatModel::load(&f32_copy)
        .unwrap()
        .logits(&ids)
        .unwrap();
    let (r, max_diff, spread) = compare(&ours, &reference);
    eprintln!("f32 projections: correlation {r:.6}, max |diff| {max_diff:.4} of {spread:.2}");
    assert_eq!(argmax(&ours), argmax(&reference));
    assert!(r > 0.9995, "correlation {r}");
    assert!(max_diff < 0.02 * spread, "max diff {max_diff} of {spread}");
}

/// Greedy continuations of the port equal llama.cpp's (llama-cpp-python 0.3.36, recorded
/// in signscope-llm's fixture) for the first tokens, where both are confident.
#[test]
fn port_greedy_matches_llama_cpp() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(path) = gemma3() else { return };
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../llm/tests/fixtures/gemma3_reference.json");
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&fixture).unwrap()).unwrap();
    let ids_of = |v: &serde_json::Value| -> Vec<u32> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as u32)
            .collect()
    };
    let model = Gemma3::load(&path, &signscope_nn::cpu_device(), 128).unwrap();
    for case in fixture["generation"].as_array().unwrap() {
        let mut ids = ids_of(&case["prompt_ids"]);
        let expected = ids_of(&case["ids"]);
        let n = expected.len().min(12);
        let mut got = Vec::new();
        for _ in 0..n {
            let next = argmax(&last_logits(&model, None, &ids)) as u32;
            got.push(next);
            ids.push(next);
        }
        assert_eq!(got, expected[..n], "prompt {:?}", case["prompt"]);
    }
}

/// W + (α/r)·A·B written into the GGUF gives the same model as the adapters applied on the
/// fly; and a loss step on a batch produces gradients for every adapter matrix and none for
/// the frozen base.
#[test]
fn merged_file_equals_adapters_and_gradients_reach_only_adapters() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(path) = gemma3() else { return };
    let ids = prompt_ids(&path);
    let device = signscope_nn::cpu_device();
    let train_device = signscope_nn::training_device();
    let model = Gemma3::load(&path, &device, ids.len() + 8).unwrap();
    train_device.seed(7);
    let config = LoraConfig {
        rank: 4,
        alpha: 8.0,
        targets: vec![Target::Q, Target::V, Target::Down],
    };
    let mut trained = Adapters::new(&model.config, &config, &train_device);
    // B starts at zero; make the update large enough to change the answer.
    for layer in &mut trained.layers {
        for adapter in [&mut layer.q, &mut layer.v, &mut layer.down]
            .into_iter()
            .flatten()
        {
            let dims = adapter.b.val().dims();
            adapter.b = Param::from_tensor(Tensor::random(
                dims,
                Distribution::Normal(0.0, 0.05),
                &train_device,
            ));
        }
    }
    let adapters = trained.valid();
    let base = last_logits(&model, None, &ids);
    let adapted = last_logits(&model, Some(&adapters), &ids);
    let changed = base
        .iter()
        .zip(&adapted)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        changed > 0.5,
        "the adapters hardly change the logits ({changed})"
    );

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("merged.gguf");
    merge_into_gguf(&path, &adapters, MergeDType::F32, &out).unwrap();
    let merged = Gemma3::load(&out, &device, ids.len()).unwrap();
    let from_file = last_logits(&merged, None, &ids);
    let diff = adapted
        .iter()
        .zip(&from_file)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        diff < 2e-3,
        "merged file differs from the adapters by {diff}"
    );
    // The merged file also loads in the candle backend (as `translate --backend gguf` would).
    let mut candle = GgufChatModel::load(&out).unwrap();
    let candle_logits = candle.logits(&ids).unwrap();
    assert_eq!(argmax(&candle_logits), argmax(&adapted));
    drop((merged, candle));

    // Gradients: a teacher-forced step on the autodiff device.
    let model = model.to_device(&train_device);
    let adapters = trained;
    let sequence = Sequence {
        id: "x".into(),
        prompt: ids.clone(),
        reply: vec![ids[3], ids[5], ids[7]],
    };
    let batch = Batch::new(&[&sequence, &sequence]);
    let loss = batch_loss(&model, Some(&adapters), &batch, 0.0);
    assert_eq!(loss.tokens, 6);
    let grads = loss.mean.backward();
    for layer in &adapters.layers {
        for adapter in [&layer.q, &layer.v, &layer.down].into_iter().flatten() {
            let g = adapter.a.val().grad(&grads).expect("A has a gradient");
            assert!(g.abs().max().into_scalar::<f32>() > 0.0);
            assert!(adapter.b.val().grad(&grads).is_some());
        }
        assert!(layer.k.is_none() && layer.o.is_none());
    }
    assert!(model.projection(0, Target::Q).grad(&grads).is_none());
}

#[test]
fn llm_scorer_prefers_the_reference_and_scores_alike_in_any_batch() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if gemma3().is_none() {
        return;
    }
    let scorer = LlmScorer::load(&committed_model("phoenix2014t_gemma3_lora")).unwrap();
    // PHOENIX-2014T dev, first sentence: its reference, the same words shuffled, and a
    // shorter faithful paraphrase.
    let glosses: Vec<String> = ["DRUCK", "TIEF", "KOMMEN"].map(String::from).to_vec();
    let texts = [
        "tiefer luftdruck bestimmt in den nächsten tagen unser wetter",
        "wetter unser tagen nächsten den in bestimmt luftdruck tiefer",
        "tiefer luftdruck bestimmt unser wetter",
    ];
    let g: Vec<&[String]> = texts.iter().map(|_| glosses.as_slice()).collect();
    let together = scorer.score(&g, &texts, 3).unwrap();
    let [reference, shuffled, short] = [0, 1, 2].map(|i| together[i].unwrap());
    assert!(
        reference.log_prob > shuffled.log_prob + 10.0,
        "{reference:?} vs {shuffled:?}"
    );
    assert!(short.tokens < reference.tokens && short.tokens > 1);
    // Padding to the longest sequence of a batch changes nothing.
    for (i, text) in texts.iter().enumerate() {
        let alone = scorer.score(&g[i..=i], &[text], 1).unwrap()[0].unwrap();
        assert_eq!(alone.tokens, together[i].unwrap().tokens);
        assert!(
            (alone.log_prob - together[i].unwrap().log_prob).abs() < 1e-2,
            "{alone:?} vs {:?}",
            together[i]
        );
    }
    // A folder without adapters is refused, naming it.
    let err = LlmScorer::load(&committed_model("phoenix2014t_g2t"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("phoenix2014t_g2t") && err.contains("adapter"),
        "{err}"
    );
}

#[test]
fn exported_adapters_load_and_score_like_the_originals() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if gemma3().is_none() {
        return;
    }
    use signscope_lora::cli::{export_adapters, is_adapter_folder};
    use signscope_nn::checkpoint::Storage;
    let committed = &committed_model("phoenix2014t_gemma3_lora");
    let glosses: Vec<String> = ["DRUCK", "TIEF", "KOMMEN"].map(String::from).to_vec();
    let texts = [
        "tiefer luftdruck bestimmt in den nächsten tagen unser wetter",
        "wetter unser tagen nächsten den in bestimmt luftdruck tiefer",
    ];
    let g: Vec<&[String]> = texts.iter().map(|_| glosses.as_slice()).collect();
    let scores = |dir: &std::path::Path| -> Vec<f64> {
        LlmScorer::load(dir)
            .unwrap()
            .score(&g, &texts, 2)
            .unwrap()
            .into_iter()
            .map(|s| s.unwrap().log_prob)
            .collect()
    };
    let original = scores(committed);
    let tmp = tempfile::tempdir().unwrap();
    let mut sizes = Vec::new();
    for (storage, tolerance) in [
        (Storage::F32, 1e-3),
        (Storage::F16, 0.05),
        (Storage::Q8, 0.5),
    ] {
        let out = tmp.path().join(format!("{storage:?}"));
        let written = export_adapters(committed, &out, storage).unwrap();
        assert!(is_adapter_folder(&out));
        assert_eq!(
            std::fs::read(out.join("config.toml")).unwrap(),
            std::fs::read(committed.join("config.toml")).unwrap()
        );
        let exported = scores(&out);
        for (a, b) in exported.iter().zip(&original) {
            assert!(
                (a - b).abs() < tolerance,
                "{storage:?}: {exported:?} vs {original:?}"
            );
        }
        sizes.push(written);
    }
    // f32 > f16 > 8-bit blocks (only `b`, [rank, d_out], is quantized: `a`, [d_in, rank],
    // has a last dimension of 8, under one block, and stays f16).
    assert!(sizes[0] > sizes[1] && sizes[1] > sizes[2], "{sizes:?}");
    // A translation model folder is no adapter folder: refused, naming the file.
    let err = export_adapters(
        &committed_model("phoenix2014t_g2t"),
        &tmp.path().join("x"),
        Storage::Q8,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("phoenix2014t_g2t"), "{err}");
}

#[test]
fn committed_chinese_adapters_prefer_the_csl_daily_reference() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if gemma3().is_none() {
        return;
    }
    let scorer = LlmScorer::load(&committed_model("csl_daily_gemma3_lora")).unwrap();
    // CSL-Daily dev, first sentence: its reference, its characters reversed, and the
    // two-model ensemble's second beam candidate (one character off).
    let glosses: Vec<String> = ["他", "今天", "年龄", "4"].map(String::from).to_vec();
    let texts = ["他今年四岁。", "。岁四年今他", "他今年龄四岁。"];
    let g: Vec<&[String]> = texts.iter().map(|_| glosses.as_slice()).collect();
    let scores = scorer.score(&g, &texts, 3).unwrap();
    let [reference, reversed, garbled] = [0, 1, 2].map(|i| scores[i].unwrap());
    assert!(
        reference.log_prob > reversed.log_prob + 10.0,
        "{reference:?} vs {reversed:?}"
    );
    assert!(
        reference.log_prob > garbled.log_prob,
        "{reference:?} vs {garbled:?}"
    );
}
