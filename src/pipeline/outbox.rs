//! Sending replies that channels deliver asynchronously (Slack, Teams): each reply is queued in
//! the outbox in the same transaction that logs the conversation, then sent by this worker with
//! exponential backoff. A sent reply is recorded, so a restart does not send it again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use super::{OutgoingReply, now_ms};
use crate::store::{ConversationStore, OutboxItem};
use crate::telemetry::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth trying again (rate limit, 5xx, timeout); `after` when the service said when.
    #[error("temporary failure: {reason}")]
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// Will not succeed by retrying (bad request, conversation gone).
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// A channel's way of delivering a reply.
#[async_trait]
pub trait ReplySender: Send + Sync {
    async fn send(&self, reply: &OutgoingReply) -> Result<(), SendError>;
}

/// When to try again: `base * 2^(attempt-1)`, capped, for at most `max_attempts`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    pub max_attempts: i32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            max: Duration::from_secs(300),
            max_attempts: 8,
        }
    }
}

impl Backoff {
    /// Delay before the next attempt after `attempts` failed ones; `None` to give up.
    pub fn delay(&self, attempts: i32) -> Option<Duration> {
        if attempts >= self.max_attempts {
            return None;
        }
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1).max(0) as u32);
        Some(self.base.saturating_mul(factor).min(self.max))
    }
}

/// Delivers outbox items through the sender registered for their channel.
pub struct OutboxWorker {
    pub store: Arc<dyn ConversationStore>,
    pub senders: HashMap<String, Arc<dyn ReplySender>>,
    pub metrics: Arc<Metrics>,
    pub backoff: Backoff,
    /// How long a send may take before another worker may retry it.
    pub lease: Duration,
}

impl OutboxWorker {
    /// Sends due replies until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                break;
            }
            match self.send_next().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(err) => tracing::warn!(error = %err, "reading the outbox failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Sends one due reply; false when none was due.
    pub async fn send_next(&self) -> Result<bool, crate::store::StoreError> {
        let now = now_ms();
        let Some(item) = self
            .store
            .claim_reply(now, now + self.lease.as_millis() as i64)
            .await?
        else {
            return Ok(false);
        };
        self.deliver(item).await?;
        Ok(true)
    }

    #[tracing::instrument(skip_all, fields(outbox_id = item.id, channel = %item.channel, attempt = item.attempts))]
    async fn deliver(&self, item: OutboxItem) -> Result<(), crate::store::StoreError> {
        let outcome = match (
            self.senders.get(&item.channel),
            serde_json::from_value::<OutgoingReply>(item.payload.clone()),
        ) {
            (Some(sender), Ok(mut reply)) => {
                // queued in the transaction that assigned it: known here, not before
                reply.reply.conversation_id = Some(item.conversation_id);
                sender.send(&reply).await
            }
            (None, _) => Err(SendError::Permanent(format!(
                "no sender for channel {}",
                item.channel
            ))),
            (_, Err(err)) => Err(SendError::Permanent(format!("unreadable reply: {err}"))),
        };
        match outcome {
            Ok(()) => self.store.mark_reply_sent(item.id, now_ms()).await,
            Err(err) => {
                self.metrics
                    .reply_failures
                    .with_label_values(&[item.channel.as_str()])
                    .inc();
                let next = match &err {
                    SendError::Retry { after, .. } => self
                        .backoff
                        .delay(item.attempts)
                        .map(|d| after.map_or(d, |a| a.max(d))),
                    SendError::Permanent(_) => None,
                };
                tracing::warn!(error = %err, retry_in = ?next, "sending a reply failed");
                self.store
                    .reschedule_reply(
                        item.id,
                        next.map(|d| now_ms() + d.as_millis() as i64),
                        &err.to_string(),
                    )
                    .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_then_gives_up() {
        let b = Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(5),
            max_attempts: 5,
        };
        let delays: Vec<_> = (1..=5).map(|a| b.delay(a)).collect();
        assert_eq!(
            delays,
            [
                Some(Duration::from_secs(1)),
                Some(Duration::from_secs(2)),
                Some(Duration::from_secs(4)),
                Some(Duration::from_secs(5)),
                None
            ]
        );
    }
}
