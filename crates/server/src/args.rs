//! One argument cursor for every handler.
//!
//! `Args` walks the arguments after the command name. Typed reads return
//! Redis's exact error for a bad value; `finish()` rejects leftovers with a
//! syntax error. Option groups follow Redis's rule: the same option may repeat,
//! a different option from the same group is a syntax error.

use crate::error::CmdError;
use types::num;

#[derive(Clone, Copy)]
pub struct Args<'a> {
    argv: &'a [&'a [u8]],
    pos: usize,
}

impl<'a> Args<'a> {
    /// `argv[0]` is the command name; the cursor starts after `skip` items.
    pub fn new(argv: &'a [&'a [u8]], skip: usize) -> Self {
        Args { argv, pos: skip.min(argv.len()) }
    }

    /// All arguments including the command name.
    pub fn all(&self) -> &'a [&'a [u8]] {
        self.argv
    }

    /// The arguments not read yet.
    pub fn rest(&self) -> &'a [&'a [u8]] {
        &self.argv[self.pos..]
    }

    pub fn remaining(&self) -> usize {
        self.argv.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.argv.len()
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn peek(&self) -> Option<&'a [u8]> {
        self.argv.get(self.pos).copied()
    }

    /// The next argument; a syntax error when there is none.
    pub fn next_bytes(&mut self) -> Result<&'a [u8], CmdError> {
        let a = self.argv.get(self.pos).copied().ok_or_else(|| CmdError::Syntax)?;
        self.pos += 1;
        Ok(a)
    }

    pub fn next_key(&mut self) -> Result<&'a [u8], CmdError> {
        self.next_bytes()
    }

    /// Takes the rest of the arguments.
    pub fn take_rest(&mut self) -> &'a [&'a [u8]] {
        let r = &self.argv[self.pos..];
        self.pos = self.argv.len();
        r
    }

    pub fn next_i64(&mut self) -> Result<i64, CmdError> {
        parse_i64(self.next_bytes()?)
    }

    pub fn next_f64(&mut self) -> Result<f64, CmdError> {
        parse_f64(self.next_bytes()?)
    }

    /// True (and consumed) if the next argument equals `word`, ignoring case.
    pub fn eat(&mut self, word: &str) -> bool {
        match self.peek() {
            Some(a) if a.eq_ignore_ascii_case(word.as_bytes()) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    /// Reads one option of a group of mutually exclusive words. Returns
    /// `Ok(Some(v))` if the next argument is one of them; a different member of
    /// the group than one already set is a syntax error.
    pub fn eat_group<T: Copy + PartialEq>(
        &mut self,
        slot: &mut Option<T>,
        group: &[(&str, T)],
    ) -> Result<Option<T>, CmdError> {
        let Some(a) = self.peek() else { return Ok(None) };
        for (w, v) in group {
            if a.eq_ignore_ascii_case(w.as_bytes()) {
                if matches!(slot, Some(old) if *old != *v) {
                    return Err(CmdError::Syntax);
                }
                *slot = Some(*v);
                self.pos += 1;
                return Ok(Some(*v));
            }
        }
        Ok(None)
    }

    /// Fails with a syntax error if anything is left.
    pub fn finish(&self) -> Result<(), CmdError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(CmdError::Syntax)
        }
    }
}

pub fn parse_i64(b: &[u8]) -> Result<i64, CmdError> {
    num::parse_i64(b).ok_or_else(|| CmdError::NotInteger)
}

pub fn parse_f64(b: &[u8]) -> Result<f64, CmdError> {
    num::parse_f64(b).ok_or_else(|| CmdError::NotFloat)
}

/// Case-insensitive comparison of an argument with an ASCII word.
pub fn is(a: &[u8], word: &str) -> bool {
    a.eq_ignore_ascii_case(word.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups() {
        let argv: Vec<&[u8]> = vec![b"set", b"NX", b"nx", b"XX"];
        let mut a = Args::new(&argv, 1);
        let mut slot = None;
        assert_eq!(a.eat_group(&mut slot, &[("NX", 1), ("XX", 2)]), Ok(Some(1)));
        assert_eq!(a.eat_group(&mut slot, &[("NX", 1), ("XX", 2)]), Ok(Some(1)));
        assert_eq!(a.eat_group(&mut slot, &[("NX", 1), ("XX", 2)]), Err(CmdError::Syntax));
    }
}
