//! Terminal niceties: whether to colour, and a few coloured lines.

use std::io::IsTerminal;

/// Colour only when both output streams are a terminal (so `plan | less`
/// gets plain text), and never with --no-color or NO_COLOR.
pub fn use_color(no_color_flag: bool) -> bool {
    !no_color_flag
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stderr().is_terminal()
        && std::io::stdout().is_terminal()
}

pub fn error_line(message: &str, color: bool) -> String {
    if color {
        format!("\x1b[1;31mError:\x1b[0m {message}")
    } else {
        format!("Error: {message}")
    }
}

pub fn success(message: &str, color: bool) -> String {
    if color {
        format!("\x1b[1;32m{message}\x1b[0m")
    } else {
        message.to_string()
    }
}

/// Write to standard output: every secret this process has seen is redacted,
/// and a closed pipe ends the output quietly instead of panicking.
pub fn write_stdout(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(landform_lang::secrets::redact(text).as_bytes());
}

/// The same for standard error.
pub fn write_stderr(text: &str) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(landform_lang::secrets::redact(text).as_bytes());
}

/// `println!` through [`write_stdout`].
#[macro_export]
macro_rules! outln {
    () => { $crate::ui::write_stdout("\n") };
    ($($t:tt)*) => { $crate::ui::write_stdout(&format!("{}\n", format_args!($($t)*))) };
}

/// `print!` through [`write_stdout`].
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => { $crate::ui::write_stdout(&format!($($t)*)) };
}

/// `eprintln!` through [`write_stderr`].
#[macro_export]
macro_rules! errln {
    () => { $crate::ui::write_stderr("\n") };
    ($($t:tt)*) => { $crate::ui::write_stderr(&format!("{}\n", format_args!($($t)*))) };
}
