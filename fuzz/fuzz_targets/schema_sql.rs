//! The schema SQL tokenizer and CREATE TABLE parser (names, types, constraints, defaults,
//! WITHOUT ROWID, generated columns), then what the decoders ask of the result.
#![no_main]
use libfuzzer_sys::fuzz_target;
use walinspect::forensics::schema::parse_create_table;
use walinspect::format::record::Value;

fuzz_target!(|data: &[u8]| {
    let sql = String::from_utf8_lossy(data);
    let d = parse_create_table("t", &sql);
    let _ = (d.visible_columns().len(), d.column_names(8), d.pk_len());
    let _ = d.row_values(&[Value::Integer(1), Value::Text("x".into()), Value::Null], Some(7));
});
