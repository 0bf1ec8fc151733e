//! The environment a database lives in: the filesystem of its directory (type, mount,
//! read-only) and the owners and modes of the directory and the files, for the hazards that make
//! WAL mode unsafe (`live::env` judges them).
//!
//! Read-only queries only: `statfs(2)`, `stat(2)`, `/proc/self/mountinfo`, `/etc/passwd`,
//! `/etc/group`. Nothing is opened for writing, and no file is created.

use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use super::Paths;

/// Owner, group, mode and identity of a file or directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileMeta {
    pub uid: u32,
    pub gid: u32,
    /// Permission bits (and file type bits) as `st_mode`.
    pub mode: u32,
    pub dev: u64,
    pub ino: u64,
}

impl FileMeta {
    pub fn of(m: &std::fs::Metadata) -> Self {
        Self { uid: m.uid(), gid: m.gid(), mode: m.mode(), dev: m.dev(), ino: m.ino() }
    }
}

/// One line of `/proc/self/mountinfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountEntry {
    pub mount_point: String,
    /// The filesystem type as the kernel names it ("ext4", "nfs4", "fuse.sshfs", "overlay").
    pub fs_type: String,
    /// What is mounted ("/dev/vda", "server:/export", "overlay").
    pub source: String,
    /// `st_dev` of files on it (decimal major:minor in mountinfo).
    pub dev_major: u32,
    pub dev_minor: u32,
    /// Mounted read-only (per-mount "ro" option).
    pub read_only: bool,
}

/// The filesystem holding the database's directory.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct FsProbe {
    /// `statfs` f_type: the filesystem's magic number.
    pub magic: Option<u32>,
    /// `ST_RDONLY` from `statfs` f_flags.
    pub read_only: Option<bool>,
    /// The mount the directory is on, from `/proc/self/mountinfo`.
    pub mount: Option<MountEntry>,
    /// Why `statfs` failed.
    pub error: Option<String>,
}

/// Everything known about the database's surroundings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvProbe {
    /// The directory holding the database (as given, not canonicalised).
    pub dir: PathBuf,
    pub fs: FsProbe,
    pub dir_meta: Option<FileMeta>,
    pub db: Option<FileMeta>,
    pub wal: Option<FileMeta>,
    pub shm: Option<FileMeta>,
    /// Name of the database file's owner, from `/etc/passwd`.
    pub owner_name: Option<String>,
    /// Groups of the database file's owner: its primary group (from `/etc/passwd`) and every
    /// group of `/etc/group` that lists it. Empty when the owner is unknown there (directory
    /// services are not consulted).
    pub owner_groups: Vec<u32>,
}

/// Decode the octal escapes (`\040` for a space) of a mountinfo path.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct =
            b.get(i + 1..i + 4).filter(|d| b.get(i) == Some(&b'\\') && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match oct {
            Some(d) => {
                let v = d.iter().fold(0u32, |a, c| a * 8 + u32::from(c - b'0'));
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 4;
            }
            None => {
                out.push(b.get(i).copied().unwrap_or(b'?'));
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse `/proc/self/mountinfo` (`proc(5)`): `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS
/// [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS`. Lines that do not parse are skipped.
pub fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let l: Vec<&str> = left.split(' ').collect();
            let (maj, min) = l.get(2)?.split_once(':')?;
            let mount_point = unescape(l.get(4)?);
            let read_only = l.get(5)?.split(',').any(|o| o == "ro");
            let mut r = right.split(' ');
            let fs_type = r.next()?.to_string();
            let source = unescape(r.next().unwrap_or(""));
            Some(MountEntry {
                mount_point,
                fs_type,
                source,
                dev_major: maj.parse().ok()?,
                dev_minor: min.parse().ok()?,
                read_only,
            })
        })
        .collect()
}

/// The mount a canonical path lies on: the longest mount point that is a prefix of it (whole
/// components); among equal mount points the last one listed (mounted on top).
pub fn mount_for<'a>(mounts: &'a [MountEntry], path: &Path) -> Option<&'a MountEntry> {
    let mut best: Option<(usize, &MountEntry)> = None;
    for m in mounts {
        let mp = Path::new(&m.mount_point);
        if path.starts_with(mp) {
            let depth = mp.components().filter(|c| matches!(c, Component::Normal(_))).count();
            if best.is_none_or(|(d, _)| depth >= d) {
                best = Some((depth, m));
            }
        }
    }
    best.map(|(_, m)| m)
}

/// The name and primary group of `uid` in the text of `/etc/passwd`.
pub fn passwd_entry(text: &str, uid: u32) -> Option<(String, u32)> {
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.get(2)?.parse::<u32>().ok()? == uid).then_some(())?;
        Some((f.first()?.to_string(), f.get(3)?.parse().ok()?))
    })
}

