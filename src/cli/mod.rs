//! The command line: clap definitions, input loading with the bad-input contract, output and
//! exit codes (0 = no finding at or above `--fail-on`, 1 = findings at or above it,
//! 2 = usage error or input that cannot be analysed). A closed stdout pipe ends quietly.

mod deep;
mod forensics;
mod scan;

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use crate::analysis::findings::{self, Finding, Severity};
use crate::format::escape::{escape_json, escape_output};
use crate::present::text::{self, Style};
use crate::report::{DumpReport, Files};
use crate::session::{Error, Options, Session};

pub mod locks;
pub mod repair_cmd;
pub mod samples;

const AFTER_HELP: &str = "\
Exit status: 0 = done, no finding at or above --fail-on (default: error);
             1 = findings at or above --fail-on;
             2 = usage error, or the input cannot be analysed at all.

The inspected files are never written, created, truncated or locked, and SQLite never opens them.";

const TUI_HELP: &str = "\
Keys: ? shows every key (scroll it with the arrows); q quits. Tab or 1-8 switch views
(Overview, Frames, Frame detail, -shm, Findings, Locks, Timeline, Events); arrows or hjkl
move; Enter opens a frame; / searches (n/N next/previous match); : jumps (123 frame, p42
page, c7 commit); f/F filter by state/page; p pins the state; z zooms; Ctrl-Z suspends.
The Overview's first line is the verdict: what to know first.

The files are polled, never written, created, truncated or locked.";

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

/// The help heading of the options every command takes.
const GLOBAL: &str = "Global options (before or after the command)";

