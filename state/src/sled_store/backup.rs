//! The last good state of a workspace, which `landform state recover`
//! restores: `backup.json`, a whole state, and `backup.log`, what each later
//! checkpoint changed — one frame a checkpoint, holding every record it wrote
//! or removed as the database stores it (sealed with the state key when one is
//! set). Keeping the last good state so costs what an operation changed, not
//! the whole state; once the log outgrows `backup.json`, the next checkpoint
//! writes `backup.json` anew and the log starts again.
//!
//! A frame is `LFB1`, its length, the SHA-256 of its body and the body; it
//! names the serial it starts from and the one it ends at. Reading stops at
//! the first frame that is torn, damaged or does not follow from the state
//! read so far: the state is then the last checkpoint before it.

use super::{io_words, unseal, Bad, Parts};
use crate::crypt::Crypt;
use crate::{Snapshot, StateError};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::io::Write;
use std::path::Path;

const MAGIC: &[u8; 4] = b"LFB1";
pub(super) const LOG: &str = "backup.log";

#[derive(Serialize, Deserialize)]
pub(super) struct Frame {
    pub lineage: String,
    pub from: u64,
    pub to: u64,
    /// Each key the checkpoint changed and its stored value (`None`: removed).
    pub entries: Vec<(String, Option<String>)>,
}

fn encode(frame: &Frame) -> crate::Result<Vec<u8>> {
    let body = serde_json::to_vec(frame).map_err(|e| StateError(e.to_string()))?;
    let mut out = Vec::with_capacity(body.len() + 44);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&Sha256::digest(&body));
    out.extend_from_slice(&body);
    Ok(out)
}

/// The first whole frame of `bytes` and the length it takes, if it is one.
fn decode(bytes: &[u8]) -> Option<(Frame, usize)> {
    let head = bytes.get(..44)?;
    if &head[..4] != MAGIC {
        return None;
    }
    let len = usize::try_from(u64::from_le_bytes(head[4..12].try_into().ok()?)).ok()?;
    let body = bytes.get(44..44usize.checked_add(len)?)?;
    if Sha256::digest(body).as_slice() != &head[12..44] {
        return None;
    }
    Some((serde_json::from_slice(body).ok()?, 44 + len))
}

/// The last good state: `backup.json` with every frame of the log that
/// follows from it applied in order.
pub(super) fn read(dir: &Path, crypt: &Crypt) -> Result<Snapshot, String> {
    let stored = std::fs::read(dir.join("backup.json")).map_err(|e| io_words(&e))?;
    let bytes = crypt.open_file("backup.json", &stored, "backup.json")?;
    let base: Snapshot = serde_json::from_slice(&bytes).map_err(|_| "backup.json cannot be read".to_string())?;
    let log = match std::fs::read(dir.join(LOG)) {
        Ok(log) => log,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(base),
        Err(e) => return Err(format!("{LOG} cannot be read: {}", io_words(&e))),
    };
    let workspace = base.workspace.clone();
    let mut parts = Parts::of(base);
    let mut at = 0;
    while let Some((frame, used)) = decode(&log[at..]) {
        if frame.lineage != parts.lineage || frame.from != parts.serial || frame.to <= frame.from {
            break;
        }
        // Every value opens before any is applied: a frame counts whole or not at all.
        let mut opened = Vec::with_capacity(frame.entries.len());
        for (k, v) in &frame.entries {
            let v =
                v.as_ref().map(|v| unseal(crypt, k.as_bytes(), v.as_bytes(), || format!("the record {k} in {LOG}")));
            opened.push((
                k,
                v.transpose().map_err(|bad| match bad {
                    Bad::Key(why) | Bad::Damaged(why) => why,
                })?,
            ));
        }
        for (k, v) in opened {
            parts.set(k.as_bytes(), v.as_deref()).map_err(|bad| match bad {
                Bad::Key(why) | Bad::Damaged(why) => why,
            })?;
        }
        parts.serial = frame.to;
        at += used;
    }
    Ok(parts.snapshot(&workspace))
}

/// Append a frame to the log and make it durable. A write that fails leaves
/// the log as it was.
pub(super) fn append(dir: &Path, frame: &Frame) -> crate::Result<()> {
    let bytes = encode(frame)?;
    let path = dir.join(LOG);
    let fail =
        |e: std::io::Error| StateError(format!("cannot write the state backup {}: {}", path.display(), io_words(&e)));
    let existed = path.exists();
    let mut opts = std::fs::OpenOptions::new();
    opts.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&path).map_err(fail)?;
    let before = f.metadata().map_err(fail)?.len();
    if let Err(e) = f.write_all(&bytes).and_then(|_| f.sync_data()) {
        let _ = f.set_len(before);
        let _ = f.sync_data();
        return Err(fail(e));
    }
    if !existed {
        crate::files::sync_dir(dir);
    }
    Ok(())
}

/// The sizes of `backup.json` and of the log, in bytes.
pub(super) fn sizes(dir: &Path) -> (u64, u64) {
    let len = |name: &str| std::fs::metadata(dir.join(name)).map(|m| m.len()).unwrap_or(0);
    (len("backup.json"), len(LOG))
}
