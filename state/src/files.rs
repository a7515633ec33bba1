//! Small, careful file operations the backends share: atomic private writes,
//! recursive copies, permissions, and I/O errors said in words.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Write `bytes` to `path` so that a crash leaves either the old file or the
/// new one, never half of either: a new private (0600) file beside it, synced,
/// renamed over the old one, then the directory synced.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        sync_dir(dir);
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Make a rename or a new file in `dir` durable.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Owner-only permissions for a directory and everything in it.
pub fn make_private(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                match e.file_type() {
                    Ok(t) if t.is_dir() => make_private(&p),
                    Ok(t) if t.is_file() => {
                        let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Copy a directory tree (regular files and directories only).
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let t = e.file_type()?;
        if t.is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()))?;
        } else if t.is_file() {
            std::fs::copy(e.path(), to.join(e.file_name()))?;
        }
    }
    Ok(())
}

/// `base` joined with `name`, a relative path read from data Landform does not
/// control (a block label, the lock file, a database row, an archive entry),
/// proven to stay inside `base`: `name` is not empty, holds no NUL, is not
/// absolute, has no `.` or `..` part, and no part of it that exists on disk is
/// a symbolic link leading out of `base`. The one place such paths are made.
pub fn join_inside(base: &Path, name: &str) -> std::result::Result<PathBuf, String> {
    use std::path::Component;
    let shown = || format!("\"{}\"", name.escape_debug());
    if name.is_empty() {
        return Err("an empty name is not a path inside it".into());
    }
    if name.contains('\0') {
        return Err(format!("{} holds a NUL character", shown()));
    }
    // A backslash is a separator on Windows: refused everywhere, so that a
    // name means the same on every machine.
    if name.contains('\\') {
        return Err(format!("{} holds a backslash", shown()));
    }
    let rel = Path::new(name);
    if rel.is_absolute() {
        return Err(format!("{} is an absolute path", shown()));
    }
    for c in rel.components() {
        if !matches!(c, Component::Normal(_)) || name.split('/').any(|p| p == "." || p == "..") {
            return Err(format!("{} leaves the directory (\".\" or \"..\")", shown()));
        }
    }
    let joined = base.join(rel);
    // A link inside `base` may lead anywhere: every part that exists must
    // resolve to a place inside it.
    if let Ok(root) = base.canonicalize() {
        let mut at = base.to_path_buf();
        for c in rel.components() {
            at.push(c);
            match std::fs::symlink_metadata(&at) {
                Ok(_) => match at.canonicalize() {
                    Ok(real) if real.starts_with(&root) => {}
                    _ => return Err(format!("{} leads out of the directory through a symbolic link", shown())),
                },
                Err(_) => break,
            }
        }
    }
    Ok(joined)
}

/// An I/O error as a person would say it, without Rust's debug form.
pub fn io_words(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    let what = match e.kind() {
        K::StorageFull => "no space is left on the device",
        K::PermissionDenied => "permission denied",
        K::NotFound => "the file or directory does not exist",
        K::ReadOnlyFilesystem => "the file system is read-only",
        K::FileTooLarge => "the file would exceed the maximum file size allowed (a file-size limit is in force)",
        K::QuotaExceeded => "the disk quota is exceeded",
        K::WouldBlock => "it is in use by another process",
        _ => return strip_os_code(&e.to_string()),
    };
    what.to_string()
}

/// "No space left on device (os error 28)" → "No space left on device".
fn strip_os_code(s: &str) -> String {
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_whole_file_and_is_private() {
        let dir = std::env::temp_dir().join(format!("lf-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("x.json");
        std::fs::write(&p, "old old old").unwrap();
        write_atomic(&p, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn names_from_data_stay_inside_their_directory() {
        let base = std::env::temp_dir().join(format!("lf-inside-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("sub")).unwrap();
        assert_eq!(join_inside(&base, "a").unwrap(), base.join("a"));
        assert_eq!(join_inside(&base, "sub/b.c").unwrap(), base.join("sub/b.c"));
        assert_eq!(join_inside(&base, "a..b").unwrap(), base.join("a..b"));
        for bad in [
            "",
            "..",
            ".",
            "../x",
            "a/../../x",
            "a/./b",
            "./a",
            "/etc",
            "/",
            "a\0b",
            "a\\..\\b",
            "../../../../x",
            "a/..",
        ] {
            assert!(join_inside(&base, bad).is_err(), "{bad:?} must be refused");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/tmp", base.join("out")).unwrap();
            std::os::unix::fs::symlink("sub", base.join("in")).unwrap();
            assert!(join_inside(&base, "out").is_err());
            assert!(join_inside(&base, "out/x").is_err());
            assert_eq!(join_inside(&base, "in/x").unwrap(), base.join("in/x"));
        }
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn io_errors_are_words() {
        let e = std::io::Error::from(std::io::ErrorKind::StorageFull);
        assert_eq!(io_words(&e), "no space is left on the device");
        let e = std::io::Error::from_raw_os_error(2);
        assert!(!io_words(&e).contains("os error"));
    }
}
