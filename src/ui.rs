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
