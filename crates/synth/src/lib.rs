//! Synthetic continuous-signing keypoints for signscope: real gloss sequences
//! (PHOENIX-2014T, CSL-Daily) or a built-in dialogue grammar with homonyms, signed by
//! generated motion in COCO-WholeBody-133 layout.
//!
//! - [`prototype`]: one motion prototype per motion key (hand shape, orientation,
//!   location, movement, hands, mouthing), deterministic from `(seed, key)`.
//! - [`signer`]: virtual signers (proportions, style, camera, detector noise).
//! - [`render`]: timeline, co-articulation, kinematics, projection → [`signscope_pose::Pose`].
//! - [`dialogue`]: the dialogue grammar and homonym table.
//! - [`generate`]: whole corpora, written as `.pose` files + manifest + data card ([`card`]).
//! - [`cli`]: `signscope synth`.

pub mod card;
pub mod cli;
pub mod dialogue;
pub mod face;
pub mod generate;
pub mod geom;
pub mod hand;
pub mod prototype;
pub mod render;
pub mod seed;
pub mod signer;

pub use generate::{GlossSource, Planned, Summary, SynthOptions, generate, plan};
pub use render::{PrototypeBank, RenderConfig, RenderStats, Rendered, render_utterance};
pub use signer::{Camera, SignerProfile};
