//! Time: the apply-time timestamp, and RFC 3339 timestamps shifted and
//! formatted as Terraform's `timeadd` and `formatdate` do.

use super::{arg_err, def, string, CallError, FuncDef, Kind};
use crate::eval::Host;
use crate::value::Value;

type R = Result<Value, CallError>;

pub const DEFS: &[FuncDef] = &[
    def("timestamp", &[], timestamp),
    def("plantimestamp", &[], plantimestamp),
    def("timeadd", &[Kind::String, Kind::Any], timeadd),
    def("timecmp", &[Kind::String, Kind::String], timecmp),
    def("formatdate", &[Kind::String, Kind::String], formatdate),
];

fn timestamp(_: &[Value], host: &dyn Host) -> R {
    Ok(host.timestamp().map(Value::String).unwrap_or(Value::Unknown))
}

/// When the plan was made: known while planning, unlike `timestamp()`.
fn plantimestamp(_: &[Value], host: &dyn Host) -> R {
    Ok(host.plan_timestamp().map(Value::String).unwrap_or(Value::Unknown))
}

/// An instant: seconds since the epoch (UTC), nanoseconds, and the offset it was written in.
#[derive(Clone, Copy)]
struct Time {
    secs: i64,
    nanos: i64,
    offset: i32,
    /// Written with `Z`: shown as `UTC` and `Z`.
    utc: bool,
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

fn parse_time(s: &str, arg: usize) -> Result<Time, CallError> {
    let bad = |why: &str| arg_err(arg, format!("not a valid RFC3339 timestamp: {why}"));
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Result<i64, CallError> {
        s.get(from..from + len)
            .filter(|t| t.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| bad(&format!("cannot use \"{}\" as a number", s.get(from..).unwrap_or(""))))
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return Err(bad("the date must be written YYYY-MM-DD"));
    }
    // Terraform's parser takes only the capital `T` and `Z`.
    if b.get(10) != Some(&b'T') {
        return Err(bad("missing required time introducer 'T'"));
    }
    let (h, mi, se) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return Err(bad("the time must be written hh:mm:ss"));
    }
    let mut i = 19;
    let mut nanos = 0i64;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let frac = &s[start..i];
        if frac.is_empty() {
            return Err(bad("a fraction of a second needs digits"));
        }
        nanos = format!("{:0<9}", &frac[..frac.len().min(9)]).parse().unwrap_or(0);
    }
    let (offset, utc) = match &s[i..] {
        "Z" => (0, true),
        z if z.len() == 6 && (z.starts_with('+') || z.starts_with('-')) && &z[3..4] == ":" => {
            let oh: i32 = z[1..3].parse().map_err(|_| bad("the zone offset must be written ±hh:mm"))?;
            let om: i32 = z[4..6].parse().map_err(|_| bad("the zone offset must be written ±hh:mm"))?;
            let o = oh * 3600 + om * 60;
            (if z.starts_with('-') { -o } else { o }, false)
        }
        "" => return Err(bad("missing the time zone (Z or ±hh:mm)")),
        _ => return Err(bad("the time zone must be Z or ±hh:mm")),
    };
    // No leap second, and no 30 February: the day must be in its month.
    if !(1..=12).contains(&mo) || h > 23 || mi > 59 || se > 59 {
        return Err(bad("a field is out of range"));
    }
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days_in_month = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][(mo - 1) as usize];
    if !(1..=days_in_month).contains(&d) {
        return Err(bad("day out of range"));
    }
    let local = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se;
    Ok(Time { secs: local - i64::from(offset), nanos, offset, utc })
}

/// The local date and time of an instant: (year, month, day, hour, minute, second, weekday 0 = Sunday).
fn local(t: Time) -> (i64, i64, i64, i64, i64, i64, i64) {
    let l = t.secs + i64::from(t.offset);
    let (days, rem) = (l.div_euclid(86_400), l.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60, (days + 4).rem_euclid(7))
}

fn zone(t: Time, colon: bool) -> String {
    let o = t.offset.abs();
    let sign = if t.offset < 0 { '-' } else { '+' };
    if colon {
        format!("{sign}{:02}:{:02}", o / 3600, o % 3600 / 60)
    } else {
        format!("{sign}{:02}{:02}", o / 3600, o % 3600 / 60)
    }
}

/// RFC 3339 as Go writes it: whole seconds, `Z` for UTC.
fn rfc3339(t: Time) -> String {
    let (y, m, d, h, mi, s, _) = local(t);
    let z = if t.utc { "Z".to_string() } else { zone(t, true) };
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}{z}")
}

/// Go's `time.ParseDuration`: `1h30m`, `-1.5h`, `300ms`; units ns, us, µs, ms, s, m, h.
fn parse_duration(s: &str, arg: usize) -> Result<i128, CallError> {
    let bad = |why: String| arg_err(arg, format!("time: {why} in duration \"{s}\""));
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(bad("invalid duration".into()));
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let n_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let n: f64 = rest[..n_end].parse().map_err(|_| bad("invalid duration".into()))?;
        rest = &rest[n_end..];
        let u_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = &rest[..u_end];
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(bad("missing unit".into())),
            u => return Err(bad(format!("unknown unit \"{u}\""))),
        };
        total += n * scale;
        rest = &rest[u_end..];
    }
    let ns = total.round() as i128;
    Ok(if neg { -ns } else { ns })
}

