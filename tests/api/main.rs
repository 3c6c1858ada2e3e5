//! API tests: one binary; each test starts the real server on 127.0.0.1:0
//! with its own temporary data directory and talks HTTP to it.

mod helpers;
mod auth;
mod contract;
mod users;
mod doctors;
mod mappings;
mod patients;
