//! `rebuild-shm` and `extract`: argument definitions and the order of operations (check the
//! targets, build, write beside the targets, check the inputs did not change, rename into
//! place, summarise on stderr).

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{Error, load};
use crate::format::shm::ShmEndian;
use crate::repair::RepairError;
use crate::repair::extract::{self, ExtractOptions, Sources};
use crate::repair::output::{AtomicOutput, Protected, check_target};
use crate::repair::shm::rebuild_index;
use crate::report::Files;
use crate::report::repair::{ExtractReport, OutputFile, RebuildShmReport};
use crate::source::Evidence;

pub const EXTRACT_HELP: &str = "\
Exit status: 0 = written, every page exact;
             1 = written with --allow-inexact: some pages' content at that commit is unknown
                 (overwritten by a checkpoint, or in no file: a WAL without its database file);
                 the report names them;
             2 = usage error, input that cannot be analysed, or refused (output exists or is an
                 input, commit out of range, inexact commit without --allow-inexact): nothing
                 is written.

Inputs are never written, created, truncated or locked, and SQLite never opens them. Outputs
are written to a temporary file beside the target and renamed into place.";

pub const REBUILD_SHM_HELP: &str = "\
Exit status: 0 = the rebuilt -shm was written (or installed);
             2 = usage error, input that cannot be analysed, or refused (output exists or is an
                 input; --install while the database is in use): nothing is written.

Inputs are never written, created, truncated or locked (except the -shm that --install
replaces, after keeping a backup), and SQLite never opens them. Outputs are written to a
temporary file beside the target and renamed into place.";

#[derive(clap::Args, Debug)]
pub struct RebuildShmArgs {
    /// Database file, or its -wal or -shm (siblings are found by name).
    pub path: PathBuf,
    /// Where to write the rebuilt -shm (never one of the inputs).
    #[arg(short, long, value_name = "OUT", required_unless_present = "install", conflicts_with = "install")]
    pub output: Option<PathBuf>,
    /// Replace OUT (and the report file) if they exist.
    #[arg(long)]
    pub force: bool,
    /// Also write the provenance report (JSON, schema "walinspect.rebuild-shm", see
    /// docs/repair-report.md).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Replace the database's own -shm with the rebuilt one — only when no process holds any
    /// lock on the database, its -wal or its -shm (checked without taking a lock); the old
    /// -shm is kept as `<db>-shm.walinspect-backup-<time>`. Refuses, naming the holders,
    /// otherwise.
    #[arg(long)]
    pub install: bool,
}

