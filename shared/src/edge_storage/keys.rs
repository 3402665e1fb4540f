//! Order-preserving binary key encodings.
//!
//! A key is a sequence of components. A string component is its UTF-8 bytes followed by a
//! 0x00 terminator (strings never contain NUL: ids are `[A-Za-z0-9_-]`, instance keys and
//! event ids are checked before they reach storage). A number is 8 bytes big-endian. Both
//! sort like the values they encode, and a string's terminator sorts below every byte that
//! can follow it, so `("a", ..)` sorts before `("ab", ..)` and every key with a given leading
//! tuple (a tenant, or a tenant and a saga) lies in one contiguous range that starts with
//! the encoded prefix.

use super::StorageError;

/// One byte per table in the `stats` table's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum TableCode {
    Sagas = 1,
    Dedupe = 2,
    Checkpoints = 3,
    Outbox = 4,
    Schedules = 5,
}

impl TableCode {
    pub const ALL: [TableCode; 5] = [
        TableCode::Sagas,
        TableCode::Dedupe,
        TableCode::Checkpoints,
        TableCode::Outbox,
        TableCode::Schedules,
    ];

    pub fn from_u8(b: u8) -> Option<TableCode> {
        Self::ALL.into_iter().find(|c| *c as u8 == b)
    }

    /// The table this code counts.
    pub fn table(self) -> super::TableId {
        match self {
            TableCode::Sagas => super::TableId::Sagas,
            TableCode::Dedupe => super::TableId::Dedupe,
            TableCode::Checkpoints => super::TableId::Checkpoints,
            TableCode::Outbox => super::TableId::Outbox,
            TableCode::Schedules => super::TableId::Schedules,
        }
    }
}

/// Builds a key component by component.
#[derive(Debug, Default, Clone)]
pub struct KeyBuf(Vec<u8>);

impl KeyBuf {
    pub fn new() -> Self {
        Self(Vec::with_capacity(64))
    }

    /// Appends a string component. Fails if it contains NUL.
    pub fn str(mut self, s: &str) -> Result<Self, StorageError> {
        if s.as_bytes().contains(&0) {
            return Err(StorageError::InvalidKey(format!(
                "{s:?} contains a NUL byte, which keys cannot hold"
            )));
        }
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
        Ok(self)
    }

    pub fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }

    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

/// Reads a key component by component.
pub struct KeyReader<'a> {
    rest: &'a [u8],
}

impl<'a> KeyReader<'a> {
    pub fn new(key: &'a [u8]) -> Self {
        Self { rest: key }
    }

    pub fn str(&mut self) -> Result<&'a str, StorageError> {
        let end = self.rest.iter().position(|b| *b == 0).ok_or_else(|| {
            StorageError::Corrupt("key string component is not terminated".into())
        })?;
        let s = std::str::from_utf8(&self.rest[..end])
            .map_err(|_| StorageError::Corrupt("key string component is not UTF-8".into()))?;
        self.rest = &self.rest[end + 1..];
        Ok(s)
    }

    pub fn u64(&mut self) -> Result<u64, StorageError> {
        if self.rest.len() < 8 {
            return Err(StorageError::Corrupt(
                "key number component is short".into(),
            ));
        }
        let (n, rest) = self.rest.split_at(8);
        self.rest = rest;
        Ok(u64::from_be_bytes(n.try_into().expect("8 bytes")))
    }

    pub fn u8(&mut self) -> Result<u8, StorageError> {
        let (&b, rest) = self
            .rest
            .split_first()
            .ok_or_else(|| StorageError::Corrupt("key is short".into()))?;
        self.rest = rest;
        Ok(b)
    }

    /// Fails unless every byte was consumed.
    pub fn end(self) -> Result<(), StorageError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(StorageError::Corrupt("key has trailing bytes".into()))
        }
    }
}

/// `tenant`
pub fn tenant_prefix(tenant: &str) -> Result<Vec<u8>, StorageError> {
    Ok(KeyBuf::new().str(tenant)?.into_vec())
}

/// `tenant, saga`: the prefix of a tenant+saga's instances, dedupe markers and timers, and
/// the whole key of its checkpoint.
pub fn saga_prefix(tenant: &str, saga: &str) -> Result<Vec<u8>, StorageError> {
    Ok(KeyBuf::new().str(tenant)?.str(saga)?.into_vec())
}

/// `sagas` table: `tenant, saga, instance key`
pub fn instance_key(tenant: &str, saga: &str, key: &str) -> Result<Vec<u8>, StorageError> {
    Ok(KeyBuf::new().str(tenant)?.str(saga)?.str(key)?.into_vec())
}

