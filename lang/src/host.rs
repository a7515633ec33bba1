//! What evaluation needs from the outside world: files, the environment, the
//! clock. The language does no I/O of its own; the CLI supplies a host that
//! reads the disk, tests supply their own.

/// What evaluation needs from the outside world.
pub trait Host {
    /// Read a file for `file()`; relative paths are the host's to resolve.
    fn read_file(&self, path: &str) -> Result<String, String>;
    /// Read a file's bytes (`filebase64`, `filemd5`…): by default `read_file`'s text.
    fn read_file_bytes(&self, path: &str) -> Result<Vec<u8>, String> {
        self.read_file(path).map(String::into_bytes)
    }
    /// An environment variable for `env()`.
    fn env(&self, name: &str) -> Option<String>;
    /// The apply-time timestamp; `None` (unknown) while planning.
    fn timestamp(&self) -> Option<String> {
        None
    }
    /// When this plan was made (`plantimestamp()`), known while planning
    /// too; `None` leaves it unknown.
    fn plan_timestamp(&self) -> Option<String> {
        None
    }
    /// A fresh UUID at apply time; `None` (unknown) while planning.
    fn uuid(&self) -> Option<String> {
        None
    }
    /// The workspace in use, for `landform.workspace` (and Terraform's
    /// `terraform.workspace`); `None` leaves it unknown.
    fn workspace(&self) -> Option<String> {
        None
    }
    /// Whether a regular file is at `path` (`fileexists`); a directory there is an error.
    fn file_exists(&self, path: &str) -> Result<bool, String> {
        Err(format!("cannot look for \"{path}\": no files are available here"))
    }
    /// Every regular file under `dir`, as paths relative to it with `/`
    /// (`fileset`); none when `dir` is not there, as in Terraform.
    fn list_files(&self, dir: &str) -> Result<Vec<String>, String> {
        Err(format!("cannot list \"{dir}\": no files are available here"))
    }
    /// `path` made absolute (`abspath`).
    fn abs_path(&self, path: &str) -> Result<String, String> {
        Err(format!("cannot resolve \"{path}\": no files are available here"))
    }
}

/// A host that reads nothing: `file()` and `env()` fail.
pub struct NoHost;

impl Host for NoHost {
    fn read_file(&self, path: &str) -> Result<String, String> {
        Err(format!("cannot read \"{path}\": no files are available here"))
    }
    fn env(&self, _name: &str) -> Option<String> {
        None
    }
}
