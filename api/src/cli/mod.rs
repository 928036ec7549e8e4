//! The `klg` tools beside `serve`: each subcommand family in its own module.

pub mod audit;
pub mod mirror;
pub mod progress;
pub mod replay;
pub mod transfer;
