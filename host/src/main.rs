//! The `tollgate` binary: wiring only; the commands live in `tollgate::cli`.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc's allocator: token requests allocate and free many small strings and
/// JSON values across threads, where glibc's malloc showed ~10 % of the server's time in a
/// profile under load (BENCHMARKS.md §3).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tollgate::cli::Cli::parse().run()
}
