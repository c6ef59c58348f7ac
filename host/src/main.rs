//! The `tollgate` binary: wiring only; the commands live in `tollgate::cli`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    tollgate::cli::Cli::parse().run()
}
