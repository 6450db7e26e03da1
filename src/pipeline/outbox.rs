//! Sending replies that channels deliver asynchronously (Slack, Teams): each reply is queued in
//! the outbox in the same transaction that logs the conversation, then sent by this dispatcher
//! with exponential backoff.
//!
//! Throughput: up to [`MAX_IN_FLIGHT`] replies are sent at once over the channel's reused HTTP
//! connections; due replies are claimed in batches and recorded as sent in batches (one
//! statement each); the dispatcher is woken when a reply is queued instead of polling.
//!
//! Order and platform limits: one reply per conversation is in flight at a time, in the order
//! they were claimed, and each conversation gets at most [`BURST`] replies at once and then
//! one a second (Slack allows about one message a second per channel, Teams a few per
//! conversation and second). A 429 with `Retry-After` pauses the whole channel's sending for
//! that long: the platform limits the app's use of the method, not one reply.
//!
//! At most one visible reply: a claimed reply is `sending` until it is recorded as `sent`. A
//! reply claimed while `sending` (its process died, or its lease ran out) or retried after an
//! attempt whose outcome is unknown (a timeout after the request went out) is *unsure*: the
//! sender looks for it on the platform before posting again (Slack: message metadata carrying
//! the outbox id). Where no lookup exists (Teams) it is sent again: see the README for exactly
//! when a duplicate can still happen.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::{OutgoingReply, now_ms};
use crate::store::{ConversationStore, OutboxItem, StoreError};
use crate::telemetry::Metrics;

/// Most replies being sent at once.
pub const MAX_IN_FLIGHT: usize = 128;
/// Most due replies claimed in one statement.
const CLAIM_BATCH: i64 = 64;
/// Replies a conversation may get at once; then one per [`PACE`].
pub const BURST: f64 = 3.0;
const PACE: Duration = Duration::from_secs(1);
/// How often the outbox is read when nothing wakes the dispatcher (replies queued by another
/// replica, retries that came due).
const IDLE_POLL: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Not delivered, worth trying again (rate limit, refused connection, an error answer);
    /// `after` when the service said when.
    #[error("temporary failure: {reason}")]
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// The request went out but no answer came (timeout, connection lost, 5xx): the reply may
    /// have been delivered. The next attempt looks for it first where the platform allows.
    #[error("outcome unknown: {0}")]
    Unknown(String),
    /// Will not succeed by retrying (bad request, conversation gone).
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// What a sender knows about this attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// The outbox row: a sender that can tag its messages (Slack metadata) tags them with it.
    pub outbox_id: i64,
    /// An earlier attempt may have reached the platform: look before posting again.
    pub unsure: bool,
}

/// A channel's way of delivering a reply.
#[async_trait]
pub trait ReplySender: Send + Sync {
    async fn send(&self, reply: &OutgoingReply, attempt: Attempt) -> Result<(), SendError>;
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
    /// How long a claimed reply stays ours: after that (a crashed replica) another may take
    /// it, as unsure. Longer than a send can take (the clients time out after 10 s).
    pub lease: Duration,
    /// Notified when a reply is queued (see `Pipeline::replies_queued`).
    pub wake: Arc<Notify>,
}

/// How one send ended, for the dispatcher.
struct Sent {
    item: OutboxItem,
    key: String,
    outcome: Result<(), SendError>,
}

/// A conversation's allowance ([`BURST`], refilled one per [`PACE`]).
#[derive(Debug, Clone, Copy)]
struct Allowance {
    tokens: f64,
    at: Instant,
}

impl Allowance {
    fn full(now: Instant) -> Allowance {
        Allowance {
            tokens: BURST,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let gained = now.duration_since(self.at).as_secs_f64() / PACE.as_secs_f64();
        self.tokens = (self.tokens + gained).min(BURST);
        self.at = now;
    }

    /// When the next reply may go, `None` for now (then the token is taken).
    fn take(&mut self, now: Instant) -> Option<Instant> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            None
        } else {
            Some(now + PACE.mul_f64(1.0 - self.tokens))
        }
    }
}

/// The dispatcher's memory: what is in flight, waiting its turn, or paused.
#[derive(Default)]
struct Dispatch {
    /// Conversations with a reply in flight.
    busy: HashSet<String>,
    /// Outbox ids held or in flight: a lease that ran out while a reply waited here must not
    /// make this dispatcher take it a second time.
    known: HashSet<i64>,
    /// Claimed replies waiting for their conversation (order kept) or its allowance.
    waiting: HashMap<String, VecDeque<OutboxItem>>,
    allowances: HashMap<String, Allowance>,
    /// Channels paused by a 429 until then.
    paused: HashMap<String, Instant>,
    /// Sent, not yet recorded (kept across a failed write).
    sent: Vec<i64>,
    /// The earliest moment something held here may go (or a retry comes due).
    next_wake: Option<Instant>,
    held: usize,
}

