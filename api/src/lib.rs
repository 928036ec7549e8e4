//! KLG's HTTP API (actix-web) and the composition root of the `klg` binary.

pub mod auth;
pub mod extract;
pub mod metrics;
pub mod middleware;
pub mod problem;
pub mod ratelimit;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod telemetry;

pub use settings::Settings;
pub use startup::{Application, StartupError};
