//! Carving signatures from table definitions: per record position, the storage classes the
//! column's affinity lets SQLite store (§2.2 of the forensic reference), widened by the classes
//! seen in the table's live rows; the INTEGER PRIMARY KEY position admits NULL only.
//! Tables with identical signatures share one (a table dropped and recreated with the same
//! schema, or two tables of the same shape): attribution then uses page ownership.

use std::collections::HashMap;

use crate::forensics::schema::{Affinity, TableDef};
use crate::format::carve::{Signature, class, class_of};
use crate::format::record::{TextEncoding, decode_record};

/// Storage classes seen per record position of one table, and the fewest positions seen.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    pub masks: Vec<u8>,
    /// Distinct serial types per position (at most 64 kept per position).
    pub types: Vec<std::collections::BTreeSet<u64>>,
    pub min_len: Option<usize>,
}

/// Note the classes of one live row of `table`.
pub fn observe(seen: &mut HashMap<String, Observed>, table: &str, payload: &[u8], enc: TextEncoding) {
    let rec = decode_record(payload, enc);
    let o = seen.entry(table.to_string()).or_default();
    if o.masks.len() < rec.serial_types.len() {
        o.masks.resize(rec.serial_types.len().min(4096), 0);
    }
    for (m, &t) in o.masks.iter_mut().zip(&rec.serial_types) {
        *m |= class_of(t).unwrap_or(0);
    }
    if o.types.len() < o.masks.len() {
        o.types.resize(o.masks.len(), Default::default());
    }
    for (s, &t) in o.types.iter_mut().zip(&rec.serial_types) {
        if s.len() < 64 {
            s.insert(t);
        }
    }
    o.min_len = Some(o.min_len.map_or(rec.serial_types.len(), |x| x.min(rec.serial_types.len())));
}

fn affinity_mask(a: Affinity) -> u8 {
    match a {
        Affinity::Integer | Affinity::Real => class::NULL | class::INT | class::REAL,
        Affinity::Numeric => class::NULL | class::INT | class::REAL | class::TEXT,
        Affinity::Text => class::NULL | class::TEXT,
        Affinity::Blob => class::ANY,
    }
}

/// The signature of a table's records.
pub fn signature_of(def: &TableDef, seen: Option<&Observed>) -> Option<Signature> {
    let stored: Vec<usize> = (0..def.columns.len()).filter(|&i| def.columns.get(i).is_some_and(|c| c.stored)).collect();
    let order: Vec<usize> = if def.without_rowid && !def.pk.is_empty() {
        let mut o = def.pk.clone();
        o.extend(stored.iter().copied().filter(|c| !def.pk.contains(c)));
        o
    } else {
        stored
    };
    if order.is_empty() {
        return None;
    }
    let mut columns = Vec::with_capacity(order.len());
    for (pos, &ci) in order.iter().enumerate() {
        let c = def.columns.get(ci)?;
        let m = if Some(ci) == def.ipk && !def.without_rowid {
            class::NULL
        } else if def.without_rowid && def.pk.contains(&ci) {
            // WITHOUT ROWID primary-key columns are NOT NULL.
            (affinity_mask(c.affinity()) | seen.and_then(|o| o.masks.get(pos)).copied().unwrap_or(0)) & !class::NULL
        } else {
            affinity_mask(c.affinity()) | seen.and_then(|o| o.masks.get(pos)).copied().unwrap_or(0)
        };
        columns.push(m);
    }
    let n = columns.len();
    let min_columns = seen.and_then(|o| o.min_len).map_or(n, |m| m.clamp(1, n));
    let seen = seen.map(|o| o.types.iter().map(|s| s.iter().copied().collect()).collect()).unwrap_or_default();
    Some(Signature {
        columns,
        min_columns,
        index: def.without_rowid,
        seen,
        min_body: 0,
        nonempty: Vec::new(),
        allow_guess: true,
    })
}

/// Distinct signatures and the tables behind each.
#[derive(Clone, Debug, Default)]
pub struct SigSet {
    sigs: Vec<Signature>,
    names: Vec<Vec<String>>,
    /// Signatures of index entries (matched so they are not mistaken for rows; not reported).
    index_entry: Vec<bool>,
}

impl SigSet {
    /// Add a table (no-op when it has no stored column).
    pub fn add(&mut self, name: &str, def: &TableDef, seen: Option<&Observed>) {
        let Some(s) = signature_of(def, seen) else { return };
        if let Some(i) = self.sigs.iter().position(|x| *x == s) {
            if let Some(n) = self.names.get_mut(i)
                && !n.iter().any(|x| x == name)
            {
                n.push(name.to_string());
            }
            return;
        }
        self.sigs.push(s);
        self.names.push(vec![name.to_string()]);
        self.index_entry.push(false);
    }

