/// Where and how to mirror.
#[derive(Debug, Clone)]
pub struct MirrorConfig {
    /// `host:port[,host:port…]` of the Kafka-API brokers.
    pub brokers: String,
    pub client_id: String,
    pub topics: Topics,
    /// Partitions of topics created at start-up.
    pub partitions: i32,
    /// Replication factor of topics created at start-up.
    pub replication: i32,
}

/// Topic per aggregate type.
#[derive(Debug, Clone)]
pub struct Topics {
    pub aircraft: String,
    pub inbox: String,
    /// PartsRequest (TMC) events.
    pub tmc: String,
    /// Events of any other aggregate type.
    pub other: String,
}

impl Default for Topics {
    fn default() -> Self {
        Self {
            aircraft: "klg.aircraft.events".into(),
            inbox: "klg.inbox.events".into(),
            tmc: "klg.tmc.events".into(),
            other: "klg.other.events".into(),
        }
    }
}

impl Topics {
    pub fn for_aggregate(&self, aggregate_type: &str) -> &str {
        match aggregate_type {
            "Aircraft" => &self.aircraft,
            "InboxItem" => &self.inbox,
            "PartsRequest" => &self.tmc,
            _ => &self.other,
        }
    }

    pub fn all(&self) -> [&str; 4] {
        [&self.aircraft, &self.inbox, &self.tmc, &self.other]
    }
}

impl MirrorConfig {
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            client_id: "klg-backend".into(),
            topics: Topics::default(),
            partitions: 3,
            replication: 1,
        }
    }
}
