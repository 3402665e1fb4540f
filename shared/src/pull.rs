//! Reading a pull consumer: pull requests kept ahead of the reader, counted when they are
//! sent.
//!
//! Why not `PullConsumer::messages()` (async-nats 0.51): it sends its pull requests from a
//! task of its own and counts a request's messages only when that task reports the request
//! sent. When the server's answer arrives first (often: the request is a publish and the
//! task may not be scheduled before the reply), the messages are counted against nothing
//! and the request then counted in full, so the stream believes a batch is still coming,
//! asks for no more, and stalls until two idle heartbeats are missed (a tenant reader's
//! 28 s; docs/decisions.md, decision 51). Here one task both sends the requests and reads
//! the answers, so a request is always counted before any of its messages is seen.
//!
//! The protocol is JetStream's (ADR-13, ADR-37): a request asks for `batch` messages and
//! expires after `expires`, with an idle heartbeat (status 100) while it waits; a request
//! that ends short (expired, or its `max_bytes` used up: "409 Message Size Exceeds
//! MaxBytes") answers 408 or 409 with `Nats-Pending-Messages`, the count it did not deliver.
//! A new request goes once half of what was asked has arrived.
//!
//! A reader that hands messages on to slower work (the engine's commits) keeps reading
//! ahead only as far as its requests reach: while it waits, the server delivers what was
//! asked and no more. Requests as large as a transaction (`batch`, bounded by `max_bytes`)
//! let a transaction fill while the previous one commits.

use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use async_nats::{HeaderMap, StatusCode, Subscriber};
use futures_util::{FutureExt, StreamExt};
use serde::Serialize;
use tokio::time::Instant;

/// How a [`Pull`] asks.
#[derive(Debug, Clone, Copy)]
pub struct PullOptions {
    /// Messages per request.
    pub batch: usize,
    /// Bytes per request, at most (0: no limit). Raised to twice the server's largest
    /// message if below it, so a request can always carry the next message. What a pull
    /// holds while its reader is busy elsewhere is about two requests.
    pub max_bytes: usize,
    /// How long the server keeps a request waiting for messages.
    pub expires: Duration,
    /// The server's idle heartbeat while a request waits; two missed end the pull with
    /// [`PullError::MissedHeartbeat`]. At most half of `expires`.
    pub heartbeat: Duration,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            batch: 500,
            max_bytes: 0,
            expires: Duration::from_secs(30),
            heartbeat: Duration::from_secs(15),
        }
    }
}

/// Why a pull ended. The consumer is best made again (from where the reader stands).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PullError {
    #[error("missed idle heartbeat (no word from the server in {0:?})")]
    MissedHeartbeat(Duration),
    #[error("consumer deleted")]
    ConsumerDeleted,
    #[error("the subscription ended (connection closed)")]
    Closed,
    #[error("no responders for the pull request (no stream or consumer leader)")]
    NoResponders,
    #[error("cannot send a pull request: {0}")]
    Request(String),
    #[error("the server ended the pull: {0}")]
    Server(String),
}

#[derive(Serialize)]
struct Request {
    batch: usize,
    #[serde(skip_serializing_if = "is_zero")]
    max_bytes: usize,
    #[serde(with = "nanos")]
    expires: Duration,
    #[serde(with = "nanos")]
    idle_heartbeat: Duration,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

mod nanos {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_nanos().min(u64::MAX as u128) as u64)
    }
}

/// A pull consumer's messages, in order. Not shared: one task reads it.
pub struct Pull {
    js: jetstream::Context,
    subject: String,
    inbox: async_nats::Subject,
    sub: Subscriber,
    request: bytes::Bytes,
    opts: PullOptions,
    asked: Asked,
    /// When the consumer last answered (a message or a status other than "no responders").
    heard: Instant,
    /// An end met behind messages already returned: the next read reports it.
    ended: Option<PullError>,
}

impl Pull {
    /// Starts pulling from `consumer` (no request goes before the first read).
    pub async fn start(
        js: &jetstream::Context,
        consumer: &consumer::PullConsumer,
        opts: PullOptions,
    ) -> Result<Pull, PullError> {
        let info = consumer.cached_info();
        Self::start_named(js, &info.stream_name, &info.name, opts).await
    }

    /// [`Pull::start`] by names, under the default API prefix `$JS.API`.
    pub async fn start_named(
        js: &jetstream::Context,
        stream: &str,
        consumer: &str,
        opts: PullOptions,
    ) -> Result<Pull, PullError> {
        let client = js.client();
        let inbox: async_nats::Subject = client.new_inbox().into();
        let sub = client
            .subscribe(inbox.clone())
            .await
            .map_err(|e| PullError::Request(e.to_string()))?;
        let largest = client.server_info().max_payload;
        let opts = PullOptions {
            batch: opts.batch.max(1),
            max_bytes: match opts.max_bytes {
                0 => 0,
                n => n.max(largest.saturating_mul(2)),
            },
            heartbeat: opts.heartbeat.min(opts.expires / 2),
            ..opts
        };
        let request = serde_json::to_vec(&Request {
            batch: opts.batch,
            max_bytes: opts.max_bytes,
            expires: opts.expires,
            idle_heartbeat: opts.heartbeat,
        })
        .expect("a pull request serializes");
        Ok(Pull {
            js: js.clone(),
            subject: format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"),
            inbox,
            sub,
            request: request.into(),
            opts,
            asked: Asked::new(opts.batch),
            heard: Instant::now(),
            ended: None,
        })
    }

