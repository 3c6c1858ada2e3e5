//! API tests: one binary; each test starts the real server on 127.0.0.1:0
//! with its own temporary data directory and talks HTTP to it.

mod appointment_access;
mod appointments;
mod audit;
mod audit_names;
mod auth;
mod backup_schedule;
mod backups;
mod board;
mod browser;
mod concurrency;
mod connections;
mod contract;
mod cors;
mod desk_settings;
mod doctors;
mod duplicates;
mod exchange;
mod exports;
mod fhir;
mod helpers;
mod imports;
mod mappings;
mod openapi;
mod passwords;
mod patient_lists;
mod patients;
mod robustness;
mod schedule;
mod session;
mod tokens;
mod ui;
mod users;
