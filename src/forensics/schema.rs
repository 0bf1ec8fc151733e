//! What a table's records mean, from the `CREATE TABLE` text kept in `sqlite_schema`.
//!
//! A small, tolerant tokenizer (identifiers bare or quoted with `"`, `` ` `` or `[]`, string
//! literals, numbers, punctuation, `--` and `/* */` comments) and a parser that extracts only
//! what record decoding needs: column names in order, each column's declared type (for its
//! affinity), whether it is stored (VIRTUAL generated columns are not), its DEFAULT literal,
//! which column is the INTEGER PRIMARY KEY (the rowid alias, stored as NULL), whether the table
//! is WITHOUT ROWID and, if so, its primary-key columns (stored first in each record).
//! Anything it cannot parse yields a partial definition with a note, never an error.

use crate::format::record::Value;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// Bare word or quoted identifier; `quoted` ones are never keywords.
    Ident(String, bool),
    Str(String),
    Num(String),
    Punct(char),
}

fn tokenize(sql: &str) -> Vec<Tok> {
    let c: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let at = |i: usize| c.get(i).copied();
    while let Some(ch) = at(i) {
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '-' && at(i + 1) == Some('-') {
            while at(i).is_some_and(|x| x != '\n') {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == Some('*') {
            i += 2;
            while at(i).is_some() && !(at(i) == Some('*') && at(i + 1) == Some('/')) {
                i += 1;
            }
            i += 2;
        } else if ch == '"' || ch == '`' || ch == '\'' || ch == '[' {
            let close = if ch == '[' { ']' } else { ch };
            let mut s = String::new();
            i += 1;
            while let Some(x) = at(i) {
                if x == close {
                    if close != ']' && at(i + 1) == Some(close) {
                        s.push(close);
                        i += 2;
                        continue;
                    }
                    break;
                }
                s.push(x);
                i += 1;
            }
            i += 1;
            out.push(if ch == '\'' { Tok::Str(s) } else { Tok::Ident(s, true) });
        } else if ch.is_ascii_digit() || (ch == '.' && at(i + 1).is_some_and(|x| x.is_ascii_digit())) {
            let mut s = String::new();
            while let Some(x) = at(i) {
                let exp_sign = (x == '+' || x == '-') && s.ends_with(['e', 'E']) && !s.starts_with("0x");
                if x.is_ascii_alphanumeric() || x == '.' || exp_sign {
                    s.push(x);
                    i += 1;
                } else {
                    break;
                }
            }
            out.push(Tok::Num(s));
        } else if ch.is_alphanumeric() || ch == '_' || ch == '$' || !ch.is_ascii() {
            let mut s = String::new();
            while let Some(x) = at(i) {
                if x.is_alphanumeric() || x == '_' || x == '$' || !x.is_ascii() {
                    s.push(x);
                    i += 1;
                } else {
                    break;
                }
            }
            out.push(Tok::Ident(s, false));
        } else {
            out.push(Tok::Punct(ch));
            i += 1;
        }
    }
    out
}

fn kw(t: Option<&Tok>, k: &str) -> bool {
    matches!(t, Some(Tok::Ident(s, false)) if s.eq_ignore_ascii_case(k))
}

fn punct(t: Option<&Tok>, p: char) -> bool {
    matches!(t, Some(Tok::Punct(c)) if *c == p)
}

/// Column type affinity (SQLite's rules in `sqlite3AffinityType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Affinity {
    Integer,
    Text,
    Blob,
    Real,
    Numeric,
}

impl Affinity {
    pub fn of(decl: &str) -> Self {
        let u = decl.to_ascii_uppercase();
        if u.contains("INT") {
            Self::Integer
        } else if u.contains("CHAR") || u.contains("CLOB") || u.contains("TEXT") {
            Self::Text
        } else if u.contains("BLOB") || u.trim().is_empty() {
            Self::Blob
        } else if u.contains("REAL") || u.contains("FLOA") || u.contains("DOUB") {
            Self::Real
        } else {
            Self::Numeric
        }
    }
}

/// One column of a table.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    /// The declared type as written (may be empty).
    pub decl_type: String,
    /// False for VIRTUAL generated columns, which records do not hold.
    pub stored: bool,
    /// The DEFAULT value when it is a plain literal (what SQLite returns for a record written
    /// before the column was added by ALTER TABLE).
    pub default: Option<Value>,
    /// Marked PRIMARY KEY as a column constraint.
    pub pk_constraint: bool,
    pub pk_desc: bool,
    /// Declared NOT NULL.
    pub not_null: bool,
    /// The column's COLLATE name, when declared (BINARY otherwise).
    pub collation: Option<String>,
}