#[derive(clap::Args, Debug)]
pub struct ExtractArgs {
    /// Database file, or its -wal or -shm (siblings are found by name).
    pub path: PathBuf,
    /// Where to write the database (never one of the inputs).
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// The commit to extract, numbered as in `dump`'s commits (0 = the database file before
    /// this WAL generation). Default: the last commit.
    #[arg(long, value_name = "N")]
    pub commit: Option<u32>,
    /// Replace OUT (and the report file) if they exist.
    #[arg(long)]
    pub force: bool,
    /// Keep the header's WAL-mode bytes (18/19 = 2) instead of writing a rollback database.
    #[arg(long)]
    pub keep_wal_mode: bool,
    /// Write the database even when some pages' content at that commit cannot be known (exit
    /// status 1; the report names them).
    #[arg(long)]
    pub allow_inexact: bool,
    /// Also write the provenance report (JSON, schema "walinspect.extract", see
    /// docs/repair-report.md).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

impl From<RepairError> for Error {
    fn from(e: RepairError) -> Self {
        Self::Failed(Box::new(e))
    }
}

/// Check the output and report targets before any work.
fn check_targets(
    ev: &Evidence,
    output: &Path,
    report: Option<&Path>,
    force: bool,
    what: &str,
) -> Result<(), RepairError> {
    let protected = Protected::of(ev);
    check_target(output, &protected, force, what)?;
    if let Some(r) = report {
        let mut p = protected;
        p.add(output, "the output");
        check_target(r, &p, force, "report")?;
    }
    Ok(())
}

fn json_bytes<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, Error> {
    let mut b = serde_json::to_vec_pretty(v)
        .map_err(|e| Error::system("cannot serialise the report", std::io::Error::other(e)))?;
    b.push(b'\n');
    Ok(b)
}

fn stage_report(path: Option<&Path>, force: bool, bytes: &[u8]) -> Result<Option<AtomicOutput>, RepairError> {
    let Some(p) = path else { return Ok(None) };
    let mut o = AtomicOutput::create(p, force)?;
    o.write_all(bytes)?;
    Ok(Some(o))
}

fn output_ref(path: &Path, size: u64) -> OutputFile {
    OutputFile { path: path.display().to_string(), size }
}

fn summary(s: &str) {
    let _ = io::stderr().write_all(s.as_bytes());
}

pub fn rebuild_shm(args: &RebuildShmArgs, opts: crate::session::Options) -> Result<u8, Error> {
    let (ev, a) = load(&args.path, opts)?;
    let target = match (&args.output, args.install) {
        (_, true) => ev.paths.shm.clone(),
        (Some(o), false) => o.clone(),
        (None, false) => return Err(Error::Refused("rebuild-shm needs -o OUT or --install".into())),
    };
    if args.install {
        refuse_if_in_use(&ev)?;
        if let Some(r) = &args.report {
            check_targets(&ev, r, None, args.force, "report")?;
        }
    } else {
        check_targets(&ev, &target, args.report.as_deref(), args.force, "rebuilt -shm")?;
    }
    let rebuilt = rebuild_index(a.wal.as_ref(), ShmEndian::host())?;
    let mut out = AtomicOutput::create(&target, args.force || args.install)?;
    out.write_all(&rebuilt.bytes)?;
    let frames_in_file = a.wal.as_ref().map_or(0, |w| w.frames_total);
    let mut report = RebuildShmReport::build(
        Files::of(&ev),
        output_ref(&target, rebuilt.bytes.len() as u64),
        &rebuilt,
        frames_in_file,
    );
    if ev.wal.is_none() && a.db.as_ref().is_some_and(|d| !d.header.is_wal_mode()) {
        report
            .notes
            .push("the database is in rollback mode and has no -wal: SQLite would not use a -shm at all".to_string());
    }
    let staged = stage_report(args.report.as_deref(), args.force, &json_bytes(&report)?)?;
    extract::inputs_unchanged(&ev, &a)?;
    if args.install {
        // Keep the old index, then check again right before the one rename that replaces it.
        if let Some(old) = &ev.shm {
            let backup = backup_path(&old.path);
            std::fs::copy(&old.path, &backup)
                .map_err(|e| Error::Refused(format!("{}: cannot back up the -shm: {e}", backup.display())))?;
            eprintln!("walinspect: the old -shm is kept as {}", backup.display());
        }
        refuse_if_in_use(&ev)?;
    }
    out.commit()?;
    if let Some(r) = staged {
        r.commit()?;
    }
    summary(&report.summary());
    if args.install {
        eprintln!("walinspect: installed the rebuilt -shm as {}", target.display());
    }
    Ok(0)
}

/// Refuse (exit 2) when any process holds a lock on the database, its -wal or its -shm, naming
/// them: SQLite maps the -shm of a database in use, and replacing it under a live connection
/// would corrupt what that connection sees.
fn refuse_if_in_use(ev: &Evidence) -> Result<(), Error> {
    crate::source::locks::assert_unlocked(&ev.paths).map_err(|holders| {
        let names: Vec<String> = holders.iter().map(ToString::to_string).collect();
        Error::Refused(format!(
            "refusing to install: the database is in use or its locks cannot be verified: {}",
            names.join("; ")
        ))
    })
}

/// `<shm>.walinspect-backup-<unix seconds>`, with a counter if that exists already.
fn backup_path(shm: &Path) -> PathBuf {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    for n in 0u32.. {
        let mut s = shm.as_os_str().to_owned();
        s.push(if n == 0 { format!(".walinspect-backup-{t}") } else { format!(".walinspect-backup-{t}-{n}") });
        let p = PathBuf::from(s);
        if !p.exists() {
            return p;
        }
    }
    shm.with_extension("walinspect-backup")
}

pub fn extract(args: &ExtractArgs, opts: crate::session::Options) -> Result<u8, Error> {
    let (ev, a) = load(&args.path, opts)?;
    check_targets(&ev, &args.output, args.report.as_deref(), args.force, "extracted database")?;
    // A journal or WAL beside the output would be read by SQLite together with it.
    for suffix in ["-wal", "-journal", "-shm"] {
        let mut s = args.output.clone().into_os_string();
        s.push(suffix);
        let p = PathBuf::from(s);
        if p.exists() {
            if !args.force {
                return Err(Error::Refused(format!(
                    "{}: exists beside the output and SQLite would use it with the extracted database; remove it \
                     (or use --force to write anyway)",
                    p.display()
                )));
            }
            summary(&format!("walinspect: warning: {} exists beside the output; SQLite will use it\n", p.display()));
        }
    }
    let opts = ExtractOptions { commit: args.commit, keep_wal_mode: args.keep_wal_mode };
    let src = Sources::of(&ev);
    let plan = extract::plan_from(&a, &src, &opts)?;
    let verified = extract::verify(&plan, &a, &src)?;
    if !verified.exact() && !args.allow_inexact {
        return Err(RepairError::Inexact {
            commit: plan.commit,
            pages: verified.uncertain_pages(20),
            count: verified.uncertain_count,
        }
        .into());
    }
    let mut out = AtomicOutput::create(&args.output, args.force)?;
    let written = {
        let tmp = out.temp_path().to_path_buf();
        let mut w = BufWriter::with_capacity(1 << 20, out.file()?);
        let n = extract::write(&plan, &verified, &a, &src, &mut w, &tmp)?;
        w.flush().map_err(|e| RepairError::io(&tmp, "write", e))?;
        n
    };
    if written != plan.output_len {
        return Err(RepairError::Changed(ev.paths.db.clone()).into());
    }
    let report = ExtractReport::build(Files::of(&ev), output_ref(&args.output, written), &plan, &verified);
    let staged = stage_report(args.report.as_deref(), args.force, &json_bytes(&report)?)?;
    extract::inputs_unchanged(&ev, &a)?;
    out.commit()?;
    if let Some(r) = staged {
        r.commit()?;
    }
    summary(&report.summary());
    Ok(if verified.exact() { 0 } else { 1 })
}
