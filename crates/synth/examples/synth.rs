//! `signscope synth` without the main binary, for development and timing:
//! `cargo run --release -p signscope-synth --example synth -- --glosses phoenix2014t --out /tmp/synth`

use clap::Parser;
use signscope_synth::cli::{SynthArgs, run};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: SynthArgs,
}

fn main() -> anyhow::Result<()> {
    run(Cli::parse().args)
}
