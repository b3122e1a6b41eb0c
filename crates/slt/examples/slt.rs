//! Stand-alone front end for the translation commands until the `signscope` binary wires them:
//!
//! cargo run --release -p signscope-slt --example slt -- train crates/slt/configs/phoenix2014t_g2t.toml
//! cargo run --release -p signscope-slt --example slt -- translate --model DIR --glosses "MORGEN REGEN"
//! cargo run --release -p signscope-slt --example slt -- eval --model DIR --split dev

use clap::Parser;

#[derive(Parser)]
#[command(about = "signscope gloss→text translation")]
struct Cli {
    #[command(subcommand)]
    command: signscope_slt::cli::SltCommand,
}

fn main() -> anyhow::Result<()> {
    signscope_slt::cli::run(Cli::parse().command)
}