impl Dispatch {
    fn wake_at(&mut self, at: Instant) {
        self.next_wake = Some(self.next_wake.map_or(at, |w| w.min(at)));
    }
}

/// The conversation a reply goes to, for ordering and pacing.
fn conversation_key(item: &OutboxItem) -> String {
    let conversation = item.payload["conversation"].as_str().unwrap_or_default();
    format!("{}:{conversation}", item.channel)
}

impl OutboxWorker {
    /// Sends due replies until `stop` turns true; replies in flight are finished and recorded
    /// first, claimed ones not yet started are left for the next start (released as unsure).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let this = Arc::new(self);
        let mut flights: JoinSet<Sent> = JoinSet::new();
        let mut state = Dispatch::default();
        let mut claim_now = true;
        loop {
            if *stop.borrow() {
                break;
            }
            this.start_ready(&mut state, &mut flights);
            let room = MAX_IN_FLIGHT.saturating_sub(flights.len() + state.held);
            if claim_now && room > 0 {
                claim_now = false;
                match this.claim(room).await {
                    Ok(items) => {
                        // a full batch: more may be due
                        claim_now = items.len() as i64 == CLAIM_BATCH.min(room as i64);
                        for item in items {
                            if !state.known.insert(item.id) {
                                continue;
                            }
                            state.held += 1;
                            state
                                .waiting
                                .entry(conversation_key(&item))
                                .or_default()
                                .push_back(item);
                        }
                        this.start_ready(&mut state, &mut flights);
                    }
                    Err(err) => tracing::warn!(error = %err, "reading the outbox failed"),
                }
            }
            let sleep_until = state
                .next_wake
                .unwrap_or_else(|| Instant::now() + IDLE_POLL)
                .min(Instant::now() + IDLE_POLL);
            tokio::select! {
                Some(joined) = flights.join_next(), if !flights.is_empty() => {
                    let mut done = vec![joined];
                    while let Some(more) = flights.try_join_next() {
                        done.push(more);
                    }
                    for sent in done.into_iter().flatten() {
                        this.settle(&mut state, sent).await;
                    }
                    this.record_sent(&mut state).await;
                    // capacity came free
                    claim_now = true;
                }
                _ = this.wake.notified() => claim_now = true,
                _ = tokio::time::sleep_until(sleep_until.into()) => {
                    if state.next_wake.is_some_and(|w| w <= Instant::now()) {
                        state.next_wake = None;
                    }
                    claim_now = true;
                }
                _ = stop.changed() => {}
            }
        }
        // finish what is in flight and record it, so a clean stop leaves nothing unsure
        while let Some(joined) = flights.join_next().await {
            if let Ok(sent) = joined {
                this.settle(&mut state, sent).await;
            }
        }
        this.record_sent(&mut state).await;
    }

    async fn claim(&self, room: usize) -> Result<Vec<OutboxItem>, StoreError> {
        let now = now_ms();
        self.store
            .claim_replies(
                now,
                now + self.lease.as_millis() as i64,
                CLAIM_BATCH.min(room as i64),
            )
            .await
    }

    /// Starts every waiting reply whose conversation is free, whose allowance has room and
    /// whose channel is not paused.
    fn start_ready(self: &Arc<Self>, state: &mut Dispatch, flights: &mut JoinSet<Sent>) {
        let now = Instant::now();
        state.paused.retain(|_, until| *until > now);
        let keys: Vec<String> = state
            .waiting
            .keys()
            .filter(|key| !state.busy.contains(*key))
            .cloned()
            .collect();
        for key in keys {
            let Some(queue) = state.waiting.get_mut(&key) else {
                continue;
            };
            let Some(channel) = queue.front().map(|item| item.channel.clone()) else {
                state.waiting.remove(&key);
                continue;
            };
            if let Some(until) = state.paused.get(&channel).copied() {
                state.next_wake = Some(state.next_wake.map_or(until, |w| w.min(until)));
                continue;
            }
            let allowance = state
                .allowances
                .entry(key.clone())
                .or_insert_with(|| Allowance::full(now));
            if let Some(at) = allowance.take(now) {
                state.wake_at(at);
                continue;
            }
            let item = queue.pop_front().expect("checked above");
            if queue.is_empty() {
                state.waiting.remove(&key);
            }
            state.held -= 1;
            state.busy.insert(key.clone());
            let this = self.clone();
            flights.spawn(async move {
                let outcome = this.send(&item).await;
                Sent { item, key, outcome }
            });
        }
        if state.allowances.len() > 10_000 {
            // forget conversations whose allowance is full again
            state.allowances.retain(|_, a| {
                a.refill(now);
                a.tokens < BURST
            });
        }
    }

    /// Sends one reply and says how it went (nothing is recorded here).
    #[tracing::instrument(skip_all, fields(outbox_id = item.id, channel = %item.channel, attempt = item.attempts, unsure = item.unsure))]
    async fn send(&self, item: &OutboxItem) -> Result<(), SendError> {
        match (
            self.senders.get(&item.channel),
            <OutgoingReply as serde::Deserialize>::deserialize(&item.payload),
        ) {
            (Some(sender), Ok(mut reply)) => {
                // queued in the transaction that assigned it: known here, not before
                reply.reply.conversation_id = Some(item.conversation_id);
                let attempt = Attempt {
                    outbox_id: item.id,
                    unsure: item.unsure,
                };
                sender.send(&reply, attempt).await
            }
            (None, _) => Err(SendError::Permanent(format!(
                "no sender for channel {}",
                item.channel
            ))),
            (_, Err(err)) => Err(SendError::Permanent(format!("unreadable reply: {err}"))),
        }
    }

    /// Books a finished send: sent replies are recorded with the next batch; failures are
    /// rescheduled (a 429 pauses the channel).
    async fn settle(&self, state: &mut Dispatch, sent: Sent) {
        state.busy.remove(&sent.key);
        state.known.remove(&sent.item.id);
        let Sent { item, outcome, .. } = sent;
        match outcome {
            Ok(()) => state.sent.push(item.id),
            Err(err) => {
                if let SendError::Retry {
                    after: Some(after), ..
                } = &err
                {
                    let until = Instant::now() + *after;
                    let paused = state.paused.entry(item.channel.clone()).or_insert(until);
                    *paused = (*paused).max(until);
                    state.wake_at(until);
                    tracing::warn!(channel = %item.channel, pause = ?after, "rate limited: the channel's replies wait");
                }
                if let Err(store) = self.reschedule(&item, &err).await {
                    tracing::warn!(error = %store, outbox_id = item.id, "recording a failed send failed; the reply is retried when its lease ends");
                }
                if let Some(due) = self.backoff.delay(item.attempts) {
                    state.wake_at(Instant::now() + due);
                }
            }
        }
    }

    async fn reschedule(&self, item: &OutboxItem, err: &SendError) -> Result<(), StoreError> {
        self.metrics
            .reply_failures
            .with_label_values(&[item.channel.as_str()])
            .inc();
        let next = match err {
            SendError::Retry { after, .. } => self
                .backoff
                .delay(item.attempts)
                .map(|d| after.map_or(d, |a| a.max(d))),
            SendError::Unknown(_) => self.backoff.delay(item.attempts),
            SendError::Permanent(_) => None,
        };
        let unsure = matches!(err, SendError::Unknown(_));
        tracing::warn!(error = %err, retry_in = ?next, "sending a reply failed");
        self.store
            .reschedule_reply(
                item.id,
                next.map(|d| now_ms() + d.as_millis() as i64),
                &err.to_string(),
                unsure,
            )
            .await
    }

    /// Records the sent replies in one statement; on failure they are kept and recorded with
    /// the next batch (until then their rows stay `sending`, so a crash makes them unsure,
    /// never sent twice blindly).
    async fn record_sent(&self, state: &mut Dispatch) {
        if state.sent.is_empty() {
            return;
        }
        match self.store.mark_replies_sent(&state.sent, now_ms()).await {
            Ok(()) => state.sent.clear(),
            Err(err) => {
                tracing::warn!(error = %err, replies = state.sent.len(), "recording sent replies failed; trying again");
                state.wake_at(Instant::now() + Duration::from_millis(500));
            }
        }
    }

    /// Claims and sends one due reply, recording the outcome; false when none was due. The
    /// sequential form of [`OutboxWorker::run`], for tests and tools.
    pub async fn send_next(&self) -> Result<bool, StoreError> {
        let now = now_ms();
        let Some(item) = self
            .store
            .claim_replies(now, now + self.lease.as_millis() as i64, 1)
            .await?
            .pop()
        else {
            return Ok(false);
        };
        match self.send(&item).await {
            Ok(()) => self.store.mark_replies_sent(&[item.id], now_ms()).await?,
            Err(err) => self.reschedule(&item, &err).await?,
        }
        Ok(true)
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

    #[test]
    fn a_conversation_gets_a_short_burst_then_one_reply_a_second() {
        let start = Instant::now();
        let mut allowance = Allowance::full(start);
        for _ in 0..3 {
            assert_eq!(allowance.take(start), None);
        }
        let next = allowance.take(start).expect("the burst is spent");
        assert_eq!(next - start, PACE);
        assert_eq!(allowance.take(start + PACE), None);
        assert!(allowance.take(start + PACE).is_some());
    }
}