    /// Add an index from its `CREATE INDEX` statement and its table's definition: the indexed
    /// columns' classes, then the rowid (or the table's primary key).
    pub fn add_index(&mut self, name: &str, sql: &str, table: &TableDef) {
        let Some(cols) = index_columns(sql) else { return };
        let mut columns: Vec<u8> = Vec::new();
        let mut used: Vec<usize> = Vec::new();
        for c in &cols {
            match table.columns.iter().position(|d| d.name.eq_ignore_ascii_case(c)) {
                Some(i) => {
                    used.push(i);
                    let m = if Some(i) == table.ipk {
                        class::INT
                    } else {
                        affinity_mask(table.columns.get(i).map_or(Affinity::Blob, |d| d.affinity()))
                    };
                    columns.push(m);
                }
                None => columns.push(class::ANY),
            }
        }
        if table.without_rowid {
            for &k in &table.pk {
                if !used.contains(&k) {
                    columns
                        .push(table.columns.get(k).map_or(class::ANY, |d| affinity_mask(d.affinity())) & !class::NULL);
                }
            }
        } else {
            columns.push(class::INT);
        }
        let n = columns.len();
        let s = Signature {
            columns,
            min_columns: n,
            index: true,
            seen: Vec::new(),
            min_body: 0,
            nonempty: Vec::new(),
            allow_guess: true,
        };
        if self.sigs.contains(&s) {
            return;
        }
        self.sigs.push(s);
        self.names.push(vec![name.to_string()]);
        self.index_entry.push(true);
    }

    /// True when signature `i` is an index's (its records are entries, not rows).
    pub fn is_index_entry(&self, i: usize) -> bool {
        self.index_entry.get(i).copied().unwrap_or(false)
    }

    /// Signature indexes of the named objects.
    pub fn of_names<'n>(&self, names: impl Iterator<Item = &'n String>) -> Vec<usize> {
        let mut out = Vec::new();
        for n in names {
            for (i, ns) in self.names.iter().enumerate() {
                if ns.iter().any(|x| x == n) && !out.contains(&i) {
                    out.push(i);
                }
            }
        }
        out
    }

    /// The fixed signature of `sqlite_schema` rows.
    pub fn schema_sig(&self) -> Signature {
        Signature {
            columns: vec![class::TEXT, class::TEXT, class::TEXT, class::INT | class::NULL, class::TEXT | class::NULL],
            min_columns: 5,
            index: false,
            seen: Vec::new(),
            min_body: 0,
            nonempty: Vec::new(),
            allow_guess: true,
        }
    }

    pub fn signatures(&self) -> Vec<Signature> {
        self.sigs.clone()
    }

    /// Names of every table whose signature admits `types` (same record shape as signature
    /// `sig`: rowid table or index-shaped).
    pub fn tables_admitting(&self, types: &[u64], sig: usize) -> Vec<String> {
        let index = self.sigs.get(sig).is_some_and(|s| s.index);
        let mut out: Vec<String> = Vec::new();
        for ((s, n), &ie) in self.sigs.iter().zip(&self.names).zip(&self.index_entry) {
            if ie || s.index != index || types.len() < s.min_columns.max(1) || types.len() > s.columns.len() {
                continue;
            }
            if types.iter().zip(&s.columns).all(|(&t, &m)| class_of(t).is_some_and(|c| c & m != 0)) {
                out.extend(n.iter().cloned());
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

/// The column names of `CREATE [UNIQUE] INDEX name ON table(col, col COLLATE x DESC, …)`;
/// `None` for expressions or anything not understood.
fn index_columns(sql: &str) -> Option<Vec<String>> {
    let upper = sql.to_ascii_uppercase();
    let on = upper.find(" ON ")?;
    let open = on + sql.get(on..)?.find('(')?;
    let close = open + sql.get(open..)?.rfind(')')?;
    let inner = sql.get(open + 1..close)?;
    if upper.get(close..)?.contains(" WHERE ") || inner.contains('(') {
        return None;
    }
    let mut out = Vec::new();
    for part in inner.split(',') {
        let w = part.split_whitespace().next()?;
        out.push(w.trim_matches(|c| c == '"' || c == '`' || c == '[' || c == ']' || c == '\'').to_string());
    }
    (!out.is_empty()).then_some(out)
}
