//! State encryption at rest: every stored record (resources, creations under
//! way, outputs, rollouts) and every file that holds one (backups, recovery
//! files, saved plans) sealed with AES-256-GCM under a key the user keeps, as
//! OpenTofu 1.7 does. Keys, lineage and serial stay readable, so that a
//! backend can list and order records without the key; values never do.
//!
//! A sealed value is text, so that it fits a sled value and a PostgreSQL text
//! column alike: `lfenc2:KEYID:BASE64(nonce ‖ ciphertext ‖ tag)`. The key ID
//! (a short hash of the key) names the key a value needs, so that a missing
//! or wrong key is told apart from a damaged value. The workspace and the slot
//! a value is stored under (`default`, `r/local_file.a`) are its associated
//! data: a value moved to another slot or copied into another workspace does
//! not open.
//!
//! With a key set, a value in plain text is refused, never read and sealed:
//! whoever can write the database but has no key could otherwise forge a
//! record. Encrypting a plain state is asked for, with `state rekey` and no
//! current key (`accepting_plain`).
//!
//! `lfenc1:` values (sealed by older versions, for the slot alone) are read
//! only by `state rekey` (`accepting_old_binding`), which writes every record
//! of each workspace again as `lfenc2:` under its lock; any other command
//! refuses them and says to run it. Reading them anywhere else would let a
//! value kept from one workspace open in another for ever.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Values sealed for their workspace and slot.
pub const PREFIX: &str = "lfenc2:";
/// Values sealed by older versions, for their slot alone.
const OLD_PREFIX: &str = "lfenc1:";

/// Where a key comes from, for messages: `LANDFORM_STATE_KEY` or a key file.
pub const KEY_HELP: &str = "set LANDFORM_STATE_KEY to the key (64 hex digits or base64 of 32 bytes; make one with `openssl rand -base64 32`), or LANDFORM_STATE_KEY_FILE to a file that holds it";

/// One 256-bit key.
pub struct StateKey {
    key: LessSafeKey,
    id: String,
}

impl std::fmt::Debug for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StateKey({})", self.id)
    }
}

impl StateKey {
    /// A key written as 64 hex digits or as base64 of 32 bytes (surrounding
    /// whitespace ignored). The error never repeats the text.
    pub fn parse(text: &str) -> Result<StateKey, String> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32).map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16).unwrap_or(0)).collect::<Vec<_>>()
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(t)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(t))
                .map_err(|_| format!("the state key is neither 64 hex digits nor base64 of 32 bytes: {KEY_HELP}"))?
        };
        if bytes.len() != 32 {
            return Err(format!("the state key is {} bytes long; AES-256 needs exactly 32 ({KEY_HELP})", bytes.len()));
        }
        let mut h = Sha256::new();
        h.update(b"landform state key id\0");
        h.update(&bytes);
        let id = h.finalize()[..6].iter().map(|b| format!("{b:02x}")).collect();
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| "the state key cannot be used".to_string())?;
        Ok(StateKey { key: LessSafeKey::new(unbound), id })
    }

    /// A short, public name for the key: the first 6 bytes of a hash of it.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Why a sealed value did not open.
#[derive(Debug, PartialEq)]
pub enum OpenError {
    /// It needs a key that was not given: say which, and how to give it.
    Key(String),
    /// The key is right but the value does not open: it was changed or
    /// damaged, or sealed for another slot or workspace.
    Damaged,
    /// A key is set and the value is in plain text: it was not written by
    /// Landform with the key (someone with access to the state may have).
    Unsealed,
    /// Sealed by an older version for its slot alone: `state rekey` reads it.
    OldBinding,
}

impl OpenError {
    /// Why the value stored under `what` did not open, in words.
    pub fn words(&self, what: &str) -> String {
        match self {
            OpenError::Key(why) => why.clone(),
            OpenError::Damaged => format!(
                "{what} does not decrypt: it was changed or damaged, or copied from another record or workspace"
            ),
            OpenError::Unsealed => format!(
                "{what} is not encrypted although a state key is set: Landform did not write it with this key, so it is not read (someone with access to the state may have written it). To encrypt a state kept in plain text, run `landform state rekey --new-key-file FILE` with no state key set"
            ),
            OpenError::OldBinding => format!(
                "{what} was encrypted by an older Landform, for its record but not its workspace: run `landform state rekey --new-key-file FILE` (the same key may be given) once to encrypt the state again"
            ),
        }
    }
}

