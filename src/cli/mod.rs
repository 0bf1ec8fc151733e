//! The command line: clap definitions, input loading with the bad-input contract, output and
//! exit codes (0 = no finding at or above `--fail-on`, 1 = findings at or above it,
//! 2 = usage error or input that cannot be analysed). A closed stdout pipe ends quietly.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use crate::analysis::findings::{self, Finding, Severity};
use crate::analysis::{self, Analysis, Inputs, ReadAt};
use crate::report::text::{self, Style};
use crate::report::{DumpReport, Files};
use crate::source::{Evidence, Role, SourceError};

pub mod locks;
pub mod samples;

const AFTER_HELP: &str = "\
Exit status: 0 = done, no finding at or above --fail-on (default: error);
             1 = findings at or above --fail-on;
             2 = usage error, or the input cannot be analysed at all.

The inspected files are never written, created, truncated or locked, and SQLite never opens them.";

/// Look inside an SQLite database in WAL mode: the database file, its -wal and its -shm.
#[derive(Parser, Debug)]
#[command(name = "walinspect", version, about, long_about = None, after_help = AFTER_HELP, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Database, -wal or -shm to summarise (`info` when stdout is not a terminal).
    pub path: Option<PathBuf>,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(clap::Args, Debug, Clone)]
pub struct GlobalArgs {
    /// When to colour text output (honours NO_COLOR in auto mode).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    /// Exit with status 1 when a finding of this severity or worse is present.
    #[arg(long, value_enum, default_value_t = FailOn::Error, global = true)]
    pub fail_on: FailOn,
    /// Do not probe the live system (lock holders, filesystem, permissions): analyse the files
    /// alone (for evidence copies, or reproducible output).
    #[arg(long, global = true)]
    pub no_live: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    Error,
    Warning,
    Info,
}

impl FailOn {
    fn severity(self) -> Severity {
        match self {
            Self::Error => Severity::Error,
            Self::Warning => Severity::Warning,
            Self::Info => Severity::Info,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Decode every structure of the database header, the WAL and the -shm.
    #[command(after_help = AFTER_HELP)]
    Dump {
        /// Database file, or its -wal or -shm (siblings are found by name).
        path: PathBuf,
        /// Print one JSON document (schema "walinspect.dump", see docs/json-schema.md).
        #[arg(long)]
        json: bool,
    },
    /// Diagnose: list findings with stable codes, severities and locations.
    #[command(after_help = AFTER_HELP)]
    Check {
        /// Database file, or its -wal or -shm.
        path: PathBuf,
        /// Print one JSON document (schema "walinspect.check").
        #[arg(long)]
        json: bool,
    },
    /// A one-screen human summary: files, WAL generation, frames, checkpoint, readers, findings.
    #[command(after_help = AFTER_HELP)]
    Info {
        /// Database file, or its -wal or -shm.
        path: PathBuf,
    },
    /// Who holds the database's locks, what they are doing (writer, checkpoint, readers and
    /// their snapshots, starvation) and environment hazards; never takes a lock.
    #[command(after_help = AFTER_HELP)]
    Locks {
        /// Database file, or its -wal or -shm.
        path: PathBuf,
        /// Print one JSON document (schema "walinspect.locks", see docs/locks.md); with
        /// --watch, one document per line at every refresh.
        #[arg(long)]
        json: bool,
        /// Probe again at every interval until interrupted (or --count refreshes).
        #[arg(long)]
        watch: bool,
        /// Milliseconds between refreshes with --watch.
        #[arg(long, default_value_t = 500, requires = "watch")]
        interval: u64,
        /// Stop after this many refreshes with --watch.
        #[arg(long, requires = "watch")]
        count: Option<u64>,
    },
    /// Run `info` (or `dump --json`) on a sample state embedded in walinspect: no setup needed.
    #[command(after_help = AFTER_HELP)]
    Sample {
        /// Which sample: crashed (default), healthy, reset, damaged.
        #[arg(default_value = "crashed")]
        name: String,
        /// Print the `dump --json` document instead of the summary.
        #[arg(long)]
        json: bool,
        /// List the samples.
        #[arg(long)]
        list: bool,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

/// Entry point for the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(Failure::BrokenPipe) => ExitCode::SUCCESS,
        Err(Failure::Fatal(msg)) => {
            let _ = writeln!(io::stderr(), "walinspect: {msg}");
            ExitCode::from(2)
        }
    }
}

/// Why a command could not finish.
#[derive(Debug)]
pub enum Failure {
    /// stdout was closed by the reader: end quietly.
    BrokenPipe,
    /// Exit status 2 with this one-line message.
    Fatal(String),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe { Self::BrokenPipe } else { Self::Fatal(format!("cannot write output: {e}")) }
    }
}

impl From<SourceError> for Failure {
    fn from(e: SourceError) -> Self {
        Self::Fatal(e.to_string())
    }
}

fn style(g: &GlobalArgs) -> Style {
    let color = match g.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && io::stdout().is_terminal(),
    };
    Style { color }
}