/// The groups of the text of `/etc/group` whose member list names `user`.
pub fn groups_listing(text: &str, user: &str) -> Vec<u32> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            f.get(3)?.split(',').any(|m| m == user).then_some(())?;
            f.get(2)?.parse().ok()
        })
        .collect()
}

const ST_RDONLY: i64 = 1;

/// Probe the filesystem of `dir`.
pub fn probe_fs(dir: &Path) -> FsProbe {
    let mut p = FsProbe::default();
    match rustix::fs::statfs(dir) {
        Ok(s) => {
            // Magic numbers are 32-bit; f_type is a signed long on some targets.
            #[allow(clippy::unnecessary_cast)]
            let t = s.f_type as i64;
            p.magic = Some(t as u32);
            #[allow(clippy::unnecessary_cast)]
            let flags = s.f_flags as i64;
            p.read_only = Some(flags & ST_RDONLY != 0);
        }
        Err(e) => p.error = Some(std::io::Error::from(e).to_string()),
    }
    if let (Ok(canon), Ok(text)) = (std::fs::canonicalize(dir), std::fs::read_to_string("/proc/self/mountinfo")) {
        p.mount = mount_for(&parse_mountinfo(&text), &canon).cloned();
    }
    p
}

/// Probe the surroundings of the database at `paths`.
pub fn probe_env(paths: &Paths) -> EnvProbe {
    let dir = match paths.db.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let meta = |p: &Path| std::fs::metadata(p).ok().map(|m| FileMeta::of(&m));
    let db = meta(&paths.db);
    let (mut owner_name, mut owner_groups) = (None, Vec::new());
    if let Some(d) = db
        && let Some((name, gid)) = std::fs::read_to_string("/etc/passwd").ok().and_then(|t| passwd_entry(&t, d.uid))
    {
        owner_groups.push(gid);
        if let Ok(g) = std::fs::read_to_string("/etc/group") {
            owner_groups.extend(groups_listing(&g, &name));
        }
        owner_groups.sort_unstable();
        owner_groups.dedup();
        owner_name = Some(name);
    }
    EnvProbe {
        fs: probe_fs(&dir),
        dir_meta: meta(&dir),
        db,
        wal: meta(&paths.wal),
        shm: meta(&paths.shm),
        owner_name,
        owner_groups,
        dir,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
30 22 0:26 / /proc rw,nosuid - proc proc rw
40 22 0:45 / /mnt/nfs rw,relatime shared:9 - nfs4 server:/export rw,vers=4.2
41 22 0:46 / /mnt/with\\040space ro,relatime - fuse.sshfs me@host:/ rw
42 22 0:47 / /var/lib/docker/overlay2/x/merged rw - overlay overlay rw,lowerdir=/a
43 40 0:48 /sub /mnt/nfs/local rw - ext4 /dev/vdb rw
44 22 0:49 / /mnt/nfs rw - tmpfs tmpfs rw
bad line
";

    #[test]
    fn parses_mountinfo() {
        let m = parse_mountinfo(MOUNTINFO);
        assert_eq!(m.len(), 7);
        assert_eq!(m[2].fs_type, "nfs4");
        assert_eq!(m[2].source, "server:/export");
        assert_eq!((m[2].dev_major, m[2].dev_minor), (0, 45));
        assert_eq!(m[3].mount_point, "/mnt/with space");
        assert!(m[3].read_only && !m[0].read_only);
    }

    #[test]
    fn finds_the_mount_of_a_path() {
        let m = parse_mountinfo(MOUNTINFO);
        let at = |p: &str| mount_for(&m, Path::new(p)).map(|e| e.fs_type.as_str());
        assert_eq!(at("/home/u/app.db"), Some("ext4"));
        // Over-mounted: the later tmpfs on /mnt/nfs hides the NFS mount.
        assert_eq!(at("/mnt/nfs/data"), Some("tmpfs"));
        assert_eq!(at("/mnt/nfs/local/x"), Some("ext4"));
        assert_eq!(at("/mnt/with space/db"), Some("fuse.sshfs"));
        // Whole components only: /mnt/nfsx is not under /mnt/nfs.
        assert_eq!(at("/mnt/nfsx/db"), Some("ext4"));
    }

    #[test]
    fn owner_groups_from_passwd_and_group() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\napp:x:1000:1000::/home/app:/bin/sh\n";
        let group = "root:x:0:\nwww:x:33:app,other\ndocker:x:999:other\nstaff:x:50:app\n";
        assert_eq!(passwd_entry(passwd, 1000), Some(("app".to_string(), 1000)));
        assert_eq!(passwd_entry(passwd, 4242), None);
        assert_eq!(groups_listing(group, "app"), vec![33, 50]);
    }

    #[test]
    fn probes_this_machine() {
        let dir = tempfile::tempdir().unwrap();
        let f = probe_fs(dir.path());
        assert!(f.magic.is_some() && f.error.is_none(), "{f:?}");
        assert!(f.mount.is_some());
    }
}