/// How one backend seals what it stores: not at all, or with a key. It may
/// hold older keys too, to read values sealed with them (`state rekey`).
#[derive(Clone, Default, Debug)]
pub struct Crypt {
    write: Option<Arc<StateKey>>,
    read: Vec<Arc<StateKey>>,
    /// How many values were read in plain text although a key is set.
    plain_seen: Arc<AtomicUsize>,
    /// The workspace values are sealed for.
    workspace: String,
    /// Read plain values although a key is set (`state rekey` from no key).
    accept_plain: bool,
    /// Read `lfenc1:` values (`state rekey`).
    accept_old: bool,
}

impl Crypt {
    /// No encryption: values are stored as they are; sealed ones cannot be read.
    pub fn none() -> Crypt {
        Crypt::default()
    }

    /// Seal with `key`; read values sealed with it.
    pub fn with_key(key: StateKey) -> Crypt {
        let key = Arc::new(key);
        Crypt { write: Some(key.clone()), read: vec![key], ..Default::default() }
    }

    /// This, sealing and opening for `workspace`: what a store holds.
    pub fn for_workspace(&self, workspace: &str) -> Crypt {
        Crypt { workspace: workspace.to_string(), ..self.clone() }
    }

    /// Also read values stored in plain text: encrypting a plain state, asked for.
    pub fn accepting_plain(self) -> Crypt {
        Crypt { accept_plain: true, ..self }
    }

    /// Also read values sealed by older versions for their slot alone.
    pub fn accepting_old_binding(self) -> Crypt {
        Crypt { accept_old: true, ..self }
    }

    /// Is `stored` stored as this would store it now (sealed with the key in
    /// use, for its workspace; or in plain text when there is no key)?
    pub fn is_current(&self, stored: &[u8]) -> bool {
        match &self.write {
            Some(k) => stored.starts_with(format!("{PREFIX}{}:", k.id).as_bytes()),
            None => !Crypt::is_sealed(stored),
        }
    }

    /// The associated data of a value in `slot`: the workspace and the slot,
    /// each ended by a NUL (neither holds one), under a version tag.
    fn binding(&self, slot: &str) -> Vec<u8> {
        let mut aad = b"landform state v2\0".to_vec();
        aad.extend_from_slice(self.workspace.as_bytes());
        aad.push(0);
        aad.extend_from_slice(slot.as_bytes());
        aad.push(0);
        aad
    }

    /// Also read values sealed with `key` (an old key being rotated out).
    pub fn also_reading(mut self, key: StateKey) -> Crypt {
        if !self.read.iter().any(|k| k.id == key.id) {
            self.read.push(Arc::new(key));
        }
        self
    }

    /// Also read what `other` reads.
    pub fn also_reading_from(mut self, other: &Crypt) -> Crypt {
        for k in &other.read {
            if !self.read.iter().any(|r| r.id == k.id) {
                self.read.push(k.clone());
            }
        }
        self
    }

    /// The key new values are sealed with, if any.
    pub fn key_id(&self) -> Option<&str> {
        self.write.as_ref().map(|k| k.id.as_str())
    }

    pub fn is_on(&self) -> bool {
        self.write.is_some()
    }

    /// Values read in plain text while a key is set since this was made (a
    /// state written before encryption was turned on).
    pub fn plain_seen(&self) -> usize {
        self.plain_seen.load(Ordering::Relaxed)
    }

