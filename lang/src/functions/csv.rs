//! `csvdecode`: CSV as Go's encoding/csv reads it with its defaults (RFC
//! 4180; `"` quotes, `""` inside them; blank lines skipped; every record as
//! many fields as the first), the first record naming the columns.

use super::{call_err, def, string, CallError, FuncDef, Kind};
use crate::eval::Host;
use crate::value::Value;
use std::collections::BTreeMap;

pub const DEFS: &[FuncDef] = &[def("csvdecode", &[Kind::String], csvdecode)];

fn csvdecode(a: &[Value], _: &dyn Host) -> Result<Value, CallError> {
    let mut records = records(string(a, 0)?).map_err(call_err)?.into_iter();
    let header = records.next().ok_or_else(|| call_err("missing header line"))?;
    for (i, name) in header.iter().enumerate() {
        if header[..i].contains(name) {
            return Err(call_err(format!("duplicate column name \"{name}\"")));
        }
    }
    Ok(Value::list(
        records
            .map(|r| {
                let row: BTreeMap<String, Value> =
                    header.iter().cloned().zip(r.into_iter().map(Value::String)).collect();
                Value::object(row)
            })
            .collect(),
    ))
}

/// Every record's fields, or what is wrong on which line.
fn records(text: &str) -> Result<Vec<Vec<String>>, String> {
    let c: Vec<char> = text.chars().collect();
    let newline_at = |i: usize| match c.get(i) {
        Some('\n') => Some(1),
        Some('\r') if c.get(i + 1) == Some(&'\n') => Some(2),
        _ => None,
    };
    let mut out: Vec<Vec<String>> = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < c.len() {
        if let Some(n) = newline_at(i) {
            i += n;
            line += 1;
            continue;
        }
        let start = line;
        let mut fields = Vec::new();
        loop {
            let mut field = String::new();
            if c.get(i) == Some(&'"') {
                i += 1;
                loop {
                    match c.get(i) {
                        None => {
                            return Err(format!(
                                "CSV parse error on line {start}: extraneous or missing \" in quoted-field"
                            ))
                        }
                        Some('"') if c.get(i + 1) == Some(&'"') => {
                            field.push('"');
                            i += 2;
                        }
                        Some('"') => {
                            i += 1;
                            if !(i == c.len() || c[i] == ',' || newline_at(i).is_some()) {
                                return Err(format!(
                                    "CSV parse error on line {line}: extraneous or missing \" in quoted-field"
                                ));
                            }
                            break;
                        }
                        Some(_) if newline_at(i) == Some(2) => {
                            field.push('\n');
                            i += 2;
                            line += 1;
                        }
                        Some(&ch) => {
                            line += usize::from(ch == '\n');
                            field.push(ch);
                            i += 1;
                        }
                    }
                }
            } else {
                while i < c.len() && c[i] != ',' && newline_at(i).is_none() {
                    if c[i] == '"' {
                        return Err(format!("CSV parse error on line {line}: bare \" in non-quoted-field"));
                    }
                    field.push(c[i]);
                    i += 1;
                }
            }
            fields.push(field);
            if c.get(i) == Some(&',') {
                i += 1;
                continue;
            }
            if let Some(n) = newline_at(i) {
                i += n;
                line += 1;
            }
            break;
        }
        if out.first().is_some_and(|first| first.len() != fields.len()) {
            return Err(format!("CSV parse error on line {start}: wrong number of fields"));
        }
        out.push(fields);
    }
    Ok(out)
}
