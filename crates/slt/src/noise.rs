//! Error injection for the text-correction network (SignMST-C, `002_…`, "Text Correction
//! Network"): clean sentences are corrupted by deleting, substituting, inserting and locally
//! shuffling words, and the network learns to restore them.

use rand::Rng;

use crate::config::NoiseConfig;

/// Corrupts `tokens` (ids without the trailing EOS). `unigram` is the flattened token stream of
/// the training targets: drawing a uniform position from it samples words by frequency.
///
/// The order of operations follows the error types a translator makes: words go missing,
/// get confused with others, get repeated or invented, and land in the wrong place.
pub fn inject_errors<R: Rng>(
    tokens: &[u32],
    noise: &NoiseConfig,
    unigram: &[u32],
    rng: &mut R,
) -> Vec<u32> {
    if tokens.is_empty() || rng.random::<f64>() < noise.clean {
        return tokens.to_vec();
    }
    let draw = |rng: &mut R| -> Option<u32> {
        (!unigram.is_empty()).then(|| unigram[rng.random_range(0..unigram.len())])
    };
    let mut out: Vec<u32> = Vec::with_capacity(tokens.len() + 4);
    for &token in tokens {
        if rng.random::<f64>() >= noise.delete {
            let kept = if rng.random::<f64>() < noise.substitute {
                draw(rng).unwrap_or(token)
            } else {
                token
            };
            out.push(kept);
        }
        if rng.random::<f64>() < noise.insert
            && let Some(extra) = draw(rng)
        {
            out.push(extra);
        }
    }
    if out.is_empty() {
        // Deleting every word leaves nothing to correct; keep one at random.
        out.push(tokens[rng.random_range(0..tokens.len())]);
    }
    if noise.shuffle_window > 0 && rng.random::<f64>() < noise.shuffle {
        let mut keyed: Vec<(f64, u32)> = out
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                (
                    i as f64 + rng.random::<f64>() * (noise.shuffle_window as f64 + 1.0),
                    t,
                )
            })
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
        out = keyed.into_iter().map(|(_, t)| t).collect();
    }
    out
}

/// Masks each word as `unk` with probability `rate` (the same mask goes on source and target).
pub fn mask_unknown<R: Rng>(tokens: &[u32], rate: f64, unk: u32, rng: &mut R) -> Vec<u32> {
    tokens
        .iter()
        .map(|&t| if rng.random::<f64>() < rate { unk } else { t })
        .collect()
}

/// Puts the input's out-of-vocabulary words back where the network wrote `unk`, in order;
/// surplus `unk`s (more than the input had) are dropped.
pub fn restore_unknown(
    input: &[String],
    output: &[String],
    is_unknown: impl Fn(&str) -> bool,
    unk: &str,
) -> Vec<String> {
    let mut unknown = input.iter().filter(|w| is_unknown(w));
    output
        .iter()
        .filter_map(|w| {
            if w == unk {
                unknown.next().cloned()
            } else {
                Some(w.clone())
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn noise(clean: f64, delete: f64, substitute: f64, insert: f64, shuffle: f64) -> NoiseConfig {
        NoiseConfig {
            clean,
            delete,
            substitute,
            insert,
            shuffle,
            shuffle_window: 3,
            unknown: 0.0,
        }
    }

    #[test]
    fn unknown_words_come_back_in_order() {
        let words = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let known = ["am", "ändert", "sich", "wenig"];
        let out = restore_unknown(
            &words("am xylophon ändert sich zweimal"),
            &words("am <unk> ändert sich <unk> wenig <unk>"),
            |w| !known.contains(&w),
            "<unk>",
        );
        assert_eq!(out, words("am xylophon ändert sich zweimal wenig"));
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let masked = mask_unknown(&[5; 1000], 0.1, 0, &mut rng);
        let share = masked.iter().filter(|&&t| t == 0).count() as f64 / 1000.0;
        assert!((share - 0.1).abs() < 0.03, "{share}");
    }

    #[test]
    fn clean_share_is_untouched_and_rates_are_respected() {
        let tokens: Vec<u32> = (10..30).collect();
        let unigram = vec![99u32; 5];
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let config = noise(0.0, 0.1, 0.1, 0.1, 0.0);
        let (mut deleted, mut substituted, mut total) = (0usize, 0usize, 0usize);
        for _ in 0..2000 {
            let out = inject_errors(&tokens, &config, &unigram, &mut rng);
            // Without shuffling the surviving originals keep their order.
            let originals: Vec<u32> = out.iter().copied().filter(|&t| t != 99).collect();
            assert!(originals.windows(2).all(|w| w[0] < w[1]), "{out:?}");
            let inserted_or_substituted = out.len() - originals.len();
            deleted += tokens.len() - originals.len();
            substituted += inserted_or_substituted;
            total += tokens.len();
        }
        // Originals missing = deleted (10%) + substituted (9%); 99s = substituted + inserted.
        let missing = deleted as f64 / total as f64;
        let added = substituted as f64 / total as f64;
        assert!((missing - 0.19).abs() < 0.02, "missing {missing}");
        assert!((added - 0.19).abs() < 0.02, "added {added}");

        let all_clean = noise(1.0, 0.5, 0.5, 0.5, 1.0);
        assert_eq!(
            inject_errors(&tokens, &all_clean, &unigram, &mut rng),
            tokens
        );
    }

    #[test]
    fn shuffle_moves_words_at_most_the_window_and_never_empties() {
        let tokens: Vec<u32> = (0..40).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let config = noise(0.0, 0.0, 0.0, 0.0, 1.0);
        let mut moved = false;
        for _ in 0..200 {
            let out = inject_errors(&tokens, &config, &[], &mut rng);
            let mut sorted = out.clone();
            sorted.sort();
            assert_eq!(sorted, tokens);
            for (i, &t) in out.iter().enumerate() {
                assert!((i as i64 - t as i64).abs() <= 3, "{out:?}");
            }
            moved |= out != tokens;
        }
        assert!(moved);
        let delete_all = noise(0.0, 0.999, 0.0, 0.0, 0.0);
        for _ in 0..50 {
            assert_eq!(inject_errors(&[7, 8], &delete_all, &[], &mut rng).len(), 1);
        }
    }
}
