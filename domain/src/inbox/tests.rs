//! Given/when/then tests of the InboxItem state machine: one accepted and one refused case each.

use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;
use crate::guard::Guarded;
use crate::values::*;

const IN_SERVICE: Uuid = Uuid::from_u128(1);
const RETIRED: Uuid = Uuid::from_u128(2);

/// A directory knowing one aircraft in service and one decommissioned.
struct Directory;

#[async_trait::async_trait]
impl AircraftDirectory for Directory {
    async fn standing(&self, id: Uuid) -> Result<Option<AircraftStanding>, String> {
        Ok(match id {
            IN_SERVICE => Some(AircraftStanding::InService),
            RETIRED => Some(AircraftStanding::Decommissioned),
            _ => None,
        })
    }
}

fn framework() -> TestFramework<InboxItem> {
    TestFramework::with(InboxServices::new(Directory))
}

fn cmd(c: InboxCommand) -> Guarded<InboxCommand> {
    c.into()
}

fn file() -> ReceiveFile {
    ReceiveFile {
        filename: FileName::sanitize("AD-2024-05.pdf"),
        content_type: ContentType::parse("application/pdf").unwrap(),
        size_bytes: 1024,
        sha256: Sha256Hex::parse(&"ab".repeat(32)).unwrap(),
        source: FileSource::Email,
    }
}

fn received() -> InboxEvent {
    let f = file();
    InboxEvent::FileReceived {
        filename: f.filename,
        content_type: f.content_type,
        size_bytes: f.size_bytes,
        sha256: f.sha256,
        source: f.source,
    }
}

fn classified(t: DocumentType) -> InboxEvent {
    InboxEvent::DocumentClassified { document_type: t, previous: None }
}

fn processed() -> InboxEvent {
    InboxEvent::DocumentProcessed { note: Note::parse("done").unwrap() }
}

fn rejected() -> InboxEvent {
    InboxEvent::DocumentRejected { reason: Reason::parse("duplicate").unwrap() }
}

fn classify(t: DocumentType) -> Guarded<InboxCommand> {
    cmd(InboxCommand::Classify { document_type: t })
}

fn process() -> Guarded<InboxCommand> {
    cmd(InboxCommand::MarkProcessed { note: Note::parse("done").unwrap() })
}

fn reject() -> Guarded<InboxCommand> {
    cmd(InboxCommand::Reject { reason: Reason::parse("duplicate").unwrap() })
}

fn link(id: Uuid) -> Guarded<InboxCommand> {
    cmd(InboxCommand::LinkToAircraft { aircraft_id: id })
}

#[tokio::test]
async fn receives_a_file() {
    framework()
        .given_no_previous_events()
        .when_async(cmd(InboxCommand::Receive(file())))
        .await
        .then_expect_events(vec![received()]);
}

#[tokio::test]
async fn refuses_an_empty_file() {
    framework()
        .given_no_previous_events()
        .when_async(cmd(InboxCommand::Receive(ReceiveFile { size_bytes: 0, ..file() })))
        .await
        .then_expect_error(InboxError::EmptyFile);
}

#[tokio::test]
async fn refuses_receiving_twice() {
    framework()
        .given(vec![received()])
        .when_async(cmd(InboxCommand::Receive(file())))
        .await
        .then_expect_error(InboxError::AlreadyReceived);
}

#[tokio::test]
async fn refuses_commands_on_an_unknown_document() {
    framework()
        .given_no_previous_events()
        .when_async(classify(DocumentType::WorkOrder))
        .await
        .then_expect_error(InboxError::NotFound);
}

#[tokio::test]
async fn classifies_and_reclassifies_while_open() {
    framework()
        .given(vec![received()])
        .when_async(classify(DocumentType::AirworthinessDirective))
        .await
        .then_expect_events(vec![classified(DocumentType::AirworthinessDirective)]);
    framework()
        .given(vec![received(), classified(DocumentType::Other)])
        .when_async(classify(DocumentType::ServiceBulletin))
        .await
        .then_expect_events(vec![InboxEvent::DocumentClassified {
            document_type: DocumentType::ServiceBulletin,
            previous: Some(DocumentType::Other),
        }]);
    framework()
        .given(vec![received(), classified(DocumentType::Other)])
        .when_async(classify(DocumentType::Other))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn refuses_classifying_a_processed_document() {
    framework()
        .given(vec![received(), classified(DocumentType::WorkOrder), processed()])
        .when_async(classify(DocumentType::Other))
        .await
        .then_expect_error(InboxError::NotAllowed { action: "classify", status: InboxStatus::Processed });
}

#[tokio::test]
async fn links_to_an_aircraft_in_service() {
    framework().given(vec![received()]).when_async(link(IN_SERVICE)).await.then_expect_events(vec![
        InboxEvent::DocumentLinkedToAircraft { aircraft_id: IN_SERVICE, previous: None },
    ]);
}

#[tokio::test]
async fn refuses_links_to_unknown_or_decommissioned_aircraft() {
    framework()
        .given(vec![received()])
        .when_async(link(RETIRED))
        .await
        .then_expect_error(InboxError::AircraftDecommissioned(RETIRED));
    let unknown = Uuid::from_u128(3);
    framework()
        .given(vec![received()])
        .when_async(link(unknown))
        .await
        .then_expect_error(InboxError::UnknownAircraft(unknown));
}

#[tokio::test]
async fn processes_a_classified_document() {
    framework()
        .given(vec![received(), classified(DocumentType::WorkOrder)])
        .when_async(process())
        .await
        .then_expect_events(vec![processed()]);
}

#[tokio::test]
async fn refuses_processing_before_classification() {
    framework()
        .given(vec![received()])
        .when_async(process())
        .await
        .then_expect_error(InboxError::NotClassified);
}

#[tokio::test]
async fn rejects_an_open_document() {
    framework().given(vec![received()]).when_async(reject()).await.then_expect_events(vec![rejected()]);
}

#[tokio::test]
async fn refuses_rejecting_a_processed_document() {
    framework()
        .given(vec![received(), classified(DocumentType::WorkOrder), processed()])
        .when_async(reject())
        .await
        .then_expect_error(InboxError::NotAllowed { action: "reject", status: InboxStatus::Processed });
}

#[tokio::test]
async fn archives_a_finished_document() {
    framework()
        .given(vec![received(), rejected()])
        .when_async(cmd(InboxCommand::Archive))
        .await
        .then_expect_events(vec![InboxEvent::DocumentArchived {}]);
}

#[tokio::test]
async fn refuses_archiving_an_open_document() {
    framework()
        .given(vec![received(), classified(DocumentType::WorkOrder)])
        .when_async(cmd(InboxCommand::Archive))
        .await
        .then_expect_error(InboxError::NotAllowed { action: "archive", status: InboxStatus::Classified });
}

#[tokio::test]
async fn nothing_happens_after_archive() {
    let archived = vec![received(), rejected(), InboxEvent::DocumentArchived {}];
    for command in
        [classify(DocumentType::Other), link(IN_SERVICE), process(), reject(), cmd(InboxCommand::Archive)]
    {
        framework().given(archived.clone()).when_async(command).await.then_expect_error(InboxError::Archived);
    }
}

#[tokio::test]
async fn applies_a_guarded_command_only_at_the_expected_version() {
    framework()
        .given(vec![received()])
        .when_async(Guarded::new(InboxCommand::Classify { document_type: DocumentType::Other }, Some(0)))
        .await
        .then_expect_error(InboxError::VersionMismatch { expected: 0, actual: 1 });
}
