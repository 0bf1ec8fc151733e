//! The root list `PRAGMA integrity_check` builds (`src/pragma.c`), in SQLite 3.40's order: the
//! schema's table hash (`src/hash.c`) walked in its element-list order, each rowid table's root
//! (views and virtual tables count, with root 0), then its indexes newest first.
//!
//! The hash: `sqlite_master` is inserted first, then every table in `sqlite_schema` rowid order.
//! Each insert puts the element just before its bucket's chain head, or at the list front when
//! the bucket is empty (or there are no buckets yet, below 10 elements). When the count reaches
//! 10 and exceeds twice the bucket count the table is rebuilt with `2 × count` buckets (at most
//! 64 — SQLITE_MALLOC_SOFT_LIMIT / 16), re-inserting the old list in order.

use crate::forensics::schema::SchemaEntry;

/// One object the check visits, with its root page (0 for views and virtual tables).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootEntry {
    pub root: u32,
    pub name: String,
    /// True for an index.
    pub index: bool,
    /// The table an index belongs to (its own name for a table).
    pub table: String,
}

fn str_hash(s: &str) -> u32 {
    let mut h: u32 = 0;
    for b in s.bytes() {
        h = h.wrapping_add(u32::from(b.to_ascii_lowercase()));
        h = h.wrapping_mul(0x9e37_79b1);
    }
    h
}

/// SQLite's `Hash` reduced to what decides iteration order.
struct Hash {
    /// Element keys in list order.
    list: Vec<String>,
    /// Per bucket: (count, index in `list` of the chain head).
    buckets: Vec<(u32, usize)>,
}

impl Hash {
    fn new() -> Self {
        Self { list: Vec::new(), buckets: Vec::new() }
    }

    fn insert_element(&mut self, bucket: Option<usize>, key: String) {
        let head = bucket.and_then(|b| self.buckets.get(b).filter(|e| e.0 > 0).map(|e| e.1));
        let at = head.unwrap_or(0);
        self.list.insert(at, key);
        // Every chain head at or after the insertion point moves one place.
        for e in &mut self.buckets {
            if e.0 > 0 && e.1 >= at {
                e.1 += 1;
            }
        }
        if let Some(b) = bucket
            && let Some(e) = self.buckets.get_mut(b)
        {
            e.0 += 1;
            e.1 = at;
        }
    }

    fn insert(&mut self, key: &str) {
        let n = self.buckets.len();
        // An existing key is replaced in place (same order).
        if self.list.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            return;
        }
        let count = self.list.len() + 1;
        let mut bucket = (n > 0).then(|| (str_hash(key) % n as u32) as usize);
        if count >= 10 && count > 2 * n {
            let new_size = (count * 2).min(64);
            if new_size != n {
                let old = std::mem::take(&mut self.list);
                self.buckets = vec![(0, 0); new_size];
                for k in old {
                    let b = (str_hash(&k) % new_size as u32) as usize;
                    self.insert_element(Some(b), k);
                }
                bucket = Some((str_hash(key) % new_size as u32) as usize);
            }
        }
        self.insert_element(bucket, key.to_string());
    }
}

/// The root list in SQLite's order, from the schema rows in rowid order. `[0]` being 0 makes
/// the check "partial" (see `integrity`).
pub fn root_list(entries: &[SchemaEntry]) -> Vec<RootEntry> {
    let mut hash = Hash::new();
    hash.insert("sqlite_master");
    let tables: Vec<&SchemaEntry> = entries.iter().filter(|e| e.kind == "table" || e.kind == "view").collect();
    for t in &tables {
        hash.insert(&t.name);
    }
    let mut out = Vec::new();
    for key in &hash.list {
        if key == "sqlite_master" {
            out.push(RootEntry { root: 1, name: "sqlite_schema".into(), index: false, table: "sqlite_schema".into() });
            continue;
        }
        let Some(t) = tables.iter().find(|t| t.name.eq_ignore_ascii_case(key)) else { continue };
        let without_rowid = t.sql.as_deref().is_some_and(is_without_rowid);
        if !without_rowid {
            out.push(RootEntry { root: root_of(t), name: t.name.clone(), index: false, table: t.name.clone() });
        }
        // Indexes: the most recently created first (each is prepended to pTab->pIndex). A
        // WITHOUT ROWID table's own b-tree is its primary-key index, created with the table
        // (taken as the oldest: a UNIQUE constraint declared before the PRIMARY KEY clause
        // would come before it in SQLite's list).
        for e in entries.iter().rev().filter(|e| e.kind == "index" && e.tbl_name.eq_ignore_ascii_case(&t.name)) {
            out.push(RootEntry { root: root_of(e), name: e.name.clone(), index: true, table: t.name.clone() });
        }
        if without_rowid {
            out.push(RootEntry { root: root_of(t), name: t.name.clone(), index: true, table: t.name.clone() });
        }
    }
    out
}

fn root_of(e: &SchemaEntry) -> u32 {
    u32::try_from(e.rootpage).unwrap_or(0)
}

/// True when a CREATE TABLE statement ends in WITHOUT ROWID.
fn is_without_rowid(sql: &str) -> bool {
    let tail: String = sql.chars().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
    let words: Vec<String> = tail
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    words.windows(2).any(|w| matches!(w, [a, b] if a == "without" && b == "rowid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, root: i64) -> SchemaEntry {
        SchemaEntry {
            kind: "table".into(),
            name: name.into(),
            tbl_name: name.into(),
            rootpage: root,
            sql: Some(format!("CREATE TABLE {name}(a)")),
        }
    }

    #[test]
    fn few_tables_reverse_creation_order_schema_last() {
        let mut e = vec![table("a", 2), table("b", 3)];
        e.push(SchemaEntry {
            kind: "index".into(),
            name: "ia".into(),
            tbl_name: "a".into(),
            rootpage: 4,
            sql: Some("CREATE INDEX ia ON a(a)".into()),
        });
        e.push(SchemaEntry {
            kind: "index".into(),
            name: "ia2".into(),
            tbl_name: "a".into(),
            rootpage: 5,
            sql: Some("CREATE INDEX ia2 ON a(a)".into()),
        });
        let r: Vec<u32> = root_list(&e).iter().map(|r| r.root).collect();
        assert_eq!(r, vec![3, 2, 5, 4, 1]);
    }

    #[test]
    fn without_rowid_has_no_table_root() {
        assert!(is_without_rowid("CREATE TABLE w(a PRIMARY KEY, b) WITHOUT ROWID"));
        assert!(!is_without_rowid("CREATE TABLE w(a PRIMARY KEY, b)"));
    }

    #[test]
    fn many_tables_do_not_panic() {
        let e: Vec<SchemaEntry> = (0..200).map(|i| table(&format!("t{i}"), i + 2)).collect();
        let r = root_list(&e);
        assert_eq!(r.len(), 201);
    }
}
