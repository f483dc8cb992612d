//! A download: its URL and the checksum it is checked against.

use std::fmt;
use std::str::FromStr;

/// A checksum for a download: the length of the hex says which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checksum {
    Sha1([u8; 20]),
    Sha256([u8; 32]),
}

impl Checksum {
    pub fn algorithm_name(&self) -> &'static str {
        match self {
            Checksum::Sha1(_) => "sha1",
            Checksum::Sha256(_) => "sha256",
        }
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Checksum::Sha1(b) => f.write_str(&hex::encode(b)),
            Checksum::Sha256(b) => f.write_str(&hex::encode(b)),
        }
    }
}

impl FromStr for Checksum {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("is not hexadecimal".to_string());
        }
        match hex::decode(s) {
            Ok(bytes) if bytes.len() == 20 => {
                Ok(Checksum::Sha1(bytes.try_into().expect("20 bytes")))
            }
            Ok(bytes) if bytes.len() == 32 => {
                Ok(Checksum::Sha256(bytes.try_into().expect("32 bytes")))
            }
            _ => Err(format!(
                "has {} hex digits; a sha1 has 40 and a sha256 64",
                s.len()
            )),
        }
    }
}

/// A download: URL and, unless explicitly allowed, its checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub url: String,
    pub checksum: Option<Checksum>,
}