#[derive(clap::Args, Debug, Clone)]
pub struct GlobalArgs {
    /// When to colour text output (honours NO_COLOR in auto mode).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, help_heading = GLOBAL)]
    pub color: ColorChoice,
    /// Exit with status 1 when a finding of this severity or worse is present.
    #[arg(long, value_enum, default_value_t = FailOn::Error, global = true, help_heading = GLOBAL)]
    pub fail_on: FailOn,
    /// Map the -wal into memory instead of reading it: fastest on large offline evidence
    /// copies. Not for a live database: if the file is truncated meanwhile, walinspect stops
    /// with exit status 2.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub mmap: bool,
    /// Do not probe the live system (lock holders, filesystem, permissions): analyse the files
    /// alone (for evidence copies, or reproducible output).
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub no_live: bool,
    /// The database file to pair with PATH when their names do not match (PATH is then the
    /// -wal or -shm, by its name or its content).
    #[arg(long, value_name = "FILE", global = true)]
    pub db: Option<PathBuf>,
    /// The -wal to pair with PATH when their names do not match (e.g. a WAL stored as
    /// `wal-00` or `0000000000000001.wal`).
    #[arg(long, value_name = "FILE", global = true)]
    pub wal: Option<PathBuf>,
    /// The -shm to pair with PATH when their names do not match.
    #[arg(long, value_name = "FILE", global = true)]
    pub shm: Option<PathBuf>,
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
        /// Add each valid frame's owning table or index (walks the b-trees; see docs/forensics.md).
        #[arg(long)]
        owners: bool,
    },
    /// Diagnose: list findings with stable codes, severities and locations.
    #[command(after_help = AFTER_HELP)]
    Check {
        /// Database file, or its -wal or -shm.
        path: PathBuf,
        /// Print one JSON document (schema "walinspect.check").
        #[arg(long)]
        json: bool,
        /// With --json: only the files, findings, summary and verdict, not the decoded
        /// database, WAL and -shm (small and fast on a large WAL).
        #[arg(long, requires = "json")]
        findings_only: bool,
        #[command(flatten)]
        deep: deep::DeepArgs,
    },
    /// A one-screen human summary: files, WAL generation, frames, checkpoint, readers, findings.
    #[command(after_help = AFTER_HELP)]
    Info {
        /// Database file, or its -wal or -shm.
        path: PathBuf,
        /// Print the summary as one JSON document (the `dump --json` document with its
        /// `verdict`, without the per-frame list).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        deep: deep::DeepArgs,
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
    /// Open a sample state embedded in walinspect (the terminal UI on a terminal, else `info`,
    /// or `dump --json`): no setup needed.
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
    /// Write the -shm SQLite's own recovery would build from this database's WAL.
    #[command(after_help = repair_cmd::REBUILD_SHM_HELP)]
    RebuildShm(repair_cmd::RebuildShmArgs),
    /// Write a standalone database as of the last (or any) commit, with provenance.
    #[command(after_help = repair_cmd::EXTRACT_HELP)]
    Extract(repair_cmd::ExtractArgs),
    /// Watch a live database in a terminal UI: commits, WAL resets, checkpoints, readers.
    #[command(after_help = TUI_HELP)]
    Tui {
        /// Database file, or its -wal or -shm.
        path: PathBuf,
        /// How often to look at the files, in milliseconds.
        #[arg(long, default_value_t = 250, value_parser = clap::value_parser!(u64).range(10..=60_000))]
        interval: u64,
        /// Append every event of the Events view to FILE as JSON Lines (see docs/json-schema.md).
        #[arg(long, value_name = "FILE")]
        log: Option<PathBuf>,
    },
    /// Open the terminal UI on a scratch database that a real SQLite writer keeps changing
    /// (in a temporary directory, removed on exit).
    #[command(after_help = TUI_HELP)]
    Demo {
        /// How often to look at the files, in milliseconds.
        #[arg(long, default_value_t = 250, value_parser = clap::value_parser!(u64).range(10..=60_000))]
        interval: u64,
    },
    /// The demo's writer process (internal).
    #[command(name = "__demo-writer", hide = true)]
    DemoWriter {
        /// The scratch directory.
        dir: PathBuf,
    },
    /// One entry per commit: frames, size, pages written grouped by owning object, and with
    /// --rows the rows each commit inserted, updated and deleted.
    #[command(after_help = AFTER_HELP)]
    Timeline {
        /// Database file, or its -wal or -shm.
        path: PathBuf,
        /// Print one JSON document (schema "walinspect.timeline", see docs/forensics.md).
        #[arg(long)]
        json: bool,
        /// Diff the changed b-trees: rowids (or primary keys) inserted, updated, deleted.
        #[arg(long)]
        rows: bool,
        /// With the old and new values of each changed row (implies --rows).
        #[arg(long)]
        values: bool,
        #[command(flatten)]
        export: forensics::ExportArgs,
    },
    /// Every version of one row found anywhere: database file, commits, uncommitted tail,
    /// earlier WAL generations, frames after a checksum break.
    #[command(after_help = AFTER_HELP)]
    History {
        /// Database file, or its -wal or -shm.
        path: PathBuf,
        /// The table.
        #[arg(long)]
        table: String,
        /// The rowid (rowid tables).
        #[arg(long, conflicts_with = "key")]
        rowid: Option<i64>,
        /// A primary-key value of a WITHOUT ROWID table, once per key column in key order.
        #[arg(long)]
        key: Vec<String>,
        /// Print one JSON document (schema "walinspect.history").
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        export: forensics::ExportArgs,
    },
    /// Rows held only by frames SQLite ignores (earlier generations, after a checksum break,
    /// the uncommitted tail, a torn frame), with their provenance.
    #[command(after_help = AFTER_HELP)]
    Salvage {
        /// Database file, or its -wal or -shm.
        path: PathBuf,
        /// Print one JSON document (schema "walinspect.salvage").
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        export: forensics::ExportArgs,
    },
    /// Triage folders: find every SQLite file by its content, group databases with their -wal,
    /// -shm and -journal (and lone WALs, -shm, journals), analyse each set as `check` does, in
    /// parallel, and list the sets worst first with the SHA-256 of every file read.
    #[command(after_help = AFTER_HELP)]
    Scan(scan::ScanArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): walinspect(1), or with COMMAND that command's page
    /// walinspect-COMMAND(1); `--dir DIR` writes every page (walinspect.1 and one
    /// walinspect-COMMAND.1 per command) into DIR, for `man -l` or a MANPATH.
    Man {
        /// The command whose page to print (e.g. `extract`).
        command: Option<String>,
        /// Write all pages into this directory instead of printing one.
        #[arg(long, value_name = "DIR", conflicts_with = "command")]
        dir: Option<PathBuf>,
    },
}

/// The global options that take a value (`--color WHEN`, `--fail-on SEVERITY`).
const GLOBAL_WITH_VALUE: &[&str] = &["--color", "--fail-on"];

/// Levenshtein distance (short strings: command names).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