impl ColumnDef {
    pub fn affinity(&self) -> Affinity {
        Affinity::of(&self.decl_type)
    }
}

/// What the record of a table row holds.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TableDef {
    pub name: String,
    pub columns: Vec<ColumnDef>,
    pub without_rowid: bool,
    /// Index (in `columns`) of the INTEGER PRIMARY KEY rowid alias.
    pub ipk: Option<usize>,
    /// Primary-key columns in key order (indexes into `columns`).
    pub pk: Vec<usize>,
    /// Why the definition is partial, when it is.
    pub problem: Option<String>,
    /// Declared STRICT.
    pub strict: bool,
    /// Has CHECK constraints (column or table).
    pub has_check: bool,
    /// PRIMARY KEY and UNIQUE constraints in the order SQLite creates their indexes (column
    /// constraints as the column is parsed, then table constraints).
    pub keys: Vec<KeyDef>,
}

/// A PRIMARY KEY or UNIQUE constraint of a table.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct KeyDef {
    pub primary: bool,
    pub columns: Vec<KeyColumn>,
}

/// One column of a key or an index: the table column's position (None for an expression or an
/// unknown name), its COLLATE when given, DESC.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct KeyColumn {
    pub column: Option<usize>,
    pub name: String,
    pub collation: Option<String>,
    pub desc: bool,
}

/// What `CREATE [UNIQUE] INDEX` says.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct IndexDef {
    pub unique: bool,
    pub table: String,
    /// Key columns; `column` is resolved against the table by [`IndexDef::resolve`].
    pub columns: Vec<KeyColumn>,
    /// True when a column is an expression (not a plain column name).
    pub has_expression: bool,
    /// Has a WHERE clause (a partial index).
    pub partial: bool,
}

impl IndexDef {
    /// Resolve column names against `table`; false when one is unknown.
    pub fn resolve(&mut self, table: &TableDef) -> bool {
        let mut ok = true;
        for c in &mut self.columns {
            c.column = table.columns.iter().position(|t| t.name.eq_ignore_ascii_case(&c.name));
            ok &= c.column.is_some();
        }
        ok
    }
}

/// Parse `CREATE [UNIQUE] INDEX [IF NOT EXISTS] [schema.]name ON table (cols) [WHERE ...]`.
pub fn parse_create_index(sql: &str) -> Option<IndexDef> {
    let toks = tokenize(sql);
    let t = |i: usize| toks.get(i);
    if !kw(t(0), "CREATE") {
        return None;
    }
    let mut i = 1;
    let unique = kw(t(i), "UNIQUE");
    if unique {
        i += 1;
    }
    if !kw(t(i), "INDEX") {
        return None;
    }
    i += 1;
    if kw(t(i), "IF") {
        i += 3;
    }
    i += 1;
    if punct(t(i), '.') {
        i += 2;
    }
    if !kw(t(i), "ON") {
        return None;
    }
    let table = t(i + 1).and_then(ident_text)?.to_string();
    i += 2;
    if !punct(t(i), '(') {
        return None;
    }
    let (columns, has_expression, end) = key_list(&toks, i + 1);
    let partial = kw(t(end + 1), "WHERE");
    Some(IndexDef { unique, table, columns, has_expression, partial })
}