/// `dedupe` table, a producer's event: `tenant, saga, event id`. Event ids are never empty
/// (the runner dead-letters an event without one), which keeps them apart from timers.
pub fn dedupe_key(tenant: &str, saga: &str, event_id: &str) -> Result<Vec<u8>, StorageError> {
    if event_id.is_empty() {
        return Err(StorageError::InvalidKey(
            "an event id in the dedupe table cannot be empty".into(),
        ));
    }
    instance_key(tenant, saga, event_id)
}

/// `dedupe` table, a fired timer: `tenant, saga, "", instance key, timer name, due ms`. The
/// empty third component is what no event id can be, so a producer's id can never stand
/// for a timer (or the other way round), and the markers of one tenant+saga stay in its
/// key range.
pub fn timer_marker_key(
    tenant: &str,
    saga: &str,
    key: &str,
    timer: &str,
    due_ms: u64,
) -> Result<Vec<u8>, StorageError> {
    Ok(KeyBuf::new()
        .str(tenant)?
        .str(saga)?
        .str("")?
        .str(key)?
        .str(timer)?
        .u64(due_ms)
        .into_vec())
}

/// What a `dedupe` key marks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Marked<'a> {
    /// A producer's event, by id.
    Event(&'a str),
    /// A fired timer of one instance.
    Timer {
        key: &'a str,
        timer: &'a str,
        due_ms: u64,
    },
}

impl std::fmt::Display for Marked<'_> {
    /// The event id, or `timer <name> of <key> due <ms>` (what people read in listings).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Marked::Event(id) => f.write_str(id),
            Marked::Timer { key, timer, due_ms } => {
                write!(f, "timer {timer} of {key} due {due_ms}")
            }
        }
    }
}

/// Decoded `(tenant, saga, what)` key of the `dedupe` table.
pub fn decode_dedupe(key: &[u8]) -> Result<(&str, &str, Marked<'_>), StorageError> {
    let mut r = KeyReader::new(key);
    let (t, s, id) = (r.str()?, r.str()?, r.str()?);
    let marked = if id.is_empty() {
        Marked::Timer {
            key: r.str()?,
            timer: r.str()?,
            due_ms: r.u64()?,
        }
    } else {
        Marked::Event(id)
    };
    r.end()?;
    Ok((t, s, marked))
}

/// `checkpoints` table: `tenant, saga`
pub fn checkpoint_key(tenant: &str, saga: &str) -> Result<Vec<u8>, StorageError> {
    saga_prefix(tenant, saga)
}

/// `outbox` table: the outbox sequence alone. The outbox is a queue, normally near empty:
/// keyed by a volume-wide sequence, writes append at its end and the relay takes from its
/// head, in the order the entries were written. (A tenant prefix would scatter both over
/// the table; per-tenant counts come from `stats`, and each entry names its tenant.)
pub fn outbox_key(seq: u64) -> Vec<u8> {
    KeyBuf::new().u64(seq).into_vec()
}

/// `schedules` table: `tenant, saga, due time (ms), instance key, timer name`
pub fn schedule_key(
    tenant: &str,
    saga: &str,
    due_ms: u64,
    key: &str,
    timer: &str,
) -> Result<Vec<u8>, StorageError> {
    Ok(KeyBuf::new()
        .str(tenant)?
        .str(saga)?
        .u64(due_ms)
        .str(key)?
        .str(timer)?
        .into_vec())
}

/// `cursors` table: `tenant`
pub fn cursor_key(tenant: &str) -> Result<Vec<u8>, StorageError> {
    tenant_prefix(tenant)
}

/// `stats` table: `tenant, saga, table code`
pub fn stats_key(tenant: &str, saga: &str, table: TableCode) -> Result<Vec<u8>, StorageError> {
    Ok(KeyBuf::new()
        .str(tenant)?
        .str(saga)?
        .u8(table as u8)
        .into_vec())
}

/// Decoded `(tenant, saga, third string)` key of the `sagas` or `dedupe` table.
pub fn decode_three(key: &[u8]) -> Result<(&str, &str, &str), StorageError> {
    let mut r = KeyReader::new(key);
    let out = (r.str()?, r.str()?, r.str()?);
    r.end()?;
    Ok(out)
}

/// Decoded `(tenant, saga)` key of the `checkpoints` table.
pub fn decode_two(key: &[u8]) -> Result<(&str, &str), StorageError> {
    let mut r = KeyReader::new(key);
    let out = (r.str()?, r.str()?);
    r.end()?;
    Ok(out)
}

/// Decoded sequence of an `outbox` key.
pub fn decode_outbox(key: &[u8]) -> Result<u64, StorageError> {
    let mut r = KeyReader::new(key);
    let out = r.u64()?;
    r.end()?;
    Ok(out)
}