    /// `plain` sealed for this workspace and `slot`, or `plain` itself when
    /// there is no key.
    pub fn seal(&self, slot: &str, plain: Vec<u8>) -> Vec<u8> {
        let Some(k) = &self.write else { return plain };
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce);
        let mut buf = plain;
        // Sealing only fails for inputs over 64 GiB; a record is never one.
        if k.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(self.binding(slot)), &mut buf)
            .is_err()
        {
            buf.clear();
        }
        let mut raw = Vec::with_capacity(NONCE_LEN + buf.len());
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&buf);
        format!("{PREFIX}{}:{}", k.id, base64::engine::general_purpose::STANDARD.encode(raw)).into_bytes()
    }

    /// Is this a sealed value (by this version or an older one)?
    pub fn is_sealed(stored: &[u8]) -> bool {
        stored.starts_with(PREFIX.as_bytes()) || stored.starts_with(OLD_PREFIX.as_bytes())
    }

    /// The key ID a sealed value needs.
    pub fn sealed_with(stored: &[u8]) -> Option<String> {
        let rest = stored.strip_prefix(PREFIX.as_bytes()).or_else(|| stored.strip_prefix(OLD_PREFIX.as_bytes()))?;
        let end = rest.iter().position(|&b| b == b':')?;
        Some(String::from_utf8_lossy(&rest[..end]).into_owned())
    }

    /// What `seal` made of a value for this workspace and `slot`. A value
    /// never sealed is returned as it is when no key is set, and refused
    /// when one is (unless `accepting_plain`).
    pub fn open(&self, slot: &str, stored: &[u8]) -> Result<Vec<u8>, OpenError> {
        let (rest, aad) = if let Some(rest) = stored.strip_prefix(PREFIX.as_bytes()) {
            (rest, self.binding(slot))
        } else if let Some(rest) = stored.strip_prefix(OLD_PREFIX.as_bytes()) {
            (rest, slot.as_bytes().to_vec())
        } else {
            if self.write.is_some() {
                if !self.accept_plain {
                    return Err(OpenError::Unsealed);
                }
                self.plain_seen.fetch_add(1, Ordering::Relaxed);
            }
            return Ok(stored.to_vec());
        };
        let Some(colon) = rest.iter().position(|&b| b == b':') else { return Err(OpenError::Damaged) };
        let (id, body) = (String::from_utf8_lossy(&rest[..colon]).into_owned(), &rest[colon + 1..]);
        let Some(k) = self.read.iter().find(|k| k.id == id) else {
            return Err(OpenError::Key(match &self.write {
                None => format!("the state is encrypted (key ID {id}) and no key was given: {KEY_HELP}"),
                Some(k) => format!(
                    "the state is encrypted with key ID {id}, but the key given has ID {}: give the key it was encrypted with, in LANDFORM_STATE_KEY or LANDFORM_STATE_KEY_FILE (to change keys, run `landform state rekey`)",
                    k.id
                ),
            }));
        };
        let raw = base64::engine::general_purpose::STANDARD.decode(body).map_err(|_| OpenError::Damaged)?;
        if raw.len() < NONCE_LEN {
            return Err(OpenError::Damaged);
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError::Damaged)?;
        let mut buf = sealed.to_vec();
        let plain = k.key.open_in_place(nonce, Aad::from(aad), &mut buf).map_err(|_| OpenError::Damaged)?;
        if stored.starts_with(OLD_PREFIX.as_bytes()) && !self.accept_old {
            return Err(OpenError::OldBinding);
        }
        Ok(plain.to_vec())
    }

    /// `open` for a whole file (a backup, a recovery file, a saved plan),
    /// with the error said in words about `what`.
    pub fn open_file(&self, slot: &str, stored: &[u8], what: &str) -> Result<Vec<u8>, String> {
        self.open(slot, stored).map_err(|e| match e {
            OpenError::Key(why) => format!("{what} cannot be read: {}", why.replacen("the state is", "it is", 1)),
            OpenError::Damaged => {
                format!("{what} is encrypted and does not decrypt with its key: it was changed or damaged")
            }
            other => other.words(what),
        })
    }
}

