//! End-to-end tests: the real `kgrec` binary on `fixtures/` and on files the tests write.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cf;
mod cf_bad_input;
mod cf_crash;
mod cke;
mod common;
mod confidence;
mod content;
mod crash;
mod demo;
mod ease;
mod eleventh_look;
mod endpoint;
mod explain;
mod first_afternoon;
mod fresh_look12;
mod frozen;
mod import_bad_input;
mod import_interactions;
mod import_kg;
mod integrity;
mod kge;
mod knn;
mod lock;
mod messages;
mod rating;
mod read_only;
mod serve;
mod serve_access;
mod sparql;
mod sparql_client;
mod tune;