/// A decoded `schedules` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleKey<'a> {
    pub tenant: &'a str,
    pub saga: &'a str,
    pub due_ms: u64,
    pub key: &'a str,
    pub timer: &'a str,
}

pub fn decode_schedule(key: &[u8]) -> Result<ScheduleKey<'_>, StorageError> {
    let mut r = KeyReader::new(key);
    let out = ScheduleKey {
        tenant: r.str()?,
        saga: r.str()?,
        due_ms: r.u64()?,
        key: r.str()?,
        timer: r.str()?,
    };
    r.end()?;
    Ok(out)
}

/// Decoded `(tenant, saga, table)` key of the `stats` table.
pub fn decode_stats(key: &[u8]) -> Result<(&str, &str, TableCode), StorageError> {
    let mut r = KeyReader::new(key);
    let (t, s, c) = (r.str()?, r.str()?, r.u8()?);
    r.end()?;
    let c = TableCode::from_u8(c)
        .ok_or_else(|| StorageError::Corrupt(format!("unknown table code {c} in stats")))?;
    Ok((t, s, c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn component() -> impl Strategy<Value = String> {
        // Any string without NUL, including the empty string and non-ASCII text.
        "[^\u{0}]{0,12}"
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::proptest_cases()))]

        #[test]
        fn instance_keys_round_trip(t in component(), s in component(), k in component()) {
            let enc = instance_key(&t, &s, &k).unwrap();
            prop_assert_eq!(decode_three(&enc).unwrap(), (t.as_str(), s.as_str(), k.as_str()));
        }

        /// Event and timer markers decode to what made them, stay in their tenant+saga's
        /// range, and never share a key.
        #[test]
        fn dedupe_keys_tell_events_from_timers(
            t in "[a-z]{1,4}", s in "[a-z]{1,4}", id in "[^\u{0}]{1,12}",
            k in component(), tm in component(), due in any::<u64>(),
        ) {
            let ev = dedupe_key(&t, &s, &id).unwrap();
            let tk = timer_marker_key(&t, &s, &k, &tm, due).unwrap();
            prop_assert_ne!(&ev, &tk);
            prop_assert_eq!(decode_dedupe(&ev).unwrap(), (t.as_str(), s.as_str(), Marked::Event(&id)));
            prop_assert_eq!(
                decode_dedupe(&tk).unwrap(),
                (t.as_str(), s.as_str(), Marked::Timer { key: &k, timer: &tm, due_ms: due })
            );
            let prefix = saga_prefix(&t, &s).unwrap();
            prop_assert!(ev.starts_with(&prefix) && tk.starts_with(&prefix));
            prop_assert!(dedupe_key(&t, &s, "").is_err());
        }

        #[test]
        fn instance_keys_sort_like_tuples(
            a in (component(), component(), component()),
            b in (component(), component(), component()),
        ) {
            let ea = instance_key(&a.0, &a.1, &a.2).unwrap();
            let eb = instance_key(&b.0, &b.1, &b.2).unwrap();
            let ta = (a.0.as_bytes(), a.1.as_bytes(), a.2.as_bytes());
            let tb = (b.0.as_bytes(), b.1.as_bytes(), b.2.as_bytes());
            prop_assert_eq!(ea.cmp(&eb), ta.cmp(&tb));
        }

        #[test]
        fn a_tenant_is_one_contiguous_range(
            a in (component(), component(), component()),
            b in (component(), component(), component()),
            c in (component(), component(), component()),
        ) {
            // If a <= b <= c and a and c share the tenant, b does too.
            let mut v = [a, b, c];
            v.sort_by_key(|x| instance_key(&x.0, &x.1, &x.2).unwrap());
            if v[0].0 == v[2].0 {
                prop_assert_eq!(&v[1].0, &v[0].0);
            }
            let p = tenant_prefix(&v[0].0).unwrap();
            prop_assert!(instance_key(&v[0].0, &v[0].1, &v[0].2).unwrap().starts_with(&p));
        }

        #[test]
        fn schedule_keys_round_trip_and_sort_by_due(
            t in component(), s in component(), d1 in any::<u64>(), d2 in any::<u64>(),
            k in component(), n in component(),
        ) {
            let e1 = schedule_key(&t, &s, d1, &k, &n).unwrap();
            let e2 = schedule_key(&t, &s, d2, &k, &n).unwrap();
            prop_assert_eq!(e1.cmp(&e2), d1.cmp(&d2));
            let dk = decode_schedule(&e1).unwrap();
            prop_assert_eq!((dk.tenant, dk.saga, dk.due_ms, dk.key, dk.timer), (t.as_str(), s.as_str(), d1, k.as_str(), n.as_str()));
        }

        #[test]
        fn outbox_keys_keep_write_order(a in any::<u64>(), b in any::<u64>()) {
            let ea = outbox_key(a);
            let eb = outbox_key(b);
            prop_assert_eq!(ea.cmp(&eb), a.cmp(&b));
            prop_assert_eq!(decode_outbox(&ea).unwrap(), a);
        }

        #[test]
        fn decoders_never_panic_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_three(&bytes);
            let _ = decode_two(&bytes);
            let _ = decode_outbox(&bytes);
            let _ = decode_schedule(&bytes);
            let _ = decode_stats(&bytes);
        }

        /// Garbage that looks like keys: NUL-separated components (some not UTF-8) and
        /// 8-byte numbers, in any order and number. Every decoder returns a value or an
        /// error with a message, and a decoded key re-encodes to the same bytes.
        #[test]
        fn decoders_on_key_shaped_garbage_round_trip_or_explain(
            parts in proptest::collection::vec(
                prop_oneof![
                    proptest::collection::vec(1u8..=255, 0..6).prop_map(|mut v| { v.push(0); v }),
                    any::<u64>().prop_map(|n| n.to_be_bytes().to_vec()),
                    any::<u8>().prop_map(|b| vec![b]),
                ],
                0..7,
            ),
        ) {
            let bytes = parts.concat();
            match decode_three(&bytes) {
                Ok((t, s, k)) => prop_assert_eq!(instance_key(t, s, k).unwrap(), bytes.clone()),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            match decode_two(&bytes) {
                Ok((t, s)) => prop_assert_eq!(checkpoint_key(t, s).unwrap(), bytes.clone()),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            match decode_outbox(&bytes) {
                Ok(n) => prop_assert_eq!(outbox_key(n), bytes.clone()),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            match decode_schedule(&bytes) {
                Ok(d) => prop_assert_eq!(
                    schedule_key(d.tenant, d.saga, d.due_ms, d.key, d.timer).unwrap(),
                    bytes.clone()
                ),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            match decode_stats(&bytes) {
                Ok((t, s, c)) => prop_assert_eq!(stats_key(t, s, c).unwrap(), bytes.clone()),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }

        /// A strict prefix of a valid key, or a valid key with bytes after it, is an error:
        /// a cut or padded key never decodes as another key.
        #[test]
        fn cut_or_padded_keys_are_errors(
            t in component(), s in component(), d in any::<u64>(), k in component(),
            n in component(), code in prop::sample::select(TableCode::ALL.to_vec()),
            cut in any::<prop::sample::Index>(),
            pad in proptest::collection::vec(any::<u8>(), 1..4),
        ) {
            let three = instance_key(&t, &s, &k).unwrap();
            let sched = schedule_key(&t, &s, d, &k, &n).unwrap();
            let stats = stats_key(&t, &s, code).unwrap();
            prop_assert!(decode_three(&three[..cut.index(three.len())]).is_err());
            prop_assert!(decode_schedule(&sched[..cut.index(sched.len())]).is_err());
            prop_assert!(decode_stats(&stats[..cut.index(stats.len())]).is_err());
            prop_assert!(decode_outbox(&outbox_key(d)[..cut.index(8)]).is_err());
            prop_assert!(decode_three(&[three.as_slice(), &pad].concat()).is_err());
            prop_assert!(decode_schedule(&[sched.as_slice(), &pad].concat()).is_err());
            prop_assert!(decode_stats(&[stats.as_slice(), &pad].concat()).is_err());
            prop_assert!(decode_outbox(&[outbox_key(d).as_slice(), &pad].concat()).is_err());
        }

        /// Components holding NUL are refused with a reason, never encoded.
        #[test]
        fn components_with_nul_are_refused(a in "[^\u{0}]{0,6}", b in "[^\u{0}]{0,6}") {
            let bad = format!("{a}\0{b}");
            for r in [
                instance_key(&bad, "s", "k"),
                instance_key("t", &bad, "k"),
                instance_key("t", "s", &bad),
                schedule_key("t", "s", 1, "k", &bad),
                stats_key(&bad, "s", TableCode::Sagas),
            ] {
                prop_assert!(r.unwrap_err().to_string().contains("NUL"));
            }
        }
    }

    #[test]
    fn nul_is_refused_with_a_reason() {
        let e = instance_key("t", "s", "a\0b").unwrap_err().to_string();
        assert!(e.contains("NUL"), "{e}");
    }

    #[test]
    fn stats_keys_round_trip() {
        let k = stats_key("t1", "order", TableCode::Outbox).unwrap();
        assert_eq!(
            decode_stats(&k).unwrap(),
            ("t1", "order", TableCode::Outbox)
        );
    }
}
