//! Interrupts (Ctrl-C, SIGTERM, SIGHUP). Outside an apply, an interrupt
//! releases the state lock and exits 130. During an apply, the first stops new
//! operations and lets those in flight finish and be saved; the second kills
//! the commands in flight (each runs in a process group of its own) so that
//! their failures are recorded and apply ends; a third, or an apply that has
//! not ended ten seconds after the second, exits at once, still releasing the
//! lock. A long-lived checker stops cleanly at the first.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

static STOP: OnceLock<Arc<AtomicBool>> = OnceLock::new();
static APPLYING: AtomicBool = AtomicBool::new(false);
static SERVING: AtomicBool = AtomicBool::new(false);
static COUNT: AtomicUsize = AtomicUsize::new(0);

/// The flag apply watches: set by the first interrupt during an apply.
pub fn stop_flag() -> Arc<AtomicBool> {
    STOP.get_or_init(|| Arc::new(AtomicBool::new(false))).clone()
}

/// Interrupts stop an apply gracefully from now on (until the guard drops).
pub struct Applying;

impl Applying {
    pub fn start() -> Applying {
        APPLYING.store(true, Ordering::SeqCst);
        Applying
    }
}

impl Drop for Applying {
    fn drop(&mut self) {
        APPLYING.store(false, Ordering::SeqCst);
    }
}

/// A long-lived command (the drift checker) runs: the first interrupt asks it
/// to stop cleanly (it watches `stop_flag`), the second exits at once.
pub struct Serving;

impl Serving {
    pub fn start() -> Serving {
        SERVING.store(true, Ordering::SeqCst);
        Serving
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        SERVING.store(false, Ordering::SeqCst);
    }
}

fn exit_now() -> ! {
    landform_state::release_all_held();
    crate::plugins::kill_all();
    std::process::exit(130)
}

/// Handle interrupts on a thread of their own, for the life of the process.
pub fn install() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else { return };
    std::thread::spawn(move || {
        for _ in signals.forever() {
            if SERVING.load(Ordering::SeqCst) {
                if stop_flag().swap(true, Ordering::SeqCst) {
                    exit_now();
                }
                continue;
            }
            if !APPLYING.load(Ordering::SeqCst) {
                crate::errln!("\nInterrupted; nothing was changed.");
                exit_now();
            }
            match COUNT.fetch_add(1, Ordering::SeqCst) {
                0 => {
                    stop_flag().store(true, Ordering::SeqCst);
                    crate::errln!("\nInterrupt received. Gracefully shutting down: no new operations start; those in flight finish and are saved. Press Ctrl-C again to stop the commands in flight.");
                }
                1 => {
                    crate::errln!("\nSecond interrupt: stopping the commands in flight; what finished is saved. Press Ctrl-C again to exit at once.");
                    kill_children();
                    std::thread::spawn(|| {
                        std::thread::sleep(Duration::from_secs(10));
                        crate::errln!("\nApply did not end after the commands were stopped; exiting.");
                        exit_now();
                    });
                }
                _ => exit_now(),
            }
        }
    });
}

/// Kill the process groups of this process's children (each local command
/// leads a group of its own).
fn kill_children() {
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
        // The fields after the command name, which is in parentheses and may hold spaces.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.len() > 2 && f[1] == me && f[2] == name {
            if let Some(pid) = name.parse().ok().and_then(rustix::process::Pid::from_raw) {
                let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            }
        }
    }
}
