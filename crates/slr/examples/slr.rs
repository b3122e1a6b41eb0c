//! `signscope slr` without the main binary (and without the candle embedders): only
//! `[embedding] backend = "hashed"` works here. Useful to develop the recognizer quickly:
//! `cargo run --release -p signscope-slr --example slr -- train --config …`.

use clap::Parser;
use signscope_slr::cli::{SlrCommand, run};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: SlrCommand,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    run(cli.command, &|config| {
        anyhow::bail!(
            "embedding backend {:?} needs the signscope binary (this example only has \"hashed\")",
            config.backend
        )
    })
}
