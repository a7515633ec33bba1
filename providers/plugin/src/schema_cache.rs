//! A provider's schema kept on disk, per provider binary, so that a command
//! does not ask a large provider for it every time (hashicorp/aws: ~5 MB,
//! about a second). Only providers that say GetProviderSchema is optional
//! for them are spared the call; others are asked as before.
//!
//! Both protocols' schemas are kept in version 6's form (version 5's is a
//! subset of it).
//!
//! The key is the binary's canonical path, size, modification time and
//! inode: hashing 700 MB of binary would cost what the cache saves, and a
//! provider is replaced, not edited in place. The file holds the response as
//! protobuf (only the fields Landform reads); one that does not decode is
//! ignored and written again.

use crate::proto6;
use prost::Message;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Where schemas are kept: `LANDFORM_PLUGIN_CACHE_DIR`, else the user's
/// cache directory; `None` (no caching) when neither is known.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("LANDFORM_PLUGIN_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("landform/plugin-schemas"))
}

/// The cache file for a binary as it is now, or `None` if it cannot be read.
pub fn entry(dir: &Path, binary: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let path = binary.canonicalize().ok()?;
    let m = std::fs::metadata(&path).ok()?;
    let mut h = Sha256::new();
    h.update(path.as_os_str().as_encoded_bytes());
    h.update([0]);
    for n in [m.size() as i64, m.mtime(), m.mtime_nsec(), m.ino() as i64, m.dev() as i64] {
        h.update(n.to_le_bytes());
    }
    let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Some(dir.join(format!("{digest}.pb")))
}

/// A cached response, if there is one that decodes.
pub fn load(file: &Path) -> Option<proto6::GetProviderSchemaResponse> {
    let bytes = std::fs::read(file).ok()?;
    proto6::GetProviderSchemaResponse::decode(bytes.as_slice()).ok()
}

/// Keep a response (written whole or not at all: a temporary file renamed).
pub fn store(file: &Path, resp: &proto6::GetProviderSchemaResponse) {
    let Some(dir) = file.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, resp.encode_to_vec()).is_ok() && std::fs::rename(&tmp, file).is_ok() {
        return;
    }
    let _ = std::fs::remove_file(&tmp);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_follows_the_binary_and_damaged_files_are_ignored() {
        let dir = std::env::temp_dir().join(format!("landform-schema-cache-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("terraform-provider-x");
        std::fs::write(&bin, "one").unwrap();
        let first = entry(&dir, &bin).unwrap();
        assert_eq!(entry(&dir, &bin).unwrap(), first, "stable");
        // A new binary in its place (another size, another inode) is another key.
        std::fs::remove_file(&bin).unwrap();
        std::fs::write(&bin, "two!").unwrap();
        assert_ne!(entry(&dir, &bin).unwrap(), first);
        assert_eq!(entry(&dir, &dir.join("missing")), None);

        let resp = proto6::GetProviderSchemaResponse {
            provider: Some(proto6::Schema { version: 3, block: None }),
            ..Default::default()
        };
        store(&first, &resp);
        assert_eq!(load(&first), Some(resp));
        std::fs::write(&first, [0xff, 0xff, 0xff]).unwrap();
        assert_eq!(load(&first), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
