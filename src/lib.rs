//! clinicdesk: a small clinic's records server (patients, doctors, and which
//! doctor looks after whom) with its browser UI, in one executable.
//!
//! The modules in their layers, lowest first. A module imports only from
//! its own layer or one below (`layers/` holds the list and the test that
//! checks it; the README's Development section has the picture).

// Base: knows nothing of clinics.
pub mod clinic_time;
pub mod config;
pub mod cors;
pub mod db;
pub mod error;
pub mod front;
pub mod http;
pub mod lock;
pub mod origin;
pub mod records;
pub mod search;
pub mod standby;
pub mod telemetry;
pub mod throttle;
pub mod tls;
pub mod ui;
pub mod validation;

// Identity, then the trail: who is calling, and what they did.
pub mod auth;

pub mod audit;

// Clinic resources: the records and the endpoints that serve them.
pub mod account;
pub mod appointments;
pub mod backup;
pub mod doctors;
pub mod exchange;
pub mod fhir;
pub mod health;
pub mod mappings;
pub mod merge;
pub mod patients;
pub mod record_names;
pub mod schedule;
pub mod settings;
pub mod setup;
pub mod users;

// Assembly: wires the rest together; nothing imports it.
pub mod cli;
pub mod desktop;
pub mod openapi;
pub mod server;
pub mod service;

#[cfg(test)]
mod layers;
