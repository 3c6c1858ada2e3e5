//! clinicdesk: a small clinic's records server (patients, doctors, and which
//! doctor looks after whom) with its browser UI, in one executable.
//!
//! Infrastructure first, then one module per API resource.

pub mod audit;
pub mod backup;
pub mod cli;
pub mod clinic_time;
pub mod config;
pub mod cors;
pub mod db;
pub mod desktop;
pub mod error;
pub mod front;
pub mod http;
pub mod lock;
pub mod openapi;
pub mod search;
pub mod server;
pub mod service;
pub mod telemetry;
pub mod throttle;
pub mod tls;
pub mod ui;
pub mod validation;

pub mod appointments;
pub mod auth;
pub mod doctors;
pub mod health;
pub mod mappings;
pub mod patients;
pub mod schedule;
pub mod settings;
pub mod setup;
pub mod users;
