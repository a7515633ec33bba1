//! Reading a file that a configuration names, safely: what the CLI reads by
//! itself (the lock file, `.landformignore`, the workspace selection) and a
//! provider reads for a data source.

use std::io::{Error, ErrorKind, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// A regular file of at most `limit` bytes. Anything else is refused before
/// a byte is read: a named pipe would block (in `open` itself, until a
/// writer comes, which may be never), a device may never end. The file is
/// opened without waiting and checked as opened, so that one swapped for a
/// pipe between a check and the open is refused too.
pub fn read_regular(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let f =
        std::fs::OpenOptions::new().read(true).custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32).open(path)?;
    let meta = f.metadata()?;
    if meta.is_dir() {
        return Err(Error::new(ErrorKind::InvalidInput, "is a directory, not a file"));
    }
    if !meta.is_file() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "is not a regular file (a named pipe, socket or device): only files are read",
        ));
    }
    let mut bytes = Vec::new();
    f.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(Error::new(ErrorKind::FileTooLarge, format!("is larger than {} MiB", limit >> 20)));
    }
    Ok(bytes)
}
