//! `signscope produce` as a standalone binary, for memory measurements:
//! `/usr/bin/time -v target/release/examples/produce "some text" --out /tmp/x.pose`
use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "Text → sign language pose (signscope-slp)")]
struct Cli {
    #[command(flatten)]
    args: signscope_slp::cli::ProduceArgs,
}

fn main() -> anyhow::Result<()> {
    signscope_slp::cli::run(Cli::parse().args)
}