/// The comma-separated key list starting at `start` (just after its `(`): each entry's column
/// name (or expression), COLLATE and DESC; returns the entries, whether one is an expression,
/// and the position of the closing `)`.
fn key_list(toks: &[Tok], start: usize) -> (Vec<KeyColumn>, bool, usize) {
    let mut out = Vec::new();
    let mut expr = false;
    let mut k = start;
    let mut depth = 0usize;
    let mut cur = KeyColumn::default();
    let mut n_tok = 0usize;
    let mut name_set = false;
    let flush = |cur: &mut KeyColumn, n_tok: &mut usize, name_set: &mut bool, out: &mut Vec<KeyColumn>| {
        if *n_tok > 0 {
            out.push(std::mem::take(cur));
        }
        *n_tok = 0;
        *name_set = false;
    };
    while let Some(tok) = toks.get(k) {
        match tok {
            Tok::Punct('(') => {
                depth += 1;
                expr = true;
            }
            Tok::Punct(')') if depth == 0 => break,
            Tok::Punct(')') => depth -= 1,
            Tok::Punct(',') if depth == 0 => flush(&mut cur, &mut n_tok, &mut name_set, &mut out),
            _ if depth > 0 => {}
            t if kw(Some(t), "COLLATE") => {
                cur.collation = toks.get(k + 1).and_then(ident_text).map(str::to_string);
                k += 1;
            }
            t if kw(Some(t), "DESC") => cur.desc = true,
            t if kw(Some(t), "ASC") => {}
            t => {
                if name_set {
                    // A second operand: an expression, not a column name.
                    expr = true;
                }
                match ident_text(t) {
                    Some(n) if !name_set && !matches!(t, Tok::Str(_)) => cur.name = n.to_string(),
                    _ => expr = true,
                }
                name_set = true;
            }
        }
        n_tok += 1;
        k += 1;
    }
    flush(&mut cur, &mut n_tok, &mut name_set, &mut out);
    (out, expr, k)
}

