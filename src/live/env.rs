//! Environment hazards: where a database lives decides whether WAL mode can work there at all.
//!
//! Pure functions over what `source::env` probed: the filesystem type (from `statfs` f_type,
//! refined by the mount's type name), and who may write the directory and the `-shm`.
//!
//! - WAL mode needs every connection to share the `-shm` through memory mapping and POSIX
//!   locks on one kernel: on a network or FUSE filesystem neither is coherent between machines
//!   (and often not even reliable on one), so readers see torn indexes and locks that do not
//!   exclude — <https://www.sqlite.org/wal.html> ("WAL does not work over a network
//!   filesystem").
//! - An overlay filesystem is a container's copy-on-write layer: the database vanishes with the
//!   container, and each container sees its own copy.
//! - A connection must be able to create the `-shm` (and `-wal`) next to the database; a
//!   read-only reader cannot open a WAL database whose `-shm` is missing and cannot be created.

use crate::analysis::Analysis;
use crate::analysis::findings::Code;
use crate::source::env::{EnvProbe, FileMeta};

/// What kind of filesystem, as far as WAL mode is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsClass {
    /// A local disk or memory filesystem: fine.
    Local,
    /// Shared over a network or with a virtual machine's host (NFS, SMB/CIFS, 9p, virtiofs,
    /// cluster filesystems).
    Network,
    /// Implemented by a user-space daemon (FUSE): locking and shared mappings depend on it.
    Fuse,
    /// A copy-on-write union (overlayfs, aufs): a container's writable layer.
    Overlay,
    /// Not recognised.
    Unknown,
}

impl FsClass {
    pub fn name(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Network => "network",
            Self::Fuse => "fuse",
            Self::Overlay => "overlay",
            Self::Unknown => "unknown",
        }
    }
}

/// Filesystem magic numbers (`statfs` f_type; `linux/magic.h` and the filesystems' sources).
const MAGICS: &[(u32, &str, FsClass)] = &[
    (0x6969, "nfs", FsClass::Network),
    (0x517b, "smbfs", FsClass::Network),
    (0xff53_4d42, "cifs", FsClass::Network),
    (0xfe53_4d42, "smb2", FsClass::Network),
    (0x0102_1997, "9p", FsClass::Network),
    (0x00c3_6400, "ceph", FsClass::Network),
    (0x5346_414f, "afs", FsClass::Network),
    (0x6b41_4653, "afs", FsClass::Network),
    (0x7375_7245, "coda", FsClass::Network),
    (0x564c, "ncpfs", FsClass::Network),
    (0x0bd0_0bd0, "lustre", FsClass::Network),
    (0x4750_4653, "gpfs", FsClass::Network),
    (0x7461_636f, "ocfs2", FsClass::Network),
    (0x0116_1970, "gfs2", FsClass::Network),
    (0x2003_0528, "orangefs", FsClass::Network),
    (0x786f_4256, "vboxsf", FsClass::Network),
    (0x6573_5546, "fuse", FsClass::Fuse),
    (0x794c_7630, "overlay", FsClass::Overlay),
    (0x6175_6673, "aufs", FsClass::Overlay),
    (0xef53, "ext2/3/4", FsClass::Local),
    (0x5846_5342, "xfs", FsClass::Local),
    (0x9123_683e, "btrfs", FsClass::Local),
    (0x2fc1_2fc1, "zfs", FsClass::Local),
    (0xf2f5_2010, "f2fs", FsClass::Local),
    (0xca45_1a4e, "bcachefs", FsClass::Local),
    (0x0102_1994, "tmpfs", FsClass::Local),
    (0x8584_58f6, "ramfs", FsClass::Local),
    (0x4d44, "vfat", FsClass::Local),
    (0x2011_bab0, "exfat", FsClass::Local),
    (0x5346_544e, "ntfs", FsClass::Local),
    (0x7371_7368, "squashfs", FsClass::Local),
    (0x9660, "iso9660", FsClass::Local),
    (0x3153_464a, "jfs", FsClass::Local),
    (0x5265_4973, "reiserfs", FsClass::Local),
    (0x4244, "hfs", FsClass::Local),
    (0xf15f, "ecryptfs", FsClass::Local),
];

/// Class and short name of a filesystem magic number, when known.
pub fn class_of_magic(magic: u32) -> Option<(FsClass, &'static str)> {
    MAGICS.iter().find(|(m, _, _)| *m == magic).map(|(_, n, c)| (*c, *n))
}

