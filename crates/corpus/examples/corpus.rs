//! The `signscope corpus` subcommands as a stand-alone program:
//! `cargo run -p signscope-corpus --example corpus -- import --format phoenix-2014t ../shared/data/phoenix-2014t -o /tmp/p.jsonl`

use clap::Parser;
use signscope_corpus::cli::{CorpusCommand, run};

#[derive(Parser)]
#[command(about = "signscope corpus tools")]
struct Cli {
    #[command(subcommand)]
    command: CorpusCommand,
}

fn main() -> anyhow::Result<()> {
    run(Cli::parse().command)
}
