//! Lua scripting (EVAL family, SCRIPT) and Functions.
//!
//! A script runs with every shard locked (EVAL & co are bound with
//! `.lock_all()`), so it is atomic across cores. While one runs, `Busy`
//! records its start; once it has run past `busy-reply-threshold`, the
//! dispatcher answers other clients BUSY (before trying to lock anything)
//! unless their command is flagged allow_busy (SCRIPT KILL, FUNCTION KILL,
//! SHUTDOWN ...). SCRIPT KILL sets a flag that the Lua instruction-count
//! hook turns into an error inside the script.

use crate::cmdspec::{f, CommandSpec};
use crate::error::CmdError;
use crate::server::Server;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

/// What every connection may read about the script running now.
#[derive(Default)]
pub struct Busy {
    /// Milliseconds since server start when the running script began, plus
    /// one; 0 when no script runs.
    started: AtomicI64,
    /// The running script is a function (FCALL), not an EVAL script.
    is_function: AtomicBool,
    /// The running script has written (SCRIPT KILL then refuses).
    pub wrote: AtomicBool,
    /// SCRIPT KILL / FUNCTION KILL asked the script to stop.
    pub kill: AtomicBool,
}

fn elapsed_ms(srv: &Server) -> i64 {
    srv.started.elapsed().as_millis() as i64
}

impl Busy {
    pub fn begin(&self, srv: &Server, is_function: bool) {
        self.is_function.store(is_function, Ordering::SeqCst);
        self.wrote.store(false, Ordering::SeqCst);
        self.kill.store(false, Ordering::SeqCst);
        self.started.store(elapsed_ms(srv) + 1, Ordering::SeqCst);
    }

    pub fn end(&self) {
        self.started.store(0, Ordering::SeqCst);
        self.kill.store(false, Ordering::SeqCst);
    }

    pub fn running(&self) -> bool {
        self.started.load(Ordering::SeqCst) != 0
    }

    pub fn is_function(&self) -> bool {
        self.is_function.load(Ordering::SeqCst)
    }

    /// True once the running script has passed busy-reply-threshold.
    pub fn timed_out(&self, srv: &Server) -> bool {
        let s = self.started.load(Ordering::SeqCst);
        if s == 0 {
            return false;
        }
        let threshold = srv.config.get_num("busy-reply-threshold");
        threshold > 0 && elapsed_ms(srv) - (s - 1) >= threshold
    }
}

/// The BUSY error for a command arriving while a script has been running
/// too long; `None` if the command may run.
pub fn busy_error(srv: &Server, spec: &CommandSpec) -> Option<CmdError> {
    let busy = &srv.scripting.busy;
    if !busy.running() || spec.has(f::ALLOW_BUSY) || !busy.timed_out(srv) {
        return None;
    }
    Some(if busy.is_function() {
        CmdError::msg("BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.")
    } else {
        CmdError::msg("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")
    })
}

/// The server's scripting state.
#[derive(Default)]
pub struct Scripting {
    pub busy: Busy,
}
