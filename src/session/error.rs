//! The one error type of a session, and its exit status.

use std::fmt;
use std::io;

use crate::source::SourceError;

/// Why a command could not finish. Every variant but [`Error::BrokenPipe`] ends the run with
/// exit status 2 and one line on stderr ([`Error::exit_status`]).
#[derive(Debug)]
pub enum Error {
    /// stdout was closed by its reader (`walinspect dump x.db | head`): end quietly.
    BrokenPipe,
    /// The evidence cannot be analysed at all (missing, unreadable, not SQLite, ...).
    Input(SourceError),
    /// Writing output failed.
    Output(io::Error),
    /// The command cannot do what was asked (a refusal, a bad argument): the message says why.
    Refused(String),
    /// A resource the command needs could not be had (a terminal, a scratch directory, a
    /// child process): what was attempted, and the system's error.
    System { what: String, source: io::Error },
    /// A layer above the session failed with its own typed error (repair's `RepairError`, ...).
    Failed(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl Error {
    /// A refusal with this message.
    pub fn refused(msg: impl Into<String>) -> Self {
        Self::Refused(msg.into())
    }

    /// A failed system resource.
    pub fn system(what: impl Into<String>, source: io::Error) -> Self {
        Self::System { what: what.into(), source }
    }

    /// The process exit status for this error: 0 for a closed pipe, 2 otherwise.
    pub fn exit_status(&self) -> u8 {
        match self {
            Self::BrokenPipe => 0,
            _ => 2,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BrokenPipe => f.write_str("output closed"),
            Self::Input(e) => write!(f, "{e}"),
            Self::Output(e) => write!(f, "cannot write output: {e}"),
            Self::Refused(m) => f.write_str(m),
            Self::System { what, source } => write!(f, "{what}: {source}"),
            Self::Failed(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Input(e) => Some(e),
            Self::Output(e) | Self::System { source: e, .. } => Some(e),
            Self::Failed(e) => e.source(),
            Self::BrokenPipe | Self::Refused(_) => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe { Self::BrokenPipe } else { Self::Output(e) }
    }
}

impl From<SourceError> for Error {
    fn from(e: SourceError) -> Self {
        Self::Input(e)
    }
}
