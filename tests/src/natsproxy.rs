//! A NATS proxy that reads the client protocol: it forwards everything, except publishes
//! (requests included) whose subject starts with a prefix the test chose, which it drops
//! so they never reach the server. That is how a test makes one kind of call fail while
//! everything else works: a KV read (`$JS.API.STREAM.INFO.KV_<bucket>`), a claim write
//! (`$KV.<bucket>.claim.<tenant>`), the commands of one runner (`cmd.`), as a JetStream
//! leader election or a partial partition would. It can also cut every connection and
//! refuse new ones for a while, like the TCP proxy.
//!
//! The client protocol is line-based: `PUB <subject> [reply] <bytes>` and
//! `HPUB <subject> [reply] <header bytes> <total bytes>` are followed by their payload and
//! `\r\n`; every other operation is one line. Server to client is copied as it is.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct Rules {
    up: AtomicBool,
    drop_prefixes: Mutex<Vec<String>>,
    dropped: AtomicU64,
    conns: Mutex<Vec<tokio::task::AbortHandle>>,
}

impl Rules {
    fn drops(&self, subject: &[u8]) -> bool {
        let prefixes = self.drop_prefixes.lock().expect("lock");
        prefixes.iter().any(|p| subject.starts_with(p.as_bytes()))
    }
}

pub struct NatsProxy {
    pub port: u16,
    rules: Arc<Rules>,
    accept: tokio::task::JoinHandle<()>,
}

impl NatsProxy {
    /// A proxy on a free loopback port in front of the server on `target_port`.
    pub async fn start(target_port: u16) -> Result<NatsProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let rules = Arc::new(Rules::default());
        rules.up.store(true, Ordering::SeqCst);
        let accept = tokio::spawn({
            let rules = rules.clone();
            async move {
                while let Ok((inbound, _)) = listener.accept().await {
                    if !rules.up.load(Ordering::SeqCst) {
                        drop(inbound);
                        continue;
                    }
                    let task = tokio::spawn(serve(inbound, target_port, rules.clone()));
                    rules.conns.lock().expect("lock").push(task.abort_handle());
                }
            }
        });
        Ok(NatsProxy {
            port,
            rules,
            accept,
        })
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// From now on, publishes and requests to subjects starting with `prefix` are dropped.
    pub fn drop_publishes(&self, prefix: &str) {
        self.rules
            .drop_prefixes
            .lock()
            .expect("lock")
            .push(prefix.to_string());
    }

    /// Lets every publish through again.
    pub fn allow_all(&self) {
        self.rules.drop_prefixes.lock().expect("lock").clear();
    }

    /// How many publishes were dropped so far.
    pub fn dropped(&self) -> u64 {
        self.rules.dropped.load(Ordering::SeqCst)
    }

    /// Drops every connection and refuses new ones until [`restore`](Self::restore).
    pub fn sever(&self) {
        self.rules.up.store(false, Ordering::SeqCst);
        for c in self.rules.conns.lock().expect("lock").drain(..) {
            c.abort();
        }
    }

    pub fn restore(&self) {
        self.rules.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for NatsProxy {
    fn drop(&mut self) {
        self.sever();
        self.accept.abort();
    }
}

async fn serve(inbound: TcpStream, target_port: u16, rules: Arc<Rules>) {
    let Ok(outbound) = TcpStream::connect(("127.0.0.1", target_port)).await else {
        return;
    };
    let (mut ci, mut co) = inbound.into_split();
    let (mut si, mut so) = outbound.into_split();
    let down = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut si, &mut co).await;
    });
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    'conn: loop {
        let n = match ci.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        while let Some(eol) = buf.windows(2).position(|w| w == b"\r\n") {
            let line = &buf[..eol];
            let mut parts = line
                .split(|b| *b == b' ' || *b == b'\t')
                .filter(|p| !p.is_empty());
            let op = parts.next().unwrap_or_default().to_ascii_uppercase();
            let args: Vec<&[u8]> = parts.collect();
            let (frame_len, subject) = match op.as_slice() {
                b"PUB" | b"HPUB" => {
                    let total = args
                        .last()
                        .and_then(|n| std::str::from_utf8(n).ok())
                        .and_then(|n| n.parse::<usize>().ok())
                        .unwrap_or(0);
                    (eol + 2 + total + 2, args.first().map(|s| s.to_vec()))
                }
                _ => (eol + 2, None),
            };
            if buf.len() < frame_len {
                break;
            }
            let frame: Vec<u8> = buf.drain(..frame_len).collect();
            if subject.as_deref().is_some_and(|s| rules.drops(s)) {
                rules.dropped.fetch_add(1, Ordering::SeqCst);
                continue;
            }
            if so.write_all(&frame).await.is_err() {
                break 'conn;
            }
        }
    }
    down.abort();
}