    /// The next message. Cancel-safe: dropped while waiting, nothing is lost.
    pub async fn next(&mut self) -> Result<jetstream::Message, PullError> {
        let mut v = self.next_chunk(1).await?;
        Ok(v.pop().expect("a chunk holds at least one message"))
    }

    /// The next messages: waits for one, then takes what else has arrived, up to `max`.
    /// Cancel-safe: dropped while waiting, nothing is lost (no wait follows a message
    /// taken).
    pub async fn next_chunk(&mut self, max: usize) -> Result<Vec<jetstream::Message>, PullError> {
        if let Some(e) = self.ended.take() {
            return Err(e);
        }
        let first = loop {
            self.ask().await?;
            let silence = self.opts.heartbeat * 2;
            let m = tokio::select! {
                biased;
                m = self.sub.next() => m.ok_or(PullError::Closed)?,
                _ = tokio::time::sleep_until(Instant::now() + silence) => {
                    return Err(PullError::MissedHeartbeat(silence));
                }
            };
            if let Some(m) = self.take(m)? {
                break m;
            }
        };
        let mut out = Vec::with_capacity(max.clamp(1, 1024));
        out.push(first);
        while out.len() < max {
            let Some(Some(m)) = self.sub.next().now_or_never() else {
                break;
            };
            match self.take(m) {
                Ok(Some(m)) => out.push(m),
                Ok(None) => {}
                // The messages before the end go first; the next read reports it.
                Err(e) => {
                    self.ended = Some(e);
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Sends a request when half of what was asked has arrived.
    ///
    /// A request nobody answered (no consumer leader yet: just created, or a cluster
    /// electing one) is sent again after a pause growing from 50 ms to 1 s, for as long as
    /// two heartbeats; then the pull ends with [`PullError::NoResponders`].
    async fn ask(&mut self) -> Result<(), PullError> {
        if !self.asked.wants_more() {
            return Ok(());
        }
        if self.asked.unanswered > 0 {
            if self.heard.elapsed() >= self.opts.heartbeat * 2 {
                return Err(PullError::NoResponders);
            }
            let pause = Duration::from_millis(50 << self.asked.unanswered.min(5));
            tokio::time::sleep(pause.min(Duration::from_secs(1))).await;
        }
        self.js
            .client()
            .publish_with_reply(
                self.subject.clone(),
                self.inbox.clone(),
                self.request.clone(),
            )
            .await
            .map_err(|e| PullError::Request(e.to_string()))?;
        // Counted in the same poll the send completed in: before any answer is read.
        self.asked.sent();
        Ok(())
    }

    /// A message for the reader, or a status taken into account (`None`).
    fn take(&mut self, m: async_nats::Message) -> Result<Option<jetstream::Message>, PullError> {
        let status = m.status.unwrap_or(StatusCode::OK);
        let what = m.description.as_deref().unwrap_or("");
        let pending = pending(m.headers.as_ref());
        if status != StatusCode::NO_RESPONDERS {
            self.heard = Instant::now();
        }
        match self.asked.answer(status, what, pending)? {
            true => Ok(Some(jetstream::Message {
                message: m,
                context: self.js.clone(),
            })),
            false => Ok(None),
        }
    }
}

/// What was asked and is still to come: the whole of the pull's bookkeeping, apart from
/// the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Asked {
    batch: usize,
    /// Messages asked for and neither delivered nor released by the server.
    outstanding: usize,
    /// Requests in a row that nobody answered (503).
    unanswered: u32,
}

impl Asked {
    fn new(batch: usize) -> Asked {
        Asked {
            batch,
            outstanding: 0,
            unanswered: 0,
        }
    }

    /// Half of what was asked has arrived (or was released): time to ask again.
    fn wants_more(&self) -> bool {
        self.outstanding <= self.batch / 2
    }

    fn sent(&mut self) {
        self.outstanding += self.batch;
    }

    /// Takes one answer of the server into account: `true` for a message to hand on,
    /// `false` for a status that only changes the bookkeeping.
    fn answer(
        &mut self,
        status: StatusCode,
        description: &str,
        pending: Option<usize>,
    ) -> Result<bool, PullError> {
        if status == StatusCode::NO_RESPONDERS {
            // Nobody took the request: nothing of it is coming; ask again (after a pause).
            self.outstanding = 0;
            self.unanswered += 1;
            return Ok(false);
        }
        self.unanswered = 0;
        match status {
            StatusCode::OK => {
                self.outstanding = self.outstanding.saturating_sub(1);
                Ok(true)
            }
            StatusCode::IDLE_HEARTBEAT => Ok(false),
            StatusCode::TIMEOUT | StatusCode::REQUEST_TERMINATED => {
                if description.eq_ignore_ascii_case("Consumer Deleted") {
                    return Err(PullError::ConsumerDeleted);
                }
                match pending {
                    // A request ended short (expired, or ended by the server): what it did
                    // not deliver is no longer coming.
                    Some(n) => {
                        self.outstanding = self.outstanding.saturating_sub(n);
                        Ok(false)
                    }
                    // The server dropped every request (a new consumer leader, a server
                    // shutting down): ask again.
                    None if description.contains("Leadership Change")
                        || description.contains("Shutdown") =>
                    {
                        self.outstanding = 0;
                        Ok(false)
                    }
                    None => Err(PullError::Server(format!(
                        "{} {description}",
                        status.as_u16()
                    ))),
                }
            }
            _ => Err(PullError::Server(format!(
                "{} {description}",
                status.as_u16()
            ))),
        }
    }
}

fn pending(headers: Option<&HeaderMap>) -> Option<usize> {
    headers?
        .get("Nats-Pending-Messages")?
        .as_str()
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HB: StatusCode = StatusCode::IDLE_HEARTBEAT;

    #[test]
    fn a_request_is_counted_before_its_messages_so_the_next_one_goes_in_time() {
        // async-nats counted a request after its messages when its task was preempted
        // between sending and reporting: 1 outstanding with nothing asked, so no more
        // requests. Here the count is made when the send completes, then the answers come.
        let mut a = Asked::new(1);
        for _ in 0..1000 {
            assert!(a.wants_more());
            a.sent();
            assert!(!a.wants_more());
            assert!(a.answer(StatusCode::OK, "", None).unwrap());
        }
        assert_eq!(a.outstanding, 0);
    }

    #[test]
    fn the_next_request_goes_at_half_a_batch() {
        let mut a = Asked::new(10);
        a.sent();
        for i in 0..5 {
            assert!(!a.wants_more(), "after {i}");
            a.answer(StatusCode::OK, "", None).unwrap();
        }
        assert!(a.wants_more());
        a.sent();
        assert_eq!(a.outstanding, 15);
    }

    #[test]
    fn an_expired_request_releases_what_it_did_not_deliver() {
        let mut a = Asked::new(10);
        a.sent();
        a.sent();
        a.answer(StatusCode::OK, "", None).unwrap();
        assert_eq!(
            a.answer(StatusCode::TIMEOUT, "Request Timeout", Some(9)),
            Ok(false)
        );
        assert_eq!(a.outstanding, 10);
        assert_eq!(
            a.answer(StatusCode::TIMEOUT, "Request Timeout", Some(10)),
            Ok(false)
        );
        assert!(a.wants_more());
        // More released than asked (a request of an earlier pull): never below nothing.
        assert_eq!(
            a.answer(StatusCode::REQUEST_TERMINATED, "Batch Completed", Some(50)),
            Ok(false)
        );
        assert_eq!(a.outstanding, 0);
    }

    #[test]
    fn heartbeats_change_nothing_and_a_leader_change_asks_again() {
        let mut a = Asked::new(10);
        a.sent();
        assert_eq!(a.answer(HB, "Idle Heartbeat", None), Ok(false));
        assert_eq!(a.outstanding, 10);
        assert_eq!(
            a.answer(StatusCode::REQUEST_TERMINATED, "Leadership Change", None),
            Ok(false)
        );
        assert!(a.wants_more());
    }

    #[test]
    fn a_request_nobody_answered_is_asked_again() {
        let mut a = Asked::new(10);
        a.sent();
        assert_eq!(a.answer(StatusCode::NO_RESPONDERS, "", None), Ok(false));
        assert_eq!(a.answer(StatusCode::NO_RESPONDERS, "", None), Ok(false));
        assert_eq!((a.outstanding, a.unanswered), (0, 2));
        assert!(a.wants_more());
        a.sent();
        assert_eq!(a.answer(HB, "Idle Heartbeat", None), Ok(false));
        assert_eq!(a.unanswered, 0);
    }

    #[test]
    fn ends_are_reported_by_kind() {
        let mut a = Asked::new(10);
        a.sent();
        assert!(matches!(
            a.answer(StatusCode::REQUEST_TERMINATED, "Consumer Deleted", None),
            Err(PullError::ConsumerDeleted)
        ));
        let e = a
            .answer(StatusCode::REQUEST_TERMINATED, "Exceeded MaxWaiting", None)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the server ended the pull: 409 Exceeded MaxWaiting"
        );
        let e = a
            .answer(StatusCode::from_u16(400).unwrap(), "Bad Request", None)
            .unwrap_err();
        assert!(e.to_string().contains("400 Bad Request"), "{e}");
    }
}
