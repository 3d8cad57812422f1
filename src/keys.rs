//! The store's secret key and what is derived from it: keyed pseudonyms that name a person in
//! the audit trail without personal data, and keyed hashes of verification codes. The key is
//! 32 bytes from the OS RNG, made at `init` and kept in `store_meta`; without it the hashes
//! cannot be reversed by trying every email address.

use hmac::{Hmac, KeyInit, Mac};
use rusqlite::Connection;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

pub struct Keys {
    /// The store's key, as an HMAC keyed once (its inner and outer pads hashed); each MAC starts from a copy.
    keyed: HmacSha256,
}

impl Keys {
    /// Create the store's key (at init).
    pub fn create(conn: &Connection) -> anyhow::Result<()> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("the OS random generator failed: {e}"))?;
        conn.execute("INSERT INTO store_meta (key, value) VALUES ('hmac-key', ?1)", [key.as_slice()])?;
        Ok(())
    }

    pub fn load(conn: &dyn crate::store::db::Db) -> anyhow::Result<Keys> {
        let key: Option<Vec<u8>> =
            conn.first("SELECT value FROM store_meta WHERE key = 'hmac-key'", &[], |r| r.get(0))?;
        // Pseudonyms, codes and the checks of the officers' texts rest on it: a store without
        // it was changed outside dsr (exit 11).
        let key = key.ok_or_else(|| crate::error::Error::Corrupt {
            path: conn.place(),
            detail:
                "its secret key (store_meta 'hmac-key') is gone, and pseudonyms and the audit trail's texts rest on it"
                    .into(),
        })?;
        let keyed = HmacSha256::new_from_slice(&key).expect("HMAC takes any key length");
        Ok(Keys { keyed })
    }

    /// HMAC-SHA256 over the parts, each followed by a NUL so that parts cannot run together.
    pub fn mac(&self, parts: &[&[u8]]) -> Vec<u8> {
        let mut mac = self.keyed.clone();
        for p in parts {
            mac.update(p);
            mac.update(&[0]);
        }
        mac.finalize().into_bytes().to_vec()
    }

    /// Constant-time check of a MAC over the parts.
    pub fn verify(&self, parts: &[&[u8]], expected: &[u8]) -> bool {
        let mut mac = self.keyed.clone();
        for p in parts {
            mac.update(p);
            mac.update(&[0]);
        }
        mac.verify_slice(expected).is_ok()
    }

    /// The pseudonym of a person row's id in one of its lives (`generation`, see [`Keys::person_in`]).
    fn person(&self, person_id: i64, generation: u32) -> String {
        let id = person_id.to_string();
        match generation {
            0 => hex(&self.mac(&[b"person", id.as_bytes()])[..16]),
            g => hex(&self.mac(&[b"person", id.as_bytes(), g.to_string().as_bytes()])[..16]),
        }
    }

    /// The pseudonym of a person in the store: stable for the store, meaningless without its key,
    /// and never an erased person's. A person table may give an erased person's row id to a new
    /// person (SQLite reuses the highest rowid once it is deleted); the new person must not take
    /// over the erased one's requests, code counts or lock. So the id's pseudonym moves on while an
    /// erasure has detached requests under it (`subject_given` cleared, no person linked).
    pub fn person_in(&self, db: &dyn crate::store::db::Db, person_id: i64) -> anyhow::Result<String> {
        let mut generation = 0;
        loop {
            let pseudonym = self.person(person_id, generation);
            let erased: bool = db.one(
                "SELECT EXISTS (SELECT 1 FROM request WHERE subject_pseudonym = ?1 AND person_id IS NULL AND subject_given IS NULL)",
                &crate::vals![pseudonym]?,
                |r| r.get(0),
            )?;
            if !erased {
                return Ok(pseudonym);
            }
            generation += 1;
        }
    }

    /// The pseudonym of an identifier that named no one (or of an erased identifier), in the
    /// form the map compares (an email address: `local_part`).
    pub fn identifier(&self, kind: &str, normalised: &str) -> String {
        hex(&self.mac(&[b"identifier", kind.as_bytes(), normalised.as_bytes()])[..16])
    }
}

/// Bytes as lowercase hexadecimal (how keyed hashes are stored).
pub fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}
