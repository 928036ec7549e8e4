//! Metadata stored with every event of one command (postgres-es copies it onto each event of a
//! commit). The database adds `event_id` and `recorded_at` per event (see migrations/0001).

use std::collections::HashMap;

use uuid::Uuid;

/// Who asked for a command, and how it relates to other messages.
#[derive(Debug, Clone)]
pub struct CommandMetadata {
    /// Who asked: the name of the caller's API token (or of the tool that ran the command).
    pub actor: String,
    /// The id of the caller's API token, when a token made the request: the scope of its
    /// idempotency keys.
    pub actor_id: Option<String>,
    /// Id of the HTTP request (or integration message) that carried the command.
    pub request_id: String,
    /// Id shared by everything one business transaction caused.
    pub correlation_id: String,
    /// Id of the message that directly caused this command.
    pub causation_id: String,
    pub idempotency: Option<IdempotencyClaim>,
}

/// An `Idempotency-Key` and the hash of the request it was first used with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub key: String,
    pub request_hash: String,
}

impl CommandMetadata {
    /// Metadata for a request with no correlation context: it starts its own.
    pub fn new(actor: impl Into<String>) -> Self {
        let request_id = Uuid::new_v4().to_string();
        Self {
            actor: actor.into(),
            actor_id: None,
            correlation_id: request_id.clone(),
            causation_id: request_id.clone(),
            request_id,
            idempotency: None,
        }
    }

    /// Metadata of a command another one caused (`cause`: its aggregate's id) in the same
    /// request: same actor, request and correlation; no idempotency key (the key belongs to
    /// the first command, whose outcome a repeat answers).
    pub fn caused_by(&self, cause: &str) -> Self {
        Self { causation_id: cause.to_owned(), idempotency: None, ..self.clone() }
    }

    /// What an idempotency key is unique within: the token, or the actor without one.
    pub fn idempotency_scope(&self) -> &str {
        self.actor_id.as_deref().unwrap_or(&self.actor)
    }

    /// The map stored with the events; `command_id` identifies this one execution so its
    /// events can be found again, `command` names what was asked for.
    pub(crate) fn to_map(&self, command_id: Uuid, command: &str) -> HashMap<String, String> {
        let mut map = HashMap::from([
            ("actor".to_owned(), self.actor.clone()),
            ("request_id".to_owned(), self.request_id.clone()),
            ("correlation_id".to_owned(), self.correlation_id.clone()),
            ("causation_id".to_owned(), self.causation_id.clone()),
            ("command_id".to_owned(), command_id.to_string()),
            ("command".to_owned(), command.to_owned()),
        ]);
        if let Some(id) = &self.actor_id {
            map.insert("actor_id".to_owned(), id.clone());
        }
        if let Some(claim) = &self.idempotency {
            map.insert("idempotency_key".to_owned(), claim.key.clone());
            map.insert("request_hash".to_owned(), claim.request_hash.clone());
        }
        map
    }
}
