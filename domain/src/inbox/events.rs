use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::values::{ContentType, DocumentType, FileName, FileSource, Note, Reason, Sha256Hex};

/// Events of the `InboxItem` aggregate (`event_version` "1.0"). The file's bytes are never in
/// an event: `sha256` addresses them in the blob store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum InboxEvent {
    FileReceived {
        filename: FileName,
        content_type: ContentType,
        size_bytes: u64,
        sha256: Sha256Hex,
        source: FileSource,
    },
    DocumentClassified {
        document_type: DocumentType,
        previous: Option<DocumentType>,
    },
    DocumentLinkedToAircraft {
        aircraft_id: Uuid,
        previous: Option<Uuid>,
    },
    DocumentProcessed {
        note: Note,
    },
    DocumentRejected {
        reason: Reason,
    },
    DocumentArchived {},
}

impl DomainEvent for InboxEvent {
    fn event_type(&self) -> String {
        match self {
            Self::FileReceived { .. } => "FileReceived",
            Self::DocumentClassified { .. } => "DocumentClassified",
            Self::DocumentLinkedToAircraft { .. } => "DocumentLinkedToAircraft",
            Self::DocumentProcessed { .. } => "DocumentProcessed",
            Self::DocumentRejected { .. } => "DocumentRejected",
            Self::DocumentArchived { .. } => "DocumentArchived",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}
