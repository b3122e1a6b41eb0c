//! Sign language corpora for signscope: one JSON Lines manifest format ([`manifest`]),
//! importers for the public corpora ([`import`]), vocabularies ([`vocab`]),
//! SCOPE's dialogue-aware train/dev/test split ([`split`]) and the minimum-edit-distance
//! confusion report used for annotation cleaning ([`confusions`]).

pub mod atomic;
pub mod cli;
pub mod confusions;
pub mod error;
pub mod import;
pub mod manifest;
pub mod split;
pub mod stats;
mod table;
pub mod vocab;

pub use error::{CorpusError, Result};
pub use manifest::{
    FrameRange, ManifestReader, ManifestWriter, Record, Split, TimeRange, read_manifest,
    write_manifest,
};
