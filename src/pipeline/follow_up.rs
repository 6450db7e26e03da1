//! Follow-ups on an answer: "was this helpful", a "did you mean" pick and a handoff to a
//! specialist. Their data (a conversation id, an intent, a specialist) comes back from the
//! client in a button, so any member of a channel could send it for an answer that was not
//! theirs. Every follow-up is therefore taken here, for every channel, and only from the
//! person who asked: the clicker's pseudonymous key must be the one logged with the
//! conversation. Channels translate [`FollowUpError`] into their own refusal (Slack: a note
//! only the clicker sees; Teams: 403; web: 404, the same as for a conversation that does not
//! exist, so the answer tells nobody which conversations exist).

use serde_json::json;

use super::{Accepted, AskerRef, Pipeline, PipelineError, Question};
use crate::catalogue::Lang;
use crate::store::{LoggedConversation, StoreError};

/// Why a follow-up was not taken.
#[derive(Debug, thiserror::Error)]
pub enum FollowUpError {
    #[error("there is no such conversation")]
    NoSuchConversation,
    #[error("the follow-up does not come from the person who asked")]
    NotTheAsker,
    #[error("there is no intent {0} in the catalogue")]
    UnknownIntent(String),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}

impl From<StoreError> for FollowUpError {
    fn from(err: StoreError) -> Self {
        FollowUpError::Pipeline(err.into())
    }
}

impl FollowUpError {
    /// Whether the follow-up was refused (someone else's conversation, or none): what a
    /// channel tells the clicker, as opposed to a failure on our side.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            FollowUpError::NoSuchConversation | FollowUpError::NotTheAsker
        )
    }
}

/// The asker's conversation a follow-up acted on, as a channel needs it to answer the clicker
/// (in the conversation's language, naming its topic); the log record stays in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowedUp {
    pub conversation_id: i64,
    pub language: Lang,
    /// The intent the question was routed to, if any.
    pub intent: Option<String>,
}

impl From<LoggedConversation> for FollowedUp {
    fn from(logged: LoggedConversation) -> Self {
        FollowedUp {
            conversation_id: logged.id,
            language: Lang::from_code(&logged.record.language),
            intent: logged.record.intent,
        }
    }
}

/// A "did you mean" pick, accepted as a follow-up question.
#[derive(Debug, Clone)]
pub struct Chosen {
    /// The chosen intent's name in the conversation's language (the follow-up's text).
    pub label: String,
    pub language: Lang,
    pub accepted: Accepted,
}

impl Pipeline {
    /// The logged conversation `conversation_id` when `asker` asked it.
    async fn conversation_of(
        &self,
        conversation_id: i64,
        asker: &AskerRef,
    ) -> Result<LoggedConversation, FollowUpError> {
        let found = self
            .store
            .conversations(conversation_id - 1, 1)
            .await?
            .into_iter()
            .find(|c| c.id == conversation_id);
        // the key is computed either way, so both refusals take the same time
        let key = self.asker_key(asker);
        let conversation = found.ok_or(FollowUpError::NoSuchConversation)?;
        if conversation.record.asker_key != key {
            tracing::warn!(
                conversation_id,
                "refused a follow-up from someone who did not ask the question"
            );
            return Err(FollowUpError::NotTheAsker);
        }
        Ok(conversation)
    }

    /// Stores "was this helpful" on the asker's conversation.
    pub async fn feedback(
        &self,
        conversation_id: i64,
        asker: &AskerRef,
        helpful: bool,
    ) -> Result<FollowedUp, FollowUpError> {
        let conversation = self.conversation_of(conversation_id, asker).await?;
        self.store
            .record_feedback(conversation_id, helpful, super::now_ms())
            .await?;
        Ok(conversation.into())
    }

    /// The asker picked `intent` from a "did you mean" answer: `follow_up` (where to answer,
    /// in the channel's terms, asked by the clicker) is accepted as a question for that intent,
    /// in the conversation's language; its text becomes the intent's name.
    pub async fn choose(
        &self,
        conversation_id: i64,
        intent: &str,
        mut follow_up: Question,
    ) -> Result<Chosen, FollowUpError> {
        let conversation = self
            .conversation_of(conversation_id, &follow_up.asker)
            .await?;
        let chosen = self
            .catalogue
            .intent(intent)
            .ok_or_else(|| FollowUpError::UnknownIntent(intent.to_string()))?;
        let language = Lang::from_code(&conversation.record.language);
        let label = chosen.label(language).to_string();
        follow_up.text = label.clone();
        if !follow_up.context.is_object() {
            follow_up.context = json!({});
        }
        follow_up.context["choice"] = json!(chosen.id);
        follow_up.context["language"] = json!(language.code());
        let accepted = self.accept(&follow_up).await?;
        Ok(Chosen {
            label,
            language,
            accepted,
        })
    }

    /// The asker wants to be put in touch with a specialist: the conversation to act on (its
    /// language, its topic). The channel passes the question on, then calls
    /// [`Pipeline::record_handoff`].
    pub async fn handoff(
        &self,
        conversation_id: i64,
        asker: &AskerRef,
    ) -> Result<FollowedUp, FollowUpError> {
        Ok(self.conversation_of(conversation_id, asker).await?.into())
    }

    /// Notes on the log that the asker of `conversation` was put in touch with a specialist
    /// (the text is not logged again).
    pub async fn record_handoff(&self, conversation: &FollowedUp) -> Result<(), PipelineError> {
        self.store
            .record_handoff(conversation.conversation_id)
            .await?;
        Ok(())
    }
}
