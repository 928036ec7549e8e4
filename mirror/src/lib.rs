//! The mirror: every stored event, published to Redpanda (Kafka API) as a CloudEvents 1.0
//! envelope, keyed by aggregate id so one aggregate's events stay ordered in one partition.
//!
//! It is a subscription on the global log ([`klg_projections::Subscription`]) in at-least-once
//! mode: the checkpoint advances only after the broker confirmed every message of the batch
//! (idempotent producer, `acks=all`). A crash between delivery and checkpoint re-sends the batch;
//! consumers drop those duplicates by event id. The store stays the truth, the topics a copy.

mod config;
mod envelope;
mod relay;
pub mod replay;
pub mod verify;

pub use config::{MirrorConfig, Topics};
pub use envelope::EventEnvelope;
pub use relay::{encode, BrokerStatus, Relay, MIRROR};
