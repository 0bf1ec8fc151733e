//! `rebuild-shm` and `extract`: argument definitions and the order of operations (check the
//! targets, build, write beside the targets, check the inputs did not change, rename into
//! place, summarise on stderr).

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{Error, load};
use crate::format::escape::escape_path;
use crate::format::shm::ShmEndian;
use crate::repair::RepairError;
use crate::repair::extract::{self, ExtractOptions, Sources};
use crate::repair::output::{AtomicOutput, Destination, Output, Protected, STDOUT, check_target};
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
    /// Replace every page the deep check finds damaged by its newest intact earlier image
    /// (listed in --report's `heal`); refused when a damaged page has none, unless
    /// --allow-inexact (then it is written as it is and listed as missing).
    #[arg(long)]
    pub heal: bool,
}

impl From<RepairError> for Error {
    fn from(e: RepairError) -> Self {
        Self::Failed(Box::new(e))
    }
}

/// The output and report targets, checked before any work.
struct Targets {
    protected: Protected,
    output: Destination,
    report: Option<Destination>,
}

/// Check the output and report targets before any work.
fn check_targets(
    ev: &Evidence,
    output: &Path,
    report: Option<&Path>,
    force: bool,
    what: &str,
) -> Result<Targets, RepairError> {
    let protected = Protected::of(ev);
    let out = check_target(output, &protected, force, what)?;
    let report = match report {
        Some(r) => {
            if r == Path::new(STDOUT) && output == Path::new(STDOUT) {
                return Err(RepairError::Output("the output and the report cannot both go to standard output".into()));
            }
            let mut p = protected.clone();
            p.add(output, "the output");
            Some(check_target(r, &p, force, "report")?)
        }
        None => None,
    };
    Ok(Targets { protected, output: out, report })
}

fn json_bytes<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, Error> {
    let s = serde_json::to_string_pretty(v)
        .map_err(|e| Error::system("cannot serialise the report", std::io::Error::other(e)))?;
    let mut b = crate::format::escape::escape_json(&s).into_owned().into_bytes();
    b.push(b'\n');
    Ok(b)
}

/// The report, staged: in a temporary file beside a regular file's place (moved in with the
/// output), or kept in memory for a stream (written after the output is in place).
enum StagedReport {
    File(Output),
    Stream(Output, Vec<u8>),
}

impl StagedReport {
    fn stage(
        dest: Option<&Destination>,
        protected: &Protected,
        force: bool,
        bytes: Vec<u8>,
    ) -> Result<Option<Self>, RepairError> {
        let Some(d) = dest else { return Ok(None) };
        let mut o = Output::open(d, protected, force)?;
        if d.is_streamed() {
            return Ok(Some(Self::Stream(o, bytes)));
        }
        o.write_all(&bytes)?;
        Ok(Some(Self::File(o)))
    }

    fn commit(self) -> Result<(), RepairError> {
        match self {
            Self::File(o) => o.commit(),
            Self::Stream(mut o, bytes) => {
                o.write_all(&bytes)?;
                o.commit()
            }
        }
    }
}

fn output_ref(path: &Path, size: u64) -> OutputFile {
    OutputFile::new(path, size)
}

/// A summary on stderr, each line escaped (it names the user's paths).
fn summary(s: &str) {
    let mut out = String::with_capacity(s.len());
    for line in s.lines() {
        out.push_str(&crate::format::escape::escape(line));
        out.push('\n');
    }
    let _ = io::stderr().write_all(out.as_bytes());
}