/// Make the command line what clap expects: global options written before the subcommand
/// (`walinspect --no-live check x.db`) move after it; a mistyped subcommand followed by a path
/// (`walinspect chekc x.db`) is a usage error naming the closest command.
pub fn normalise_args(args: Vec<std::ffi::OsString>) -> Result<Vec<std::ffi::OsString>, String> {
    let cmd = Cli::command();
    let names: Vec<String> = cmd
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .flat_map(|c| std::iter::once(c.get_name().to_string()).chain(c.get_all_aliases().map(str::to_string)))
        .collect();
    let mut leading = Vec::new();
    let mut i = 1;
    while let Some(a) = args.get(i) {
        let t = a.to_string_lossy();
        if t == "--" || !t.starts_with('-') {
            break;
        }
        leading.push(a.clone());
        if GLOBAL_WITH_VALUE.contains(&t.as_ref())
            && let Some(v) = args.get(i + 1)
        {
            leading.push(v.clone());
            i += 1;
        }
        i += 1;
    }
    let Some(first) = args.get(i).map(|a| a.to_string_lossy().into_owned()) else { return Ok(args) };
    let is_command = names.contains(&first) || cmd.find_subcommand(&first).is_some();
    if is_command {
        if leading.is_empty() {
            return Ok(args);
        }
        let mut out: Vec<std::ffi::OsString> = args.iter().take(1).cloned().collect();
        out.extend(args.get(i).cloned());
        out.extend(leading);
        out.extend(args.iter().skip(i + 1).cloned());
        return Ok(out);
    }
    let more_positionals = args.iter().skip(i + 1).any(|a| !a.to_string_lossy().starts_with('-'));
    if more_positionals && !std::path::Path::new(&first).exists() {
        let best = names.iter().map(|n| (distance(&first, n), n)).min();
        let hint = match best {
            Some((d, n)) if d <= 2 => format!(" (did you mean '{n}'?)"),
            _ => String::new(),
        };
        return Err(format!(
            "error: unknown command '{first}'{hint}\n\nCommands: {}\nFor more information, try '--help'.",
            names.join(", ")
        ));
    }
    Ok(args)
}

/// Wrap clap's help text at `width`: a long line continues under its description column (after
/// the option's name) or under its own indentation.
pub fn wrap_help(text: &str, width: usize) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.chars().count() <= width {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let indent = line.chars().take_while(|c| *c == ' ').count();
        // The description column: after the first gap of two spaces following the name.
        let chars: Vec<char> = line.chars().collect();
        let mut col = indent;
        let mut k = indent;
        // (the name part ends at the first two-space gap)
        while k + 1 < chars.len() {
            if chars.get(k) == Some(&' ') && chars.get(k + 1) == Some(&' ') {
                let mut e = k;
                while chars.get(e) == Some(&' ') {
                    e += 1;
                }
                col = e;
                break;
            }
            k += 1;
        }
        if col >= width / 2 {
            col = indent;
        }
        let prefix: String = chars.iter().take(col).collect();
        let rest: String = chars.iter().skip(col).collect();
        let room = width.saturating_sub(col).max(20);
        let mut first = true;
        let mut cur = String::new();
        let flush = |cur: &mut String, first: &mut bool, out: &mut String| {
            let lead = if *first { prefix.clone() } else { " ".repeat(col) };
            out.push_str(&lead);
            out.push_str(cur);
            out.push('\n');
            cur.clear();
            *first = false;
        };
        for word in rest.split(' ').filter(|w| !w.is_empty()) {
            if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > room {
                flush(&mut cur, &mut first, &mut out);
            }
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(word);
        }
        if !cur.is_empty() || first {
            flush(&mut cur, &mut first, &mut out);
        }
    }
    out
}

/// Entry point for the binary.
pub fn main() -> ExitCode {
    let args = match normalise_args(std::env::args_os().collect()) {
        Ok(a) => a,
        Err(msg) => {
            let _ = writeln!(io::stderr(), "{msg}");
            return ExitCode::from(2);
        }
    };
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            if e.kind() == clap::error::ErrorKind::DisplayHelp {
                // Help wraps at the terminal's width (clap alone does not without its
                // terminal-size feature).
                let width = crossterm::terminal::size().map_or(100, |(w, _)| usize::from(w)).clamp(40, 200);
                let _ = write!(io::stdout(), "{}", wrap_help(&e.render().to_string(), width));
            } else {
                let _ = e.print();
            }
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e @ Error::BrokenPipe) => ExitCode::from(e.exit_status()),
        Err(e) => {
            // Messages name paths and other untrusted text: one line, every control made visible.
            let _ = writeln!(io::stderr(), "walinspect: {}", crate::format::escape::escape(&e.to_string()));
            ExitCode::from(e.exit_status())
        }
    }
}

