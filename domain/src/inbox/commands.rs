use uuid::Uuid;

use crate::values::{ContentType, DocumentType, FileName, FileSource, Note, Reason, Sha256Hex};

/// Commands on an [`InboxItem`](super::InboxItem). Values are already validated.
#[derive(Debug, Clone, PartialEq)]
pub enum InboxCommand {
    Receive(ReceiveFile),
    Classify { document_type: DocumentType },
    LinkToAircraft { aircraft_id: Uuid },
    MarkProcessed { note: Note },
    Reject { reason: Reason },
    Archive,
}

/// Metadata of a file whose bytes are already in the blob store under `sha256`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiveFile {
    pub filename: FileName,
    pub content_type: ContentType,
    pub size_bytes: u64,
    pub sha256: Sha256Hex,
    pub source: FileSource,
}

impl crate::guard::NamedCommand for InboxCommand {
    fn name(&self) -> &'static str {
        match self {
            Self::Receive(_) => "ReceiveFile",
            Self::Classify { .. } => "Classify",
            Self::LinkToAircraft { .. } => "LinkToAircraft",
            Self::MarkProcessed { .. } => "MarkProcessed",
            Self::Reject { .. } => "Reject",
            Self::Archive => "Archive",
        }
    }
}