/// Parse a `CREATE TABLE` statement. Never fails: problems are in `problem`.
pub fn parse_create_table(name: &str, sql: &str) -> TableDef {
    let mut def = TableDef { name: name.to_string(), ..TableDef::default() };
    let toks = tokenize(sql);
    let mut i = 0;
    let t = |i: usize| toks.get(i);
    if !kw(t(0), "CREATE") {
        def.problem = Some("not a CREATE statement".into());
        return def;
    }
    i += 1;
    while kw(t(i), "TEMP") || kw(t(i), "TEMPORARY") {
        i += 1;
    }
    if kw(t(i), "VIRTUAL") {
        def.problem = Some("virtual table: no records of its own".into());
        return def;
    }
    if !kw(t(i), "TABLE") {
        def.problem = Some("not a CREATE TABLE statement".into());
        return def;
    }
    i += 1;
    if kw(t(i), "IF") {
        i += 3;
    }
    // [schema .] name
    i += 1;
    if punct(t(i), '.') {
        i += 2;
    }
    if !punct(t(i), '(') {
        def.problem = Some("no column list (CREATE TABLE ... AS SELECT is stored with its columns by SQLite)".into());
        return def;
    }
    i += 1;
    // Split the column list at depth-0 commas.
    let mut items: Vec<&[Tok]> = Vec::new();
    let mut depth = 0usize;
    let mut start = i;
    let mut end_of_list = None;
    while let Some(tok) = t(i) {
        match tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') if depth == 0 => {
                items.push(toks.get(start..i).unwrap_or(&[]));
                end_of_list = Some(i);
                break;
            }
            Tok::Punct(')') => depth -= 1,
            Tok::Punct(',') if depth == 0 => {
                items.push(toks.get(start..i).unwrap_or(&[]));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let Some(close) = end_of_list else {
        def.problem = Some("unbalanced parentheses in the column list".into());
        items.push(toks.get(start..).unwrap_or(&[]));
        parse_items(&mut def, &items);
        finish(&mut def);
        return def;
    };
    parse_items(&mut def, &items);
    // Table options: WITHOUT ROWID, STRICT.
    let mut j = close + 1;
    while let Some(tok) = t(j) {
        if kw(Some(tok), "WITHOUT") && kw(t(j + 1), "ROWID") {
            def.without_rowid = true;
        }
        if kw(Some(tok), "STRICT") {
            def.strict = true;
        }
        j += 1;
    }
    finish(&mut def);
    def
}

const TABLE_CONSTRAINTS: &[&str] = &["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"];
const COLUMN_CONSTRAINTS: &[&str] =
    &["CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT", "COLLATE", "REFERENCES", "GENERATED", "AS"];

fn ident_text(t: &Tok) -> Option<&str> {
    match t {
        Tok::Ident(s, _) | Tok::Str(s) => Some(s),
        _ => None,
    }
}

fn parse_items(def: &mut TableDef, items: &[&[Tok]]) {
    let mut table_pk: Vec<(String, bool)> = Vec::new();
    for item in items {
        let first = item.first();
        // PRIMARY alone (not PRIMARY KEY) or a quoted word is a column name, not a constraint.
        let primary_without_key = kw(first, "PRIMARY") && !kw(item.get(1), "KEY");
        let quoted = matches!(first, Some(Tok::Ident(_, true)));
        let is_constraint = TABLE_CONSTRAINTS.iter().any(|k| kw(first, k)) && !primary_without_key && !quoted;
        if is_constraint {
            // [CONSTRAINT name] PRIMARY KEY (a, b) / UNIQUE (...) / CHECK (...)
            let mut k = 0;
            if kw(item.get(k), "CONSTRAINT") {
                k += 2;
            }
            let primary = kw(item.get(k), "PRIMARY") && kw(item.get(k + 1), "KEY");
            let unique = kw(item.get(k), "UNIQUE");
            if kw(item.get(k), "CHECK") {
                def.has_check = true;
            }
            let open = if primary { k + 2 } else { k + 1 };
            if (primary || unique) && punct(item.get(open), '(') {
                let (cols, _, _) = key_list(item, open + 1);
                if primary {
                    table_pk = cols.iter().map(|c| (c.name.clone(), c.desc)).collect();
                }
                def.keys.push(KeyDef { primary, columns: cols });
            }
            continue;
        }
        let Some(name) = first.and_then(ident_text) else {
            if !item.is_empty() {
                def.problem.get_or_insert_with(|| "a column definition without a name".into());
            }
            continue;
        };
        let mut col = ColumnDef {
            name: name.to_string(),
            decl_type: String::new(),
            stored: true,
            default: None,
            pk_constraint: false,
            pk_desc: false,
            not_null: false,
            collation: None,
        };
        // Type name: tokens up to the first constraint keyword (with any parenthesised size).
        let mut k = 1;
        let mut ty: Vec<String> = Vec::new();
        while let Some(tok) = item.get(k) {
            if COLUMN_CONSTRAINTS.iter().any(|c| kw(Some(tok), c)) {
                break;
            }
            match tok {
                Tok::Punct('(') => {
                    let mut s = String::from("(");
                    k += 1;
                    while let Some(x) = item.get(k) {
                        if punct(Some(x), ')') {
                            break;
                        }
                        if let Tok::Num(n) | Tok::Ident(n, _) = x {
                            s.push_str(n);
                        } else if let Tok::Punct(p) = x {
                            s.push(*p);
                        }
                        k += 1;
                    }
                    s.push(')');
                    ty.push(s);
                }
                Tok::Ident(s, _) => ty.push(s.clone()),
                _ => {}
            }
            k += 1;
        }
        col.decl_type = ty.join(" ").replace(" (", "(");
        // Constraints.
        let mut depth = 0usize;
        while let Some(tok) = item.get(k) {
            match tok {
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') => depth = depth.saturating_sub(1),
                _ if depth > 0 => {}
                _ if kw(Some(tok), "PRIMARY") && kw(item.get(k + 1), "KEY") => {
                    col.pk_constraint = true;
                    if kw(item.get(k + 2), "DESC") {
                        col.pk_desc = true;
                    }
                    let c = KeyColumn { name: col.name.clone(), desc: col.pk_desc, ..KeyColumn::default() };
                    def.keys.push(KeyDef { primary: true, columns: vec![c] });
                }
                _ if kw(Some(tok), "UNIQUE") => {
                    let c = KeyColumn { name: col.name.clone(), ..KeyColumn::default() };
                    def.keys.push(KeyDef { primary: false, columns: vec![c] });
                }
                _ if kw(Some(tok), "NOT") && kw(item.get(k + 1), "NULL") => col.not_null = true,
                _ if kw(Some(tok), "COLLATE") => {
                    col.collation = item.get(k + 1).and_then(ident_text).map(str::to_string);
                }
                _ if kw(Some(tok), "CHECK") => def.has_check = true,
                _ if kw(Some(tok), "DEFAULT") => col.default = default_literal(item.get(k + 1..).unwrap_or(&[])),
                _ if kw(Some(tok), "VIRTUAL") => col.stored = false,
                _ if kw(Some(tok), "AS") => {
                    // Generated column: VIRTUAL unless STORED follows its expression.
                    col.stored = item.get(k..).unwrap_or(&[]).iter().any(|t| kw(Some(t), "STORED"));
                }
                _ => {}
            }
            k += 1;
        }
        def.columns.push(col);
    }
    let find = |n: &str, cols: &[ColumnDef]| cols.iter().position(|c| c.name.eq_ignore_ascii_case(n));
    if !table_pk.is_empty() {
        for (n, _) in &table_pk {
            match find(n, &def.columns) {
                Some(ix) => def.pk.push(ix),
                None => {
                    def.problem.get_or_insert_with(|| format!("PRIMARY KEY names an unknown column {n}"));
                }
            }
        }
        if let ([ix], [(_, _desc)]) = (def.pk.as_slice(), table_pk.as_slice()) {
            // PRIMARY KEY(x) as a table constraint is an alias even with DESC.
            if def.columns.get(*ix).is_some_and(|c| c.decl_type.eq_ignore_ascii_case("INTEGER")) {
                def.ipk = Some(*ix);
            }
        }
    } else if let Some(ix) = def.columns.iter().position(|c| c.pk_constraint) {
        def.pk.push(ix);
        if def.columns.get(ix).is_some_and(|c| c.decl_type.eq_ignore_ascii_case("INTEGER") && !c.pk_desc) {
            def.ipk = Some(ix);
        }
    }
}

fn finish(def: &mut TableDef) {
    let names: Vec<String> = def.columns.iter().map(|c| c.name.clone()).collect();
    for key in &mut def.keys {
        for c in &mut key.columns {
            c.column = names.iter().position(|n| n.eq_ignore_ascii_case(&c.name));
        }
    }
    if def.without_rowid {
        def.ipk = None;
        // Duplicate PK columns are stored once.
        let mut seen = Vec::new();
        def.pk.retain(|&c| {
            let fresh = !seen.contains(&c);
            seen.push(c);
            fresh
        });
        if def.pk.is_empty() {
            def.problem.get_or_insert_with(|| "WITHOUT ROWID table without a PRIMARY KEY".into());
        }
    }
    if def.columns.is_empty() {
        def.problem.get_or_insert_with(|| "no columns found".into());
    }
}

fn default_literal(t: &[Tok]) -> Option<Value> {
    let (neg, rest) = match t.first() {
        Some(Tok::Punct('-')) => (true, t.get(1..).unwrap_or(&[])),
        Some(Tok::Punct('+')) => (false, t.get(1..).unwrap_or(&[])),
        Some(Tok::Punct('(')) => return default_literal(t.get(1..).unwrap_or(&[])),
        _ => (false, t),
    };
    match rest.first()? {
        Tok::Str(s) => Some(Value::Text(s.clone())),
        Tok::Num(n) => {
            let n = n.to_ascii_lowercase();
            if let Some(h) = n.strip_prefix("0x") {
                let v = u64::from_str_radix(h, 16).ok()? as i64;
                return Some(Value::Integer(if neg { v.wrapping_neg() } else { v }));
            }
            if let Ok(v) = n.parse::<i64>() {
                return Some(Value::Integer(if neg { -v } else { v }));
            }
            n.parse::<f64>().ok().map(|v| Value::Real(if neg { -v } else { v }))
        }
        Tok::Ident(s, false) if s.eq_ignore_ascii_case("NULL") => Some(Value::Null),
        Tok::Ident(s, false) if s.eq_ignore_ascii_case("TRUE") => Some(Value::Integer(1)),
        Tok::Ident(s, false) if s.eq_ignore_ascii_case("FALSE") => Some(Value::Integer(0)),
        _ => None,
    }
}

impl TableDef {
    /// The definition of `sqlite_schema` itself.
    pub fn sqlite_schema() -> Self {
        let col = |n: &str, t: &str| ColumnDef {
            name: n.into(),
            decl_type: t.into(),
            stored: true,
            default: None,
            pk_constraint: false,
            pk_desc: false,
            not_null: false,
            collation: None,
        };
        Self {
            name: "sqlite_schema".into(),
            columns: vec![
                col("type", "text"),
                col("name", "text"),
                col("tbl_name", "text"),
                col("rootpage", "int"),
                col("sql", "text"),
            ],
            ..Self::default()
        }
    }

    /// The columns a row shows (stored ones, in declaration order).
    pub fn visible_columns(&self) -> Vec<&ColumnDef> {
        self.columns.iter().filter(|c| c.stored).collect()
    }

    /// Names of the columns [`TableDef::row_values`] returns; `extra` more than the schema
    /// knows are named `_col{n}`.
    pub fn column_names(&self, record_len: usize) -> Vec<String> {
        let mut names: Vec<String> = self.visible_columns().iter().map(|c| c.name.clone()).collect();
        let n = names.len();
        for k in n..record_len {
            names.push(format!("_col{k}"));
        }
        names
    }

    /// Record position of each stored column (declaration order → position in the record).
    fn record_order(&self) -> Vec<usize> {
        let stored: Vec<usize> =
            (0..self.columns.len()).filter(|&i| self.columns.get(i).is_some_and(|c| c.stored)).collect();
        if !self.without_rowid || self.pk.is_empty() {
            return stored;
        }
        // WITHOUT ROWID: PK columns first (key order), then the others in declaration order.
        let mut order: Vec<usize> = self.pk.clone();
        order.extend(stored.iter().copied().filter(|c| !self.pk.contains(c)));
        order
    }

    /// The values a query returns for a record, in declaration order of the stored columns:
    /// the rowid for the INTEGER PRIMARY KEY (stored as NULL), DEFAULT values for columns the
    /// record is too short to hold (added by ALTER TABLE), REAL affinity applied to integers.
    /// Values beyond the schema's columns are appended.
    pub fn row_values(&self, record: &[Value], rowid: Option<i64>) -> Vec<Value> {
        let order = self.record_order();
        let mut by_col: Vec<Option<Value>> = vec![None; self.columns.len()];
        for (pos, &col) in order.iter().enumerate() {
            if let (Some(slot), Some(v)) = (by_col.get_mut(col), record.get(pos)) {
                *slot = Some(v.clone());
            }
        }
        let mut out = Vec::with_capacity(self.columns.len());
        for (i, c) in self.columns.iter().enumerate() {
            if !c.stored {
                continue;
            }
            let v = by_col.get(i).cloned().flatten();
            let v = match v {
                Some(Value::Null) | None if Some(i) == self.ipk => rowid.map_or(Value::Null, Value::Integer),
                Some(v) => v,
                None => c.default.clone().unwrap_or(Value::Null),
            };
            let v = match (c.affinity(), v) {
                (Affinity::Real, Value::Integer(x)) => Value::Real(x as f64),
                (_, v) => v,
            };
            out.push(v);
        }
        if record.len() > order.len() {
            out.extend(record.get(order.len()..).unwrap_or(&[]).iter().cloned());
        }
        out
    }

    /// Number of record positions holding the primary key of a WITHOUT ROWID table.
    pub fn pk_len(&self) -> usize {
        self.pk.len()
    }
}

/// One row of `sqlite_schema`.
#[derive(Clone, Debug, PartialEq)]
pub struct SchemaEntry {
    /// "table", "index", "view", "trigger".
    pub kind: String,
    pub name: String,
    pub tbl_name: String,
    pub rootpage: i64,
    pub sql: Option<String>,
}

impl SchemaEntry {
    /// Decode from a `sqlite_schema` record.
    pub fn from_record(values: &[Value]) -> Option<Self> {
        let text = |i: usize| values.get(i).and_then(Value::as_text).map(str::to_owned);
        let rootpage = match values.get(3) {
            Some(Value::Integer(i)) => *i,
            Some(Value::Real(r)) => *r as i64,
            _ => 0,
        };
        Some(Self { kind: text(0)?, name: text(1)?, tbl_name: text(2).unwrap_or_default(), rootpage, sql: text(4) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_ipk() {
        let d =
            parse_create_table("t", "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL, v REAL DEFAULT 1.5)");
        assert_eq!(d.columns.len(), 3);
        assert_eq!(d.ipk, Some(0));
        assert_eq!(d.columns[2].default, Some(Value::Real(1.5)));
        assert!(d.problem.is_none());
        let vals = d.row_values(&[Value::Null, Value::Text("a".into())], Some(42));
        assert_eq!(vals, vec![Value::Integer(42), Value::Text("a".into()), Value::Real(1.5)]);
    }

    #[test]
    fn quirks() {
        // DESC column constraint: not an alias; table constraint: alias.
        assert_eq!(parse_create_table("t", "create table t(x INTEGER PRIMARY KEY DESC, y)").ipk, None);
        assert_eq!(parse_create_table("t", "create table t(x INTEGER, y, PRIMARY KEY(x DESC))").ipk, Some(0));
        assert_eq!(parse_create_table("t", "create table t(x INT PRIMARY KEY, y)").ipk, None);
        let d = parse_create_table(
            "t",
            "CREATE TABLE \"we\"\"ird\" ([a b] varchar(10, 2) -- c\n, `c`, 'd' /* x */ DEFAULT -3, CONSTRAINT pk PRIMARY KEY (c, [a b])) WITHOUT ROWID",
        );
        assert_eq!(d.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), vec!["a b", "c", "d"]);
        assert_eq!(d.columns[0].decl_type, "varchar(10,2)");
        assert_eq!(d.columns[2].default, Some(Value::Integer(-3)));
        assert!(d.without_rowid);
        assert_eq!(d.pk, vec![1, 0]);
        // Record order c, a b, d -> declaration order.
        let v = d.row_values(&[Value::Text("C".into()), Value::Text("A".into()), Value::Integer(7)], None);
        assert_eq!(v, vec![Value::Text("A".into()), Value::Text("C".into()), Value::Integer(7)]);
        let g = parse_create_table(
            "g",
            "create table g(x int, y int generated always as (x*2) virtual, z as (x*3) stored, w)",
        );
        assert_eq!(g.columns.iter().map(|c| c.stored).collect::<Vec<_>>(), vec![true, false, true, true]);
        assert_eq!(
            g.row_values(&[Value::Integer(5), Value::Integer(15), Value::Text("W".into())], Some(1)),
            vec![Value::Integer(5), Value::Integer(15), Value::Text("W".into())]
        );
    }

    #[test]
    fn garbage_is_partial_not_panic() {
        for s in [
            "",
            "CREATE",
            "CREATE TABLE",
            "CREATE TABLE t(",
            "CREATE TABLE t(a, b",
            "create view v as select 1",
            "CREATE TABLE t(,,)",
            "\"",
            "CREATE TABLE t AS SELECT 1",
            "[[[",
            "/*",
        ] {
            let d = parse_create_table("t", s);
            assert!(d.problem.is_some() || !d.columns.is_empty(), "{s}");
        }
        assert!(parse_create_table("t", "CREATE TABLE t(a, b").problem.is_some());
    }
}