/// The `crc32` of every frame of a `dump` document (the page images are read again).
fn add_crc32s(ev: &crate::source::Evidence, a: &crate::analysis::Analysis, r: &mut DumpReport) {
    if let (Some(file), Some(w)) = (&ev.wal, &a.wal) {
        r.set_crc32s(&crate::analysis::wal::page_crc32s(&file.file, w));
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

fn run(cli: Cli) -> Result<u8, Error> {
    let g = cli.global.clone();
    if g.mmap {
        crate::source::mmap::install_sigbus_handler();
    }
    let command = match (cli.command, cli.path) {
        (Some(c), _) => c,
        (None, Some(path)) if io::stdout().is_terminal() => Command::Tui { path, interval: 250, log: None },
        (None, Some(path)) => {
            Command::Info { path, json: false, deep: deep::DeepArgs { deep: None, commit: None, max_errors: 100 } }
        }
        (None, None) => {
            let mut cmd = Cli::command();
            let _ = cmd.print_help();
            return Err(Error::Refused("no command or path given".into()));
        }
    };
    match command {
        Command::Dump { path, json, owners } => {
            let session = open(&path, &g)?;
            let (ev, a) = (&session.evidence, &session.analysis);
            let (f, v) = session.findings_and_verdict();
            let mut r = DumpReport::build("walinspect.dump", Files::of(ev), a, &f);
            r.set_verdict(&v);
            add_crc32s(ev, a, &mut r);
            if owners {
                forensics::add_owners(ev, a, &mut r);
            }
            emit(&r, json, style(&g).color, |r| text::render_dump(r, style(&g)))?;
            Ok(exit_code(&f, g.fail_on))
        }
        Command::Check { path, json, findings_only, deep } => {
            let session = open(&path, &g)?;
            let (ev, a) = (&session.evidence, &session.analysis);
            let (mut f, live) = session.findings_with_live();
            let d = deep::run(&session, &deep)?;
            if let Some((_, df)) = &d {
                f.extend(df.iter().cloned());
                f.sort_by_key(|x| std::cmp::Reverse(x.severity));
            }
            let mut r = DumpReport::build_with("walinspect.check", Files::of(ev), a, &f, json && !findings_only);
            r.set_verdict(&crate::live::verdict::verdict(a, &f, live.as_ref().map(|l| &l.locks), None));
            if findings_only {
                emit_json(&crate::report::FindingsOnlyReport::from(r))?;
            } else if json {
                match &d {
                    Some((section, _)) => emit_json(&with_deep(&r, section)?)?,
                    None => emit_json(&r)?,
                }
            } else {
                write_text(&text::render_check(&r, style(&g)), style(&g).color)?;
                if let Some((section, _)) = &d {
                    write_text(&crate::present::deep::render_deep(section, style(&g)), style(&g).color)?;
                }
            }
            Ok(exit_code(&f, g.fail_on))
        }
        Command::Info { path, json, deep } => {
            let session = open(&path, &g)?;
            let (ev, a) = (&session.evidence, &session.analysis);
            let (mut f, live) = session.findings_with_live();
            let d = deep::run(&session, &deep)?;
            if let Some((_, df)) = &d {
                f.extend(df.iter().cloned());
                f.sort_by_key(|x| std::cmp::Reverse(x.severity));
            }
            let mut r = DumpReport::build_with("walinspect.dump", Files::of(ev), a, &f, json);
            r.set_verdict(&crate::live::verdict::verdict(a, &f, live.as_ref().map(|l| &l.locks), None));
            if json {
                match &d {
                    Some((section, _)) => emit_json(&with_deep(&r, section)?)?,
                    None => emit_json(&r)?,
                }
            } else {
                write_text(&text::render_info(&r, style(&g)), style(&g).color)?;
                if let Some((section, _)) = &d {
                    write_text(&crate::present::deep::render_deep(section, style(&g)), style(&g).color)?;
                }
            }
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
            let s =
                samples::find(&name).ok_or_else(|| Error::Refused(format!("no sample named {name:?} (try --list)")))?;
            let dir = std::env::temp_dir().join(format!("walinspect-sample-{}-{}", s.name, std::process::id()));
            std::fs::create_dir_all(&dir).map_err(|e| Error::Refused(format!("{}: {e}", dir.display())))?;
            let result = samples::materialise(s, &dir)
                .map_err(|e| Error::Refused(format!("{}: {e}", dir.display())))
                .and_then(|db| {
                    if !json && io::stdout().is_terminal() {
                        // On a terminal the sample opens in the UI (its files stay read-only).
                        let title = format!("sample \"{}\": {}", s.name, s.about);
                        return crate::tui::run_paths(
                            crate::tui::preflight(&db)?,
                            title,
                            std::time::Duration::from_millis(250),
                        );
                    }
                    // A sample is a set of files, not a live database: no live probe.
                    let session = Session::open(&db, Options { live: false, ..options(&g) })?;
                    let f = findings::check(&session.analysis);
                    let mut r =
                        DumpReport::build("walinspect.dump", Files::of(&session.evidence), &session.analysis, &f);
                    add_crc32s(&session.evidence, &session.analysis, &mut r);
                    if json {
                        emit_json(&r)?
                    } else {
                        write_out(&format!("Sample \"{}\": {}\n\n", s.name, s.about))?;
                        write_text(&text::render_info(&r, style(&g)), style(&g).color)?;
                    }
                    Ok(exit_code(&f, g.fail_on))
                });
            let _ = std::fs::remove_dir_all(&dir);
            result
        }
        Command::RebuildShm(args) => repair_cmd::rebuild_shm(&args, options(&g)),
        Command::Extract(args) => repair_cmd::extract(&args, options(&g)),
        Command::Tui { path, interval, log } => {
            crate::tui::run(&path, std::time::Duration::from_millis(interval), log.as_deref())
        }
        Command::Demo { interval } => crate::tui::demo::run(std::time::Duration::from_millis(interval)),
        Command::DemoWriter { dir } => crate::tui::demo::writer(&dir),
        Command::Timeline { path, json, rows, values, export } => forensics::timeline(
            &path,
            &export.output(json)?,
            forensics::Detail::from_flags(rows, values),
            g.fail_on,
            options(&g),
        ),
        Command::History { path, table, rowid, key, json, export } => {
            forensics::row_history(&path, &table, rowid, &key, &export.output(json)?, g.fail_on, options(&g))
        }
        Command::Salvage { path, json, export } => {
            forensics::salvage_rows(&path, &export.output(json)?, g.fail_on, options(&g))
        }
        Command::Scan(args) => scan::run(&args, &g),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "walinspect", &mut buf);
            write_bytes(&buf)?;
            Ok(0)
        }
        Command::Man { command, dir } => man(command.as_deref(), dir.as_deref()),
    }
}

