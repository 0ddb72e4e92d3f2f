//! The one error type of the command path. `Display` is the exact text Redis
//! sends (without the leading '-'); `code()` is the first word, for INFO
//! errorstats. Only protocol errors (in the `resp` crate) close a connection.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CmdError {
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(String),
    #[error("ERR syntax error")]
    Syntax,
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    #[error("ERR value is not a valid float")]
    NotFloat,
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    #[error("ERR no such key")]
    NoSuchKey,
    #[error("ERR DB index is out of range")]
    DbIndexOutOfRange,
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    #[error("ERR invalid expire time in '{0}' command")]
    InvalidExpire(String),
    #[error("ERR unknown command '{name}', with args beginning with: {args}")]
    UnknownCommand { name: String, args: String },
    #[error("ERR unknown subcommand '{sub}'. Try {cmd} HELP.")]
    UnknownSubcommand { cmd: String, sub: String },
    #[error("NOAUTH Authentication required.")]
    NoAuth,
    #[error("WRONGPASS invalid username-password pair or user is disabled.")]
    WrongPass,
    #[error("EXECABORT Transaction discarded because of previous errors.")]
    ExecAbort,
    #[error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")]
    StringTooLong,
    #[error("ERR index out of range")]
    IndexOutOfRange,
    #[error("BUSYKEY Target key name already exists.")]
    BusyKey,
    /// Any other message, written in full including its code
    /// (`ERR ...`, `NOPROTO ...`).
    #[error("{0}")]
    Msg(String),
}

impl CmdError {
    pub fn msg(s: impl Into<String>) -> Self {
        CmdError::Msg(s.into())
    }

    /// `ERR <text>`.
    pub fn err(s: impl AsRef<str>) -> Self {
        CmdError::Msg(format!("ERR {}", s.as_ref()))
    }

    /// Redis's addReplySubcommandSyntaxError, for the command line `argv`
    /// (container name first, then the subcommand as given).
    pub fn subcommand_syntax(argv: &[&[u8]]) -> Self {
        let sub = argv.get(1).map_or(&b""[..], |s| &s[..s.len().min(128)]);
        CmdError::err(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
            String::from_utf8_lossy(sub),
            String::from_utf8_lossy(argv[0]).to_uppercase()
        ))
    }

    /// The error code: the first word of the message.
    pub fn code(&self) -> String {
        let s = self.to_string();
        s.split(' ').next().unwrap_or("ERR").to_string()
    }
}

pub type CmdResult = Result<(), CmdError>;
