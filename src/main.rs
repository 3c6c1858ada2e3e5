//! The `clinicdesk` executable: parse the command line and run it.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    clinicdesk::cli::run(clinicdesk::cli::Cli::parse())
}