/// The man pages: the top page names `walinspect-COMMAND(1)` for every command, so every command
/// has its own page, rendered from the same CLI definition (`clap_mangen`).
fn man_pages() -> Vec<(String, Vec<u8>)> {
    // `build` names each command `walinspect-COMMAND` (its display name) with the bin name
    // `walinspect COMMAND`, as clap_mangen titles and the top page's SEE ALSO list expect.
    let mut top = Cli::command();
    top.build();
    let mut pages = Vec::new();
    let mut render = |name: String, cmd: clap::Command| {
        let mut buf = Vec::new();
        // Rendering into a Vec cannot fail; an empty page would show it.
        let _ = clap_mangen::Man::new(cmd).render(&mut buf);
        pages.push((name, buf));
    };
    render("walinspect".into(), top.clone());
    for sub in top.get_subcommands().filter(|c| !c.is_hide_set()) {
        let name = sub.get_display_name().map_or_else(|| format!("walinspect-{}", sub.get_name()), str::to_string);
        render(name, sub.clone());
    }
    pages
}

fn man(command: Option<&str>, dir: Option<&Path>) -> Result<u8, Error> {
    let pages = man_pages();
    if let Some(dir) = dir {
        let protected = crate::repair::output::Protected::default();
        std::fs::create_dir_all(dir).map_err(|e| Error::system(format!("cannot create {}", dir.display()), e))?;
        for (name, page) in &pages {
            let target = dir.join(format!("{name}.1"));
            let dest = crate::repair::output::check_target(&target, &protected, true, "man page")?;
            crate::repair::output::write_whole(&dest, &protected, true, page)?;
        }
        write_text(
            &format!("{} man pages written to {}\n", pages.len(), crate::format::escape::escape_path(dir)),
            false,
        )?;
        return Ok(0);
    }
    let want = command.map_or_else(|| "walinspect".to_string(), |c| format!("walinspect-{c}"));
    match pages.iter().find(|(name, _)| *name == want) {
        Some((_, page)) => {
            write_bytes(page)?;
            Ok(0)
        }
        None => Err(Error::refused(format!(
            "no man page for {}: the commands are {}",
            command.unwrap_or_default(),
            pages.iter().skip(1).map(|(n, _)| n.trim_start_matches("walinspect-")).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// The check document with the deep check's section added as `deep`.
fn with_deep(r: &DumpReport, d: &crate::report::deep::DeepSection) -> Result<serde_json::Value, Error> {
    let ser = |e| Error::system("cannot serialise", io::Error::other(e));
    let mut v = serde_json::to_value(r).map_err(ser)?;
    if let serde_json::Value::Object(m) = &mut v {
        m.insert("deep".into(), serde_json::to_value(d).map_err(ser)?);
    }
    Ok(v)
}

fn exit_code(f: &[Finding], fail_on: FailOn) -> u8 {
    u8::from(f.iter().any(|x| x.severity >= fail_on.severity()))
}

fn emit(r: &DumpReport, json: bool, color: bool, render: impl Fn(&DumpReport) -> String) -> Result<(), Error> {
    if json { emit_json(r) } else { write_text(&render(r), color) }
}

fn emit_json<T: serde::Serialize>(v: &T) -> Result<(), Error> {
    let mut s = serde_json::to_string_pretty(v).map_err(|e| Error::system("cannot serialise", io::Error::other(e)))?;
    s.push('\n');
    write_json(&s)
}

/// One compact JSON document on one line (JSON Lines, for streams).
fn emit_json_line<T: serde::Serialize>(v: &T) -> Result<(), Error> {
    let mut s = serde_json::to_string(v).map_err(|e| Error::system("cannot serialise", io::Error::other(e)))?;
    s.push('\n');
    write_json(&s)
}

/// Serialised JSON to stdout, terminal-safe ([`escape_json`]: same document, no raw DEL, C1
/// control or bidi override).
fn write_json(s: &str) -> Result<(), Error> {
    write_bytes(escape_json(s).as_bytes())
}

/// Text without colour to stdout, through the last guard ([`escape_output`]).
fn write_out(s: &str) -> Result<(), Error> {
    write_text(s, false)
}

/// Text to stdout through the last guard: nothing but line layout and (with `color`) our SGR
/// colour sequences reaches the terminal raw.
fn write_text(s: &str, color: bool) -> Result<(), Error> {
    write_bytes(escape_output(s, color).as_bytes())
}

fn write_bytes(b: &[u8]) -> Result<(), Error> {
    let mut out = io::stdout().lock();
    out.write_all(b)?;
    out.flush()?;
    Ok(())
}

/// The session options the global flags ask for.
pub fn options(g: &GlobalArgs) -> Options {
    Options {
        mmap: g.mmap,
        live: !g.no_live,
        pairing: crate::source::Pairing { db: g.db.clone(), wal: g.wal.clone(), shm: g.shm.clone() },
    }
}

/// Say once, on stderr, how the files were paired when it was not by their names.
fn say_pairing(ev: &crate::source::Evidence) {
    if let Some(n) = &ev.pairing_note {
        let _ = writeln!(io::stderr(), "walinspect: {n}");
    }
}

/// Open and analyse the evidence at `path` with these options: the evidence and its analysis.
pub(crate) fn load(path: &Path, opts: Options) -> Result<(crate::source::Evidence, crate::analysis::Analysis), Error> {
    let s = Session::open(path, opts)?;
    say_pairing(&s.evidence);
    Ok((s.evidence, s.analysis))
}

/// Open and analyse the evidence at `path` as the global flags ask.
pub fn open(path: &Path, g: &GlobalArgs) -> Result<Session, Error> {
    let s = Session::open(path, options(g))?;
    say_pairing(&s.evidence);
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
