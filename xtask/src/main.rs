//! `cargo xtask`: the binary behind the workspace's `.cargo/config.toml` alias.
//!
//! All the work is in the library; see `cargo xtask help` for the tasks.

use std::process::ExitCode;

fn main() -> ExitCode {
    xtask::run(std::env::args_os().skip(1))
}
