//! Black-box tests of the `clinicdesk` binary (one test binary, as
//! `tests/api`): each test runs the compiled executable with its own
//! temporary data directory.

mod backup;
mod commands;
mod disk_full;
mod durability;
mod exchange;
mod harness;
mod launch;
mod security;
mod standby;
mod upgrade;