fn run(cli: Cli) -> Result<u8, Failure> {
    let g = cli.global.clone();
    let command = match (cli.command, cli.path) {
        (Some(c), _) => c,
        (None, Some(path)) => Command::Info { path },
        (None, None) => {
            let mut cmd = Cli::command();
            let _ = cmd.print_help();
            return Err(Failure::Fatal("no command or path given".into()));
        }
    };
    match command {
        Command::Dump { path, json } => {
            let (ev, a) = load(&path)?;
            let f = locks::findings_for(&ev, &a, &g);
            let r = DumpReport::build("walinspect.dump", Files::of(&ev), &a, &f);
            emit(&r, json, |r| text::render_dump(r, style(&g)))?;
            Ok(exit_code(&f, g.fail_on))
        }
        Command::Check { path, json } => {
            let (ev, a) = load(&path)?;
            let f = locks::findings_for(&ev, &a, &g);
            let r = DumpReport::build("walinspect.check", Files::of(&ev), &a, &f);
            if json {
                emit_json(&r)?;
            } else {
                write_out(&text::render_check(&r, style(&g)))?;
            }
            Ok(exit_code(&f, g.fail_on))
        }
        Command::Info { path } => {
            let (ev, a) = load(&path)?;
            let f = locks::findings_for(&ev, &a, &g);
            let r = DumpReport::build("walinspect.dump", Files::of(&ev), &a, &f);
            write_out(&text::render_info(&r, style(&g)))?;
            Ok(exit_code(&f, g.fail_on))
        }
        Command::Locks { path, json, watch, interval, count } => locks::run(&path, json, watch, interval, count, &g),
        Command::Sample { name, json, list } => {
            if list {
                let mut o = String::new();
                for s in samples::SAMPLES {
                    o.push_str(&format!("{:<8} {}\n", s.name, s.about));
                }
                write_out(&o)?;
                return Ok(0);
            }
            let s = samples::find(&name).ok_or_else(|| {
                Failure::Fatal(format!("no sample named {name:?} (try --list)"))
            })?;
            let dir = std::env::temp_dir().join(format!("walinspect-sample-{}-{}", s.name, std::process::id()));
            std::fs::create_dir_all(&dir).map_err(|e| Failure::Fatal(format!("{}: {e}", dir.display())))?;
            let result = samples::materialise(s, &dir)
                .map_err(|e| Failure::Fatal(format!("{}: {e}", dir.display())))
                .and_then(|db| {
                    let (ev, a) = load(&db)?;
                    let f = findings::check(&a);
                    let r = DumpReport::build("walinspect.dump", Files::of(&ev), &a, &f);
                    if json { emit_json(&r)? } else {
                        write_out(&format!("Sample \"{}\": {}\n\n", s.name, s.about))?;
                        write_out(&text::render_info(&r, style(&g)))?;
                    }
                    Ok(exit_code(&f, g.fail_on))
                });
            let _ = std::fs::remove_dir_all(&dir);
            result
        }
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "walinspect", &mut buf);
            write_bytes(&buf)?;
            Ok(0)
        }
        Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut buf)?;
            write_bytes(&buf)?;
            Ok(0)
        }
    }
}