/// Class of a filesystem type name as `/proc/self/mountinfo` gives it ("nfs4", "fuse.sshfs").
pub fn class_of_name(name: &str) -> FsClass {
    if let Some(sub) = name.strip_prefix("fuse.") {
        // FUSE daemons that share storage over a network.
        let network = [
            "sshfs",
            "s3fs",
            "rclone",
            "gcsfuse",
            "juicefs",
            "glusterfs",
            "cephfs",
            "ceph",
            "moosefs",
            "lizardfs",
            "davfs2",
            "goofys",
            "blobfuse",
            "blobfuse2",
            "vmhgfs-fuse",
            "mfs",
            "beegfs",
            "seaweedfs",
            "smbnetfs",
            "curlftpfs",
        ];
        return if network.contains(&sub) { FsClass::Network } else { FsClass::Fuse };
    }
    match name {
        "nfs" | "nfs4" | "cifs" | "smb3" | "smbfs" | "smb2" | "9p" | "ceph" | "glusterfs" | "afs" | "coda"
        | "ncpfs" | "lustre" | "gpfs" | "beegfs" | "ocfs2" | "gfs2" | "orangefs" | "pvfs2" | "vboxsf" | "vmhgfs"
        | "virtiofs" | "davfs" | "moosefs" | "lizardfs" => FsClass::Network,
        "fuse" | "fuseblk" => FsClass::Fuse,
        "overlay" | "overlayfs" | "aufs" | "unionfs" => FsClass::Overlay,
        "ext2" | "ext3" | "ext4" | "xfs" | "btrfs" | "zfs" | "f2fs" | "bcachefs" | "tmpfs" | "ramfs" | "vfat"
        | "exfat" | "ntfs" | "ntfs3" | "squashfs" | "iso9660" | "jfs" | "reiserfs" | "hfs" | "hfsplus" | "ecryptfs"
        | "nilfs2" | "erofs" | "udf" => FsClass::Local,
        _ => FsClass::Unknown,
    }
}

/// The filesystem the database's directory is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filesystem {
    /// The mount's type name when known ("nfs4", "fuse.sshfs"), else the magic's short name.
    pub name: String,
    pub class: FsClass,
    pub magic: Option<u32>,
    pub mount_point: Option<String>,
    pub source: Option<String>,
    pub read_only: bool,
}

/// Classify what `source::env::probe_fs` saw: the magic number decides the class (a FUSE
/// magic is refined by the FUSE subtype's name); the type name decides when the magic is
/// unknown or unavailable.
pub fn classify(fs: &crate::source::env::FsProbe) -> Option<Filesystem> {
    let by_magic = fs.magic.and_then(class_of_magic);
    let name = fs.mount.as_ref().map(|m| m.fs_type.clone());
    let class = match (by_magic, name.as_deref()) {
        (Some((FsClass::Fuse, _)), Some(n)) if class_of_name(n) == FsClass::Network => FsClass::Network,
        (Some((c, _)), _) => c,
        (None, Some(n)) => class_of_name(n),
        (None, None) if fs.magic.is_none() => return None,
        (None, None) => FsClass::Unknown,
    };
    let name = name
        .or_else(|| by_magic.map(|(_, n)| n.to_string()))
        .unwrap_or_else(|| fs.magic.map_or_else(|| "unknown".into(), |m| format!("{m:#x}")));
    Some(Filesystem {
        name,
        class,
        magic: fs.magic,
        mount_point: fs.mount.as_ref().map(|m| m.mount_point.clone()),
        source: fs.mount.as_ref().map(|m| m.source.clone()),
        read_only: fs.read_only.unwrap_or(false) || fs.mount.as_ref().is_some_and(|m| m.read_only),
    })
}

/// Whether a process running as `uid` with `groups` may write to (and, for a directory, create
/// entries in) a file with `meta`, by the permission bits. Root may always, except on a
/// read-only filesystem. ACLs and capabilities other than root's are not considered.
pub fn writable_by(meta: &FileMeta, is_dir: bool, uid: u32, groups: &[u32], read_only_fs: bool) -> bool {
    if read_only_fs {
        return false;
    }
    if uid == 0 {
        return true;
    }
    let (w, x) = if meta.uid == uid {
        (0o200, 0o100)
    } else if groups.contains(&meta.gid) {
        (0o020, 0o010)
    } else {
        (0o002, 0o001)
    };
    meta.mode & w != 0 && (!is_dir || meta.mode & x != 0)
}

/// One environment hazard, ready to become a finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hazard {
    /// `env.network_filesystem`, `env.overlay_filesystem`, `env.readonly_directory`,
    /// `env.shm_not_writable`.
    pub code: Code,
    pub message: String,
}

/// What the environment means for this database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvAssessment {
    pub directory: String,
    pub filesystem: Option<Filesystem>,
    /// The database uses WAL mode (header versions 2, or a `-wal` exists).
    pub wal_mode: bool,
    pub owner_uid: Option<u32>,
    pub owner_name: Option<String>,
    /// Can the database's owner create files in the directory? `None` when unknown.
    pub directory_writable_by_owner: Option<bool>,
    /// Can the database's owner write the `-shm`? `None` when there is no `-shm`.
    pub shm_writable_by_owner: Option<bool>,
    pub hazards: Vec<Hazard>,
}

