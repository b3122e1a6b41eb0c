//! Stable seeds derived from strings. `std`'s hashers are not guaranteed to give the
//! same value across Rust releases, and "same seed → same bytes" must hold across
//! toolchains, so this uses FNV-1a followed by the SplitMix64 finalizer.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A 64-bit seed from the corpus seed and a list of string parts (a domain tag first,
/// e.g. `["prototype", gloss]`). Parts are length-prefixed so `["ab","c"]` ≠ `["a","bc"]`.
pub fn derive_seed(seed: u64, parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ splitmix64(seed);
    let mut eat = |b: u8| {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    };
    for part in parts {
        for b in (part.len() as u32).to_le_bytes() {
            eat(b);
        }
        for &b in part.as_bytes() {
            eat(b);
        }
    }
    splitmix64(h)
}

/// A ChaCha8 stream for one purpose (see [`derive_seed`]).
pub fn rng_for(seed: u64, parts: &[&str]) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(derive_seed(seed, parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_stable_and_separated() {
        // Pinned value: changing the hash would silently change every generated corpus.
        assert_eq!(
            derive_seed(0, &["prototype", "REGEN"]),
            derive_seed(0, &["prototype", "REGEN"])
        );
        assert_ne!(derive_seed(0, &["ab", "c"]), derive_seed(0, &["a", "bc"]));
        assert_ne!(derive_seed(0, &["x"]), derive_seed(1, &["x"]));
        assert_eq!(
            derive_seed(7, &["prototype", "REGEN"]),
            13_971_054_140_482_148_540_u64
        );
    }
}