fn exit_code(f: &[Finding], fail_on: FailOn) -> u8 {
    u8::from(f.iter().any(|x| x.severity >= fail_on.severity()))
}

fn emit(r: &DumpReport, json: bool, render: impl Fn(&DumpReport) -> String) -> Result<(), Failure> {
    if json { emit_json(r) } else { write_out(&render(r)) }
}

fn emit_json<T: serde::Serialize>(v: &T) -> Result<(), Failure> {
    let mut s = serde_json::to_string_pretty(v).map_err(|e| Failure::Fatal(format!("cannot serialise: {e}")))?;
    s.push('\n');
    write_out(&s)
}

/// One compact JSON document on one line (JSON Lines, for streams).
fn emit_json_line<T: serde::Serialize>(v: &T) -> Result<(), Failure> {
    let mut s = serde_json::to_string(v).map_err(|e| Failure::Fatal(format!("cannot serialise: {e}")))?;
    s.push('\n');
    write_out(&s)
}

fn write_out(s: &str) -> Result<(), Failure> {
    write_bytes(s.as_bytes())
}

fn write_bytes(b: &[u8]) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    out.write_all(b)?;
    out.flush()?;
    Ok(())
}

/// Open the evidence and analyse it, applying the bad-input contract: the named file must be
/// something walinspect can analyse; damage inside otherwise readable files is left to the
/// findings.
pub fn load(path: &Path) -> Result<(Evidence, Analysis), Failure> {
    let ev = Evidence::open(path)?;
    let a = analyze_evidence(&ev);
    let named = ev.paths.named;
    let p = ev.paths.get(named);
    match named {
        Role::Db => {
            let wal_has_frames = ev.wal.as_ref().is_some_and(|w| w.len() > 32);
            if let Some(problem) = &a.db_problem {
                let empty = ev.db.as_ref().is_some_and(|d| d.is_empty());
                if !(empty && wal_has_frames) {
                    return Err(SourceError::new(p, if empty { "empty file (0 bytes): not a database".to_string() } else { problem.clone() }).into());
                }
            }
        }
        Role::Wal => {
            let w = a.wal.as_ref();
            let db_present = ev.db.as_ref().is_some_and(|d| !d.is_empty());
            if !db_present {
                let len = w.map_or(0, |w| w.file_len);
                if len <= 32 {
                    return Err(SourceError::new(p, format!("{len}-byte -wal holds no frames and there is no database file next to it")).into());
                }
                if w.and_then(|w| w.header).is_some_and(|h| !h.magic_ok()) {
                    return Err(SourceError::new(p, "not an SQLite WAL (bad magic) and there is no database file next to it").into());
                }
            }
        }
        Role::Shm => {
            if ev.db.is_none() && ev.wal.is_none() {
                return Err(SourceError::new(p, "no database or -wal next to this -shm").into());
            }
            if let (Some(_), Some(problem)) = (&ev.db, &a.db_problem) {
                if ev.wal.is_none() {
                    return Err(SourceError::new(&ev.paths.db, problem.clone()).into());
                }
            }
        }
    }
    Ok((ev, a))
}

/// Analyse opened evidence.
pub fn analyze_evidence(ev: &Evidence) -> Analysis {
    fn r(f: &Option<crate::source::EvidenceFile>) -> Option<(&dyn ReadAt, u64)> {
        f.as_ref().map(|f| (&f.file as &dyn ReadAt, f.len()))
    }
    analysis::analyze(&Inputs { db: r(&ev.db), wal: r(&ev.wal), shm: r(&ev.shm) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
