//! numpy's `np.random.default_rng(seed).choice(n, size, replace=True)`, bit for bit, so that
//! our paired bootstrap draws exactly the resamples sacrebleu draws (`SACREBLEU_SEED`,
//! default 12345): `SeedSequence` → `PCG64` (XSL-RR 128/64) → Lemire's bounded integers
//! on 32-bit draws (`buffered_bounded_lemire_uint32`), as in numpy's `_generator.pyx`,
//! `bit_generator.pyx` and `distributions.c`.

const INIT_A: u32 = 0x43b0_d7e5;
const MULT_A: u32 = 0x931e_8875;
const INIT_B: u32 = 0x8b51_f9dd;
const MULT_B: u32 = 0x58f3_8ded;
const MIX_MULT_L: u32 = 0xca01_f9dd;
const MIX_MULT_R: u32 = 0x4973_f715;
const XSHIFT: u32 = 16;
const POOL_SIZE: usize = 4;

const PCG_MULTIPLIER: u128 = (2_549_297_995_355_413_924u128 << 64) | 4_865_540_595_714_422_341u128;

fn hashmix(value: u32, hash_const: &mut u32) -> u32 {
    let mut value = value ^ *hash_const;
    *hash_const = hash_const.wrapping_mul(MULT_A);
    value = value.wrapping_mul(*hash_const);
    value ^ (value >> XSHIFT)
}

fn mix(x: u32, y: u32) -> u32 {
    let result = MIX_MULT_L
        .wrapping_mul(x)
        .wrapping_sub(MIX_MULT_R.wrapping_mul(y));
    result ^ (result >> XSHIFT)
}

/// `SeedSequence(seed).generate_state(4, np.uint64)`.
fn seed_sequence_state(seed: u64) -> [u64; 4] {
    // An integer seed becomes little-endian 32-bit words (at least one).
    let entropy: Vec<u32> = if seed >> 32 == 0 {
        vec![seed as u32]
    } else {
        vec![seed as u32, (seed >> 32) as u32]
    };
    let mut pool = [0u32; POOL_SIZE];
    let mut hash_const = INIT_A;
    for (i, slot) in pool.iter_mut().enumerate() {
        *slot = hashmix(entropy.get(i).copied().unwrap_or(0), &mut hash_const);
    }
    for i_src in 0..POOL_SIZE {
        for i_dst in 0..POOL_SIZE {
            if i_src != i_dst {
                pool[i_dst] = mix(pool[i_dst], hashmix(pool[i_src], &mut hash_const));
            }
        }
    }
    for &word in entropy.iter().skip(POOL_SIZE) {
        for slot in pool.iter_mut() {
            *slot = mix(*slot, hashmix(word, &mut hash_const));
        }
    }
    let mut words = [0u32; 8];
    let mut hash_const = INIT_B;
    for (i, word) in words.iter_mut().enumerate() {
        let mut value = pool[i % POOL_SIZE] ^ hash_const;
        hash_const = hash_const.wrapping_mul(MULT_B);
        value = value.wrapping_mul(hash_const);
        *word = value ^ (value >> XSHIFT);
    }
    std::array::from_fn(|k| u64::from(words[2 * k]) | (u64::from(words[2 * k + 1]) << 32))
}

/// numpy `PCG64` with its 32-bit half-draw buffer.
pub struct NumpyPcg64 {
    state: u128,
    increment: u128,
    spare_u32: Option<u32>,
}

impl NumpyPcg64 {
    /// `np.random.default_rng(seed)`.
    pub fn new(seed: u64) -> Self {
        let s = seed_sequence_state(seed);
        let initial_state = (u128::from(s[0]) << 64) | u128::from(s[1]);
        let initial_sequence = (u128::from(s[2]) << 64) | u128::from(s[3]);
        let mut rng = Self {
            state: 0,
            increment: (initial_sequence << 1) | 1,
            spare_u32: None,
        };
        rng.step();
        rng.state = rng.state.wrapping_add(initial_state);
        rng.step();
        rng
    }

    fn step(&mut self) {
        self.state = self
            .state
            .wrapping_mul(PCG_MULTIPLIER)
            .wrapping_add(self.increment);
    }

    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let folded = ((self.state >> 64) as u64) ^ (self.state as u64);
        folded.rotate_right((self.state >> 122) as u32)
    }

    pub fn next_u32(&mut self) -> u32 {
        if let Some(spare) = self.spare_u32.take() {
            return spare;
        }
        let next = self.next_u64();
        self.spare_u32 = Some((next >> 32) as u32);
        next as u32
    }

    /// One draw of `integers(0, n)` for 1 ≤ n ≤ 2³² (Lemire's method on 32-bit draws).
    pub fn below(&mut self, n: usize) -> usize {
        assert!(
            n >= 1 && n as u64 <= 1 << 32,
            "bounded draw needs 1 <= n <= 2^32"
        );
        let range = (n - 1) as u32;
        if range == 0 {
            return 0;
        }
        if range == u32::MAX {
            return self.next_u32() as usize;
        }
        let range_excl = range + 1;
        let mut m = u64::from(self.next_u32()) * u64::from(range_excl);
        let mut leftover = m as u32;
        if leftover < range_excl {
            let threshold = (u32::MAX - range) % range_excl;
            while leftover < threshold {
                m = u64::from(self.next_u32()) * u64::from(range_excl);
                leftover = m as u32;
            }
        }
        (m >> 32) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_sequence_matches_numpy() {
        // np.random.SeedSequence(12345).generate_state(4, np.uint64)
        assert_eq!(
            seed_sequence_state(12345),
            [
                0xb5ae6482a03d837c,
                0xbbe2996ffa1f7a2f,
                0x64e39a9f37158f94,
                0x3ebb0f96a013fd73
            ]
        );
    }

    #[test]
    fn choice_matches_numpy() {
        // np.random.default_rng(12345).choice(519, size=(2, 8), replace=True)
        let mut rng = NumpyPcg64::new(12345);
        let draws: Vec<usize> = (0..16).map(|_| rng.below(519)).collect();
        assert_eq!(
            draws,
            [
                362, 117, 409, 164, 105, 413, 333, 350, 513, 202, 435, 172, 294, 310, 110, 96
            ]
        );
    }
}