fn owner_label(uid: u32, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("uid {uid} ({n})"),
        None => format!("uid {uid}"),
    }
}

/// Judge the environment of the analysed database.
pub fn assess(env: &EnvProbe, a: &Analysis) -> EnvAssessment {
    let filesystem = classify(&env.fs);
    let wal_mode = a.wal.is_some() || a.db.as_ref().is_some_and(|d| d.header.is_wal_mode());
    let ro = filesystem.as_ref().is_some_and(|f| f.read_only);
    let owner = env.db.map(|d| d.uid);
    // The owner's groups; without a passwd entry, assume the database file's group.
    let groups: Vec<u32> = if env.owner_groups.is_empty() {
        env.db.map(|d| vec![d.gid]).unwrap_or_default()
    } else {
        env.owner_groups.clone()
    };
    let dir_w = owner.zip(env.dir_meta).map(|(u, d)| writable_by(&d, true, u, &groups, ro));
    let shm_w = owner.zip(env.shm).map(|(u, s)| writable_by(&s, false, u, &groups, ro));
    let dir = env.dir.display().to_string();
    let who = owner.map(|u| owner_label(u, env.owner_name.as_deref())).unwrap_or_default();
    let mut hazards = Vec::new();
    if let Some(fs) = &filesystem {
        let at = match (&fs.mount_point, &fs.source) {
            (Some(m), Some(s)) => format!(" ({s} on {m})"),
            (Some(m), None) => format!(" (on {m})"),
            _ => String::new(),
        };
        match fs.class {
            FsClass::Network | FsClass::Fuse => hazards.push(Hazard {
                code: Code::EnvNetworkFilesystem,
                message: format!(
                    "the database is on a {} filesystem, {}{at}: WAL mode needs all connections on one machine sharing the -shm through memory mapping and POSIX locks, which {} does not provide reliably; connections on different machines (or a misbehaving daemon) corrupt the database",
                    if fs.class == FsClass::Fuse { "FUSE" } else { "network" }, fs.name, fs.name
                ),
            }),
            FsClass::Overlay => hazards.push(Hazard {
                code: Code::EnvOverlayFilesystem,
                message: format!(
                    "the database is on an overlay filesystem{at}, a container's copy-on-write layer: it is lost when the container is removed, each container has its own copy, and a file copied up from a lower layer while open can leave processes on different copies; keep databases on a volume"
                ),
            }),
            _ => {}
        }
    }
    if wal_mode && env.shm.is_none() && env.db.is_some() && dir_w == Some(false) {
        let why = if ro { "the filesystem is mounted read-only" } else { "its permissions deny it" };
        hazards.push(Hazard {
            code: Code::EnvReadonlyDirectory,
            message: format!(
                "the database is in WAL mode, its -shm does not exist, and the directory {dir} is not writable by the database's owner, {who} ({why}): a connection running as the owner cannot create the -shm, so every statement fails, even a plain SELECT on a read-only connection, with SQLITE_READONLY_DIRECTORY (\"attempt to write a readonly database\")"
            ),
        });
    }
    if shm_w == Some(false) {
        let why = if ro { "the filesystem is mounted read-only" } else { "its permissions deny it" };
        hazards.push(Hazard {
            code: Code::EnvShmNotWritable,
            message: format!(
                "the -shm is not writable by the database's owner, {who} ({why}): connections running as the owner open it read-only: every write fails with SQLITE_READONLY (\"attempt to write a readonly database\"), and reads go through the index kept by a connection that can write it or, when there is none, through a private copy that SQLite rebuilds from the -wal in heap memory"
            ),
        });
    }
    EnvAssessment {
        directory: dir,
        filesystem,
        wal_mode,
        owner_uid: owner,
        owner_name: env.owner_name.clone(),
        directory_writable_by_owner: dir_w,
        shm_writable_by_owner: shm_w,
        hazards,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::env::{FsProbe, MountEntry};

    #[test]
    fn magic_numbers() {
        assert_eq!(class_of_magic(0x6969), Some((FsClass::Network, "nfs")));
        assert_eq!(class_of_magic(0xff53_4d42), Some((FsClass::Network, "cifs")));
        assert_eq!(class_of_magic(0xfe53_4d42), Some((FsClass::Network, "smb2")));
        assert_eq!(class_of_magic(0x0102_1997), Some((FsClass::Network, "9p")));
        assert_eq!(class_of_magic(0x6573_5546), Some((FsClass::Fuse, "fuse")));
        assert_eq!(class_of_magic(0x794c_7630), Some((FsClass::Overlay, "overlay")));
        assert_eq!(class_of_magic(0xef53), Some((FsClass::Local, "ext2/3/4")));
        assert_eq!(class_of_magic(0x0102_1994), Some((FsClass::Local, "tmpfs")));
        assert_eq!(class_of_magic(0x1234_5678), None);
        // No magic is listed twice with different classes.
        for (i, (m, _, c)) in MAGICS.iter().enumerate() {
            assert!(MAGICS.iter().skip(i + 1).all(|(m2, _, c2)| m2 != m || c2 == c), "{m:#x}");
        }
    }

    #[test]
    fn type_names() {
        for n in ["nfs", "nfs4", "cifs", "smb3", "9p", "ceph", "virtiofs", "fuse.glusterfs", "gfs2"] {
            assert_eq!(class_of_name(n), FsClass::Network, "{n}");
        }
        for n in ["fuse", "fuseblk", "fuse.ntfs-3g", "fuse.somethingelse"] {
            assert_eq!(class_of_name(n), FsClass::Fuse, "{n}");
        }
        assert_eq!(class_of_name("fuse.sshfs"), FsClass::Network);
        assert_eq!(class_of_name("overlay"), FsClass::Overlay);
        assert_eq!(class_of_name("aufs"), FsClass::Overlay);
        for n in ["ext4", "xfs", "btrfs", "zfs", "tmpfs"] {
            assert_eq!(class_of_name(n), FsClass::Local, "{n}");
        }
        assert_eq!(class_of_name("weirdfs"), FsClass::Unknown);
    }

    fn fs(magic: Option<u32>, name: Option<&str>) -> FsProbe {
        FsProbe {
            magic,
            read_only: Some(false),
            mount: name.map(|n| MountEntry {
                mount_point: "/m".into(),
                fs_type: n.into(),
                source: "src".into(),
                dev_major: 0,
                dev_minor: 1,
                read_only: false,
            }),
            error: None,
        }
    }

    #[test]
    fn classification_prefers_magic_and_refines_fuse() {
        assert_eq!(
            classify(&fs(Some(0x6969), Some("nfs4"))).map(|f| (f.class, f.name)),
            Some((FsClass::Network, "nfs4".into()))
        );
        // virtiofs and sshfs report the FUSE magic; the subtype says it is a share.
        assert_eq!(classify(&fs(Some(0x6573_5546), Some("virtiofs"))).map(|f| f.class), Some(FsClass::Network));
        assert_eq!(classify(&fs(Some(0x6573_5546), Some("fuse.sshfs"))).map(|f| f.class), Some(FsClass::Network));
        assert_eq!(classify(&fs(Some(0x6573_5546), Some("fuse.ntfs-3g"))).map(|f| f.class), Some(FsClass::Fuse));
        assert_eq!(
            classify(&fs(Some(0x6573_5546), None)).map(|f| (f.class, f.name)),
            Some((FsClass::Fuse, "fuse".into()))
        );
        // Unknown magic: the name decides.
        assert_eq!(classify(&fs(Some(0x1234), Some("glusterfs"))).map(|f| f.class), Some(FsClass::Network));
        assert_eq!(
            classify(&fs(Some(0x1234), None)).map(|f| (f.class, f.name)),
            Some((FsClass::Unknown, "0x1234".into()))
        );
        assert_eq!(classify(&fs(None, None)), None);
        assert_eq!(classify(&fs(Some(0xef53), Some("ext4"))).map(|f| f.class), Some(FsClass::Local));
    }

    #[test]
    fn permission_bits() {
        let m = |uid, gid, mode| FileMeta { uid, gid, mode, dev: 0, ino: 0 };
        // Owner bits decide for the owner, even when group or other bits would allow.
        assert!(!writable_by(&m(1000, 1000, 0o40577), true, 1000, &[1000], false));
        assert!(writable_by(&m(1000, 1000, 0o40755), true, 1000, &[1000], false));
        // A directory needs search permission too.
        assert!(!writable_by(&m(1000, 1000, 0o40655), true, 1000, &[], false));
        assert!(writable_by(&m(1000, 1000, 0o100644), false, 1000, &[], false));
        // Group and other.
        assert!(writable_by(&m(0, 50, 0o40775), true, 1000, &[50], false));
        assert!(!writable_by(&m(0, 50, 0o40755), true, 1000, &[50], false));
        assert!(writable_by(&m(0, 0, 0o41777), true, 1000, &[], false));
        assert!(!writable_by(&m(0, 0, 0o40555), true, 1000, &[], false));
        // Root bypasses permission bits, but not a read-only filesystem.
        assert!(writable_by(&m(1000, 1000, 0o40555), true, 0, &[], false));
        assert!(!writable_by(&m(1000, 1000, 0o40777), true, 0, &[], true));
    }
}
