//! Validation of tenant ids, saga names and shard ids: `[A-Za-z0-9_-]{1,64}`.
//!
//! The same rule makes each of them a single NATS subject token and lets the storage key
//! codecs end a component with a 0x00 byte.

use std::fmt;

/// Longest tenant id, saga name or shard id, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{kind} is empty (allowed: 1-64 of A-Z a-z 0-9 _ -)")]
    Empty { kind: &'static str },
    #[error("{kind} '{value}' is {len} bytes long; the limit is 64")]
    TooLong {
        kind: &'static str,
        value: String,
        len: usize,
    },
    #[error("{kind} '{value}' contains '{ch}' (allowed: A-Z a-z 0-9 _ -)")]
    BadChar {
        kind: &'static str,
        value: String,
        ch: char,
    },
}

fn check(kind: &'static str, s: &str) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if let Some(ch) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(IdError::BadChar {
            kind,
            value: s.chars().take(80).collect(),
            ch,
        });
    }
    if s.len() > MAX_ID_LEN {
        return Err(IdError::TooLong {
            kind,
            value: s.chars().take(80).collect(),
            len: s.len(),
        });
    }
    Ok(())
}

/// True when `s` is a valid tenant id, saga name or shard id (no allocation).
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Validates `s` and wraps it.
            pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
                let s = s.into();
                check($kind, &s)?;
                Ok(Self(s))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// A tenant id: one subject token of `evt.<tenant>.<saga>`.
    TenantId,
    "tenant id"
);
id_type!(
    /// A saga name, as declared in the saga file: one subject token of `evt.<tenant>.<saga>`.
    SagaName,
    "saga name"
);
id_type!(
    /// A shard id: the value of a placement key and the name of a runner's volume.
    ShardId,
    "shard id"
);

/// Parses a comma-separated list of tenant ids (blanks around commas are ignored).
pub fn parse_tenant_list(s: &str) -> Result<Vec<TenantId>, IdError> {
    let mut out: Vec<TenantId> = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let t = TenantId::new(part)?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_alphabet() {
        assert!(TenantId::new("acme-01_EU").is_ok());
        assert!(TenantId::new("a".repeat(64)).is_ok());
    }

    #[test]
    fn rejects_with_a_specific_reason() {
        assert_eq!(
            TenantId::new("").unwrap_err(),
            IdError::Empty { kind: "tenant id" }
        );
        let e = TenantId::new("t.1").unwrap_err().to_string();
        assert!(e.contains("contains '.'"), "{e}");
        let e = SagaName::new("a".repeat(65)).unwrap_err().to_string();
        assert!(e.contains("65 bytes"), "{e}");
        assert!(TenantId::new("t\u{0}").is_err());
        assert!(TenantId::new("ténant").is_err());
    }

    #[test]
    fn tenant_lists_are_trimmed_and_deduplicated() {
        let l = parse_tenant_list(" t1, t2,,t1 ").unwrap();
        assert_eq!(
            l.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            ["t1", "t2"]
        );
        assert!(parse_tenant_list("t1,t 2").is_err());
    }
}