pub fn rebuild_shm(args: &RebuildShmArgs, opts: crate::session::Options) -> Result<u8, Error> {
    let (ev, a) = load(&args.path, opts)?;
    let (targets, target) = match (&args.output, args.install) {
        (_, true) => {
            refuse_if_in_use(&ev)?;
            let protected = Protected::of(&ev);
            let report = match &args.report {
                Some(r) => Some(check_target(r, &protected, args.force, "report")?),
                None => None,
            };
            let shm = ev.paths.shm.clone();
            (Targets { protected, output: Destination::File(shm.clone()), report }, shm)
        }
        (Some(o), false) => (check_targets(&ev, o, args.report.as_deref(), args.force, "rebuilt -shm")?, o.clone()),
        (None, false) => return Err(Error::Refused("rebuild-shm needs -o OUT or --install".into())),
    };
    let rebuilt = rebuild_index(a.wal.as_ref(), ShmEndian::host())?;
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
    let staged = StagedReport::stage(targets.report.as_ref(), &targets.protected, args.force, json_bytes(&report)?)?;
    extract::inputs_unchanged(&ev, &a)?;
    if args.install {
        // The evidence's own -shm is the target here: the one place an output replaces an input.
        let mut out = AtomicOutput::create(&target, true)?;
        out.write_all(&rebuilt.bytes)?;
        // Keep the old index, then check again right before the one rename that replaces it.
        if let Some(old) = &ev.shm {
            let backup = backup_old_shm(&old.path)?;
            eprintln!("walinspect: the old -shm is kept as {}", escape_path(&backup));
        }
        refuse_if_in_use(&ev)?;
        out.commit()?;
    } else {
        let mut out = Output::open(&targets.output, &targets.protected, args.force)?;
        out.write_all(&rebuilt.bytes)?;
        out.commit()?;
    }
    if let Some(r) = staged {
        r.commit()?;
    }
    summary(&report.summary());
    if args.install {
        eprintln!("walinspect: installed the rebuilt -shm as {}", escape_path(&target));
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

/// Copy the old -shm to `<shm>.walinspect-backup-<unix seconds>` (with a counter if that
/// exists already), created exclusively: never through a symlink or over another file.
fn backup_old_shm(shm: &Path) -> Result<PathBuf, Error> {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let fail = |p: &Path, e: io::Error| Error::Refused(format!("{}: cannot back up the -shm: {e}", escape_path(p)));
    for n in 0u32..1000 {
        let mut s = shm.as_os_str().to_owned();
        s.push(if n == 0 { format!(".walinspect-backup-{t}") } else { format!(".walinspect-backup-{t}-{n}") });
        let p = PathBuf::from(s);
        let mut dst = match std::fs::OpenOptions::new().write(true).create_new(true).open(&p) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(fail(&p, e)),
        };
        let mut src = crate::source::open_read_only(shm).map_err(|e| fail(shm, e))?;
        io::copy(&mut src, &mut dst).and_then(|_| dst.sync_all()).map_err(|e| fail(&p, e))?;
        return Ok(p);
    }
    Err(fail(shm, io::Error::other("no free backup name")))
}

pub fn extract(args: &ExtractArgs, opts: crate::session::Options) -> Result<u8, Error> {
    let (ev, a) = load(&args.path, opts)?;
    let targets = check_targets(&ev, &args.output, args.report.as_deref(), args.force, "extracted database")?;
    // A journal or WAL beside the output would be read by SQLite together with it.
    if let Destination::File(out_file) = &targets.output {
        for suffix in ["-wal", "-journal", "-shm"] {
            let mut s = out_file.clone().into_os_string();
            s.push(suffix);
            let p = PathBuf::from(s);
            if p.exists() {
                if !args.force {
                    return Err(Error::Refused(format!(
                        "{}: exists beside the output and SQLite would use it with the extracted database; remove \
                         it (or use --force to write anyway)",
                        escape_path(&p)
                    )));
                }
                summary(&format!(
                    "walinspect: warning: {} exists beside the output; SQLite will use it\n",
                    escape_path(&p)
                ));
            }
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
    let mut out = Output::open(&targets.output, &targets.protected, args.force)?;
    let written = {
        let shown = out.display_path();
        let mut w = BufWriter::with_capacity(1 << 20, &mut out);
        let n = extract::write(&plan, &verified, &a, &src, &mut w, &shown)?;
        w.flush().map_err(|e| RepairError::io(&shown, "write", e))?;
        n
    };
    if written != plan.output_len {
        return Err(RepairError::Changed(ev.paths.db.clone()).into());
    }
    let healed = if args.heal { Some(heal_output(&ev, &a, &plan, &mut out, args.allow_inexact)?) } else { None };
    let report = ExtractReport::build(Files::of(&ev), output_ref(&args.output, written), &plan, &verified);
    let bytes = match &healed {
        // Serialised only when asked for (the summary line reads the report values).
        _ if targets.report.is_none() => Vec::new(),
        None => json_bytes(&report)?,
        Some(h) => {
            let ser = |e| Error::system("cannot serialise", std::io::Error::other(e));
            let mut v = serde_json::to_value(&report).map_err(ser)?;
            if let serde_json::Value::Object(m) = &mut v {
                m.insert("heal".into(), serde_json::to_value(crate::report::deep::HealReport::build(h)).map_err(ser)?);
            }
            json_bytes(&v)?
        }
    };
    let staged = StagedReport::stage(targets.report.as_ref(), &targets.protected, args.force, bytes)?;
    extract::inputs_unchanged(&ev, &a)?;
    out.commit()?;
    if let Some(r) = staged {
        r.commit()?;
    }
    summary(&report.summary());
    if let Some(h) = &healed {
        summary(&heal_summary(h));
    }
    let exact = verified.exact() && healed.as_ref().is_none_or(|h| h.exact());
    Ok(if exact { 0 } else { 1 })
}

/// `extract --heal`: replace the damaged pages of the written output.
fn heal_output(
    ev: &Evidence,
    a: &crate::analysis::Analysis,
    plan: &extract::Plan,
    out: &mut crate::repair::output::Output,
    allow_inexact: bool,
) -> Result<crate::repair::heal::HealOutcome, Error> {
    // Healing rewrites pages of the output in place: a regular file, not a stream.
    let crate::repair::output::Output::File(out) = out else {
        return Err(Error::Refused(
            "--heal needs a regular output file (not standard output, a FIFO or a device)".into(),
        ));
    };
    let fx = crate::forensics::snapshot::Forensics::from_evidence(ev, a)
        .map_err(|e| Error::Refused(format!("cannot heal: {e}")))?;
    let (spec, commit) = if plan.commit == 0 {
        (fx.base(), None)
    } else {
        (fx.at_commit(plan.commit).unwrap_or_else(|| fx.latest()), Some(plan.commit))
    };
    let path = out.temp_path().to_path_buf();
    let h = crate::repair::heal::heal(&fx, spec, commit, out.file()?, &path, plan.db_pages)?;
    if !h.missing.is_empty() && !allow_inexact {
        return Err(Error::Refused(format!(
            "cannot heal exactly: no intact earlier image of page{} {} anywhere in the evidence; \
             --allow-inexact writes them as they are (listed in the report)",
            if h.missing.len() == 1 { "" } else { "s" },
            crate::repair::page_list(&h.missing, h.missing.len() as u64)
        )));
    }
    if h.inconsistent && !allow_inexact {
        return Err(Error::Refused(
            "cannot heal exactly: an intact image is older than commits that also changed other pages, which cannot \
             all be put back (tables and their indexes would disagree); --allow-inexact writes it anyway (listed in \
             the report's not_reverted)"
                .into(),
        ));
    }
    if !h.exact() && !allow_inexact {
        return Err(Error::Refused(format!(
            "cannot heal exactly: with every intact earlier image in place the output still fails the deep check \
             ({}); --allow-inexact writes it anyway (listed in the report)",
            h.after.join(" / ")
        )));
    }
    Ok(h)
}

fn heal_summary(h: &crate::repair::heal::HealOutcome) -> String {
    let mut s = String::new();
    for p in &h.pages {
        match &p.replaced_from {
            Some(src) => s.push_str(&format!(
                "walinspect: healed page {} (damaged image from {}) with {}{}\n",
                p.page,
                p.damaged_from,
                src,
                if p.reverted_commits.is_empty() {
                    String::new()
                } else {
                    format!("; reverts this page's changes by commit(s) {:?}", p.reverted_commits)
                }
            )),
            None => s.push_str(&format!("walinspect: page {} has no intact image: left as it was\n", p.page)),
        }
    }
    s.push_str(&format!("walinspect: deep check of the output: {}\n", h.after.join(" / ")));
    s
}