fn timeadd(a: &[Value], _: &dyn Host) -> R {
    let mut t = parse_time(string(a, 0)?, 0)?;
    let ns = match &a[1] {
        // A Landform duration literal (`90m`) as it is.
        Value::Duration(ms) => i128::from(*ms) * 1_000_000,
        Value::String(s) => parse_duration(s, 1)?,
        other => return Err(arg_err(1, format!("a duration is required, not a {}", other.type_name()))),
    };
    let total = i128::from(t.secs) * 1_000_000_000 + i128::from(t.nanos) + ns;
    t.secs = total.div_euclid(1_000_000_000) as i64;
    t.nanos = total.rem_euclid(1_000_000_000) as i64;
    Ok(Value::String(rfc3339(t)))
}

fn timecmp(a: &[Value], _: &dyn Host) -> R {
    let (x, y) = (parse_time(string(a, 0)?, 0)?, parse_time(string(a, 1)?, 1)?);
    Ok(Value::from(match (x.secs, x.nanos).cmp(&(y.secs, y.nanos)) {
        std::cmp::Ordering::Less => -1i64,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    }))
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/// Terraform's `formatdate`: runs of one letter are verbs (`YYYY`, `MMM`,
/// `hh`…), `'text'` is literal, and anything else is copied.
fn formatdate(a: &[Value], _: &dyn Host) -> R {
    let spec: Vec<char> = string(a, 0)?.chars().collect();
    let t = parse_time(string(a, 1)?, 1)?;
    let (y, mo, d, h, mi, s, wd) = local(t);
    let mut out = String::new();
    let mut i = 0;
    while i < spec.len() {
        let c = spec[i];
        if c == '\'' {
            // Quoted text; '' inside it is one quote.
            i += 1;
            loop {
                match (spec.get(i), spec.get(i + 1)) {
                    (Some('\''), Some('\'')) => {
                        out.push('\'');
                        i += 2;
                    }
                    (Some('\''), _) => {
                        i += 1;
                        break;
                    }
                    (Some(ch), _) => {
                        out.push(*ch);
                        i += 1;
                    }
                    (None, _) => return Err(arg_err(0, "unterminated literal '")),
                }
            }
            continue;
        }
        if !c.is_ascii_alphabetic() {
            out.push(c);
            i += 1;
            continue;
        }
        let run = spec[i..].iter().take_while(|x| **x == c).count();
        let verb: String = spec[i..i + run].iter().collect();
        i += run;
        let bad = |why: &str| arg_err(0, format!("invalid date format verb \"{verb}\"{why}"));
        let h12 = if h % 12 == 0 { 12 } else { h % 12 };
        let text = match (c, run) {
            ('Y', 4) => format!("{y:04}"),
            ('Y', 2) => format!("{:02}", y.rem_euclid(100)),
            ('Y', _) => return Err(bad(": year must either be \"YY\" or \"YYYY\"")),
            ('M', 1) => mo.to_string(),
            ('M', 2) => format!("{mo:02}"),
            ('M', 3) => MONTHS[(mo - 1) as usize][..3].to_string(),
            ('M', 4) => MONTHS[(mo - 1) as usize].to_string(),
            ('M', _) => return Err(bad(": month must be \"M\", \"MM\", \"MMM\", or \"MMMM\"")),
            ('D', 1) => d.to_string(),
            ('D', 2) => format!("{d:02}"),
            ('D', _) => return Err(bad(": day of month must either be \"D\" or \"DD\"")),
            ('E', 3) => DAYS[wd as usize][..3].to_string(),
            ('E', 4) => DAYS[wd as usize].to_string(),
            ('E', _) => return Err(bad(": day of week must either be \"EEE\" or \"EEEE\"")),
            ('h', 1) => h.to_string(),
            ('h', 2) => format!("{h:02}"),
            ('H', 1) => h12.to_string(),
            ('H', 2) => format!("{h12:02}"),
            ('h' | 'H', _) => return Err(bad(": hour must either be \"h\"/\"H\" or \"hh\"/\"HH\"")),
            ('A', 2) => (if h < 12 { "AM" } else { "PM" }).to_string(),
            ('a', 2) => (if h < 12 { "am" } else { "pm" }).to_string(),
            ('A' | 'a', _) => return Err(bad(": must be \"AA\" or \"aa\"")),
            ('m', 1) => mi.to_string(),
            ('m', 2) => format!("{mi:02}"),
            ('m', _) => return Err(bad(": minute must either be \"m\" or \"mm\"")),
            ('s', 1) => s.to_string(),
            ('s', 2) => format!("{s:02}"),
            ('s', _) => return Err(bad(": second must either be \"s\" or \"ss\"")),
            ('Z', 1) => {
                if t.utc {
                    "Z".to_string()
                } else {
                    zone(t, true)
                }
            }
            ('Z', 3) => {
                if t.utc {
                    "UTC".to_string()
                } else {
                    zone(t, false)
                }
            }
            ('Z', 4) => zone(t, false),
            ('Z', 5) => zone(t, true),
            ('Z', _) => return Err(bad(": zone must be \"Z\", \"ZZZ\", \"ZZZZ\", or \"ZZZZZ\"")),
            _ => return Err(bad("")),
        };
        out.push_str(&text);
    }
    Ok(Value::String(out))
}
