//! The processing commands without the `signscope` binary, e.g.
//! `cargo run -p signscope-pose --example pose_proc -- render IN.pose --gif OUT.gif`.

use clap::Parser;
use signscope_pose::cli_proc::{ProcCommand, run_proc};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: ProcCommand,
}

fn main() -> anyhow::Result<()> {
    run_proc(Cli::parse().command)
}
