//! KLG read side: the global event log (gap-free, in commit order), durable named subscriptions
//! over it, the PostgreSQL projections they maintain, and the queries the read endpoints run.

pub mod as_of;
mod copy;
pub mod log;
pub mod projector;
pub mod queries;
pub mod replay;
pub mod risingwave;
pub mod subscription;

pub use log::{LogPosition, StoredEvent};
pub use projector::{Projector, PROJECTIONS};
pub use subscription::{Delivery, Subscriber, SubscriberError, Subscription, SubscriptionStatus};