fn fill_random(buf: &mut [u8]) {
    if aws_lc_rs::rand::fill(buf).is_err() {
        // aws-lc's generator does not fail on a working system; never reuse a nonce silently.
        let id = crate::random_id();
        let mut h = Sha256::new();
        h.update(id.as_bytes());
        h.update(std::process::id().to_le_bytes());
        let d = h.finalize();
        buf.copy_from_slice(&d[..buf.len()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn k2() -> StateKey {
        StateKey::parse(&base64::engine::general_purpose::STANDARD.encode([7u8; 32])).unwrap()
    }

    #[test]
    fn sealed_values_open_only_with_their_key_and_slot() {
        let c = Crypt::with_key(StateKey::parse(K1).unwrap());
        let sealed = c.seal("r/local_file.a", b"{\"content\":\"hunter2\"}".to_vec());
        assert!(Crypt::is_sealed(&sealed));
        assert!(!String::from_utf8_lossy(&sealed).contains("hunter2"));
        assert_eq!(c.open("r/local_file.a", &sealed).unwrap(), b"{\"content\":\"hunter2\"}");
        // Another slot: refused as damaged (it was moved).
        assert_eq!(c.open("r/local_file.b", &sealed), Err(OpenError::Damaged));
        // A flipped byte: damaged.
        let mut bad = sealed.clone();
        let last = bad.len() - 3;
        bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(c.open("r/local_file.a", &bad), Err(OpenError::Damaged));
        // Another key, or none: a key error naming the key ID needed.
        let other = Crypt::with_key(k2());
        match other.open("r/local_file.a", &sealed) {
            Err(OpenError::Key(m)) => assert!(m.contains(c.key_id().unwrap()) && m.contains("rekey"), "{m}"),
            e => panic!("{e:?}"),
        }
        assert!(matches!(Crypt::none().open("r/local_file.a", &sealed), Err(OpenError::Key(_))));
        // Reading with both keys, as rekey does.
        let both = other.also_reading(StateKey::parse(K1).unwrap());
        assert!(both.open("r/local_file.a", &sealed).is_ok());
    }

    #[test]
    fn two_seals_differ_and_plain_values_are_refused_unless_asked_for() {
        let c = Crypt::with_key(StateKey::parse(K1).unwrap());
        assert_ne!(c.seal("o/x", b"1".to_vec()), c.seal("o/x", b"1".to_vec()));
        assert_eq!(c.open("o/x", b"{\"value\":1}"), Err(OpenError::Unsealed));
        let asked = c.clone().accepting_plain();
        assert_eq!(asked.open("o/x", b"{\"value\":1}").unwrap(), b"{\"value\":1}");
        assert_eq!(asked.plain_seen(), 1);
        assert_eq!(Crypt::none().seal("o/x", b"1".to_vec()), b"1");
        assert_eq!(Crypt::none().open("o/x", b"1").unwrap(), b"1");
    }

    #[test]
    fn a_value_opens_only_in_the_workspace_it_was_sealed_for() {
        let base = Crypt::with_key(StateKey::parse(K1).unwrap());
        let (prod, dev) = (base.for_workspace("prod"), base.for_workspace("dev"));
        let sealed = prod.seal("r/local_exec.x", b"{}".to_vec());
        assert!(sealed.starts_with(PREFIX.as_bytes()));
        assert_eq!(prod.open("r/local_exec.x", &sealed).unwrap(), b"{}");
        assert_eq!(dev.open("r/local_exec.x", &sealed), Err(OpenError::Damaged));
        // The workspace and slot cannot be shifted into each other.
        let a = base.for_workspace("ab").seal("c", b"{}".to_vec());
        assert_eq!(base.for_workspace("a").open("bc", &a), Err(OpenError::Damaged));
        assert!(prod.is_current(&sealed) && !Crypt::none().is_current(&sealed));
        assert!(!prod.is_current(b"{}") && Crypt::none().is_current(b"{}"));
    }

    #[test]
    fn a_value_in_the_old_binding_is_read_only_when_rekey_asks() {
        let c = Crypt::with_key(StateKey::parse(K1).unwrap()).for_workspace("default");
        // What versions before lfenc2 wrote: the slot alone as associated data.
        let k = c.write.clone().unwrap();
        let nonce = [9u8; NONCE_LEN];
        let mut buf = b"{\"old\":true}".to_vec();
        k.key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(&b"r/a"[..]), &mut buf).unwrap();
        let raw = [&nonce[..], &buf[..]].concat();
        let old =
            format!("{OLD_PREFIX}{}:{}", k.id, base64::engine::general_purpose::STANDARD.encode(raw)).into_bytes();
        assert_eq!(c.open("r/a", &old), Err(OpenError::OldBinding));
        assert!(!c.is_current(&old));
        let rekey = c.clone().accepting_old_binding();
        assert_eq!(rekey.open("r/a", &old).unwrap(), b"{\"old\":true}");
        assert_eq!(rekey.open("r/b", &old), Err(OpenError::Damaged));
        assert!(OpenError::OldBinding.words("the record r/a").contains("state rekey"));
    }

    #[test]
    fn keys_are_checked_and_never_echoed() {
        assert_eq!(StateKey::parse(K1).unwrap().id(), StateKey::parse(&K1.to_uppercase()).unwrap().id());
        for bad in ["", "short", "not base64 at all!!", &"ab".repeat(31)] {
            let e = StateKey::parse(bad).unwrap_err();
            assert!(bad.len() < 8 || !e.contains(bad), "{e}");
        }
        assert!(StateKey::parse(&base64::engine::general_purpose::STANDARD.encode([1u8; 16]))
            .unwrap_err()
            .contains("16 bytes"));
    }
}
