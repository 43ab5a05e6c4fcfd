//! Seed derivation: every random choice of a fit comes from its one `u64` seed through these
//! functions, so a fit is reproducible and parallel work can draw from independent streams
//! whatever the thread count.
//!
//! Two derivations exist because both are frozen into trained models: [`mix`] (SplitMix64 folded
//! over the parts, the graph embeddings' per-epoch, per-batch and per-chunk seeds) and [`stream`]
//! (a multiply-rotate fold, the fused recommender's stream ids). Changing either changes every
//! model trained with it.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
const MUL1: u64 = 0xBF58_476D_1CE4_E5B9;
const MUL2: u64 = 0x94D0_49BB_1331_11EB;

/// `seed` with `parts` folded in by the SplitMix64 finaliser: an independent seed per
/// (epoch, batch, chunk), say.
pub fn mix(seed: u64, parts: &[u64]) -> u64 {
    let mut x = seed;
    for &p in parts {
        x ^= p.wrapping_add(GOLDEN);
        x = x.wrapping_add(GOLDEN);
        x = (x ^ (x >> 30)).wrapping_mul(MUL1);
        x = (x ^ (x >> 27)).wrapping_mul(MUL2);
        x ^= x >> 31;
    }
    x
}

/// A generator seeded with [`mix`]`(seed, parts)`.
pub fn rng_from(seed: u64, parts: &[u64]) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(mix(seed, parts))
}

/// One stream id for [`rng_for`] from several (e.g. a stage tag, epoch, batch and chunk).
pub fn stream(parts: &[u64]) -> u64 {
    parts
        .iter()
        .fold(GOLDEN, |h, &p| (h ^ p).wrapping_mul(MUL1).rotate_left(31))
}

/// The generator of stream `stream` of a fit seeded with `seed`: ChaCha8 seeded with `seed`, its
/// stream set to `stream`.
pub fn rng_for(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

#[cfg(test)]
mod tests {
    use rand::RngCore;

    use super::*;

    /// The derivations are frozen: trained models depend on these exact numbers.
    #[test]
    fn derivations_are_frozen() {
        assert_eq!(mix(1, &[]), 1);
        assert_eq!(mix(1, &[0x1417]), 0x9E50_07A4_8B64_979C);
        assert_eq!(mix(7, &[3, 0x5eed]), 0x41D8_CCE2_CE31_6A03);
        assert_eq!(stream(&[]), GOLDEN);
        assert_eq!(stream(&[0x7e, 2]), 0x7665_38CA_0930_BB44);
        assert_eq!(
            rng_from(5, &[1, 2]).next_u64(),
            rng_from(5, &[1, 2]).next_u64()
        );
        assert_ne!(rng_for(5, 1).next_u64(), rng_for(5, 2).next_u64());
        assert_eq!(
            rng_for(5, 0).next_u64(),
            ChaCha8Rng::seed_from_u64(5).next_u64()
        );
    }
}
