//! IP networks: subnets, hosts and netmasks of IPv4 and IPv6 prefixes, as
//! Terraform's `cidr*` functions compute them.

use super::{arg_err, call_err, def, integer, string, CallError, FuncDef, Kind};
use crate::eval::Host;
use crate::value::Value;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

type R = Result<Value, CallError>;

pub const DEFS: &[FuncDef] = &[
    def("cidrsubnet", &[Kind::String, Kind::Number, Kind::Number], cidrsubnet),
    def("cidrsubnets", &[Kind::String], cidrsubnets).variadic(Kind::Number),
    def("cidrhost", &[Kind::String, Kind::Number], cidrhost),
    def("cidrnetmask", &[Kind::String], cidrnetmask),
];

/// A prefix: its network address as a number, its length, and the address size (32 or 128).
struct Prefix {
    base: u128,
    len: u32,
    bits: u32,
}

impl Prefix {
    fn parse(s: &str, arg: usize) -> Result<Prefix, CallError> {
        let bad = || arg_err(arg, format!("invalid CIDR address: {s}"));
        let (addr, len) = s.split_once('/').ok_or_else(bad)?;
        let ip: IpAddr = addr.parse().ok().or_else(|| padded_ipv4(addr).map(IpAddr::V4)).ok_or_else(bad)?;
        let (n, bits) = match ip {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
            IpAddr::V6(v6) => (u128::from(v6), 128),
        };
        let len: u32 = len.parse().ok().filter(|l| *l <= bits).ok_or_else(bad)?;
        Ok(Prefix { base: n & mask(len, bits), len, bits })
    }

    fn show(&self, n: u128) -> String {
        if self.bits == 32 {
            Ipv4Addr::from(n as u32).to_string()
        } else {
            Ipv6Addr::from(n).to_string()
        }
    }
}

/// An IPv4 address with zero-padded parts (`010.000.000.001`), read in
/// decimal as Terraform's parser (Go's before 1.17) reads it.
fn padded_ipv4(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (o, p) in octets.iter_mut().zip(parts) {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *o = p.parse().ok()?;
    }
    Some(Ipv4Addr::from(octets))
}

/// The network mask of a prefix length, as a number of `bits` bits.
fn mask(len: u32, bits: u32) -> u128 {
    let all = if bits == 128 { u128::MAX } else { (1u128 << bits) - 1 };
    if len == 0 {
        0
    } else {
        all & !((1u128 << (bits - len)) - 1)
    }
}

/// The subnet `netnum` of `p` extended by `newbits`: its address and length.
fn subnet(p: &Prefix, newbits: i64, netnum: i64) -> Result<(u128, u32), CallError> {
    if newbits < 0 {
        return Err(arg_err(1, "the number of new bits must not be negative"));
    }
    let new_len = i64::from(p.len) + newbits;
    if new_len > i64::from(p.bits) {
        return Err(call_err(format!("insufficient address space to extend prefix of {} by {newbits}", p.len)));
    }
    let new_len = new_len as u32;
    if netnum < 0 || (newbits < 127 && (netnum as u128) >= (1u128 << newbits)) {
        return Err(call_err(format!("prefix extension of {newbits} does not accommodate a subnet numbered {netnum}")));
    }
    Ok((p.base | ((netnum as u128) << (p.bits - new_len)), new_len))
}

fn cidrsubnet(a: &[Value], _: &dyn Host) -> R {
    let p = Prefix::parse(string(a, 0)?, 0)?;
    let (n, len) = subnet(&p, integer(a, 1)?, integer(a, 2)?)?;
    Ok(Value::String(format!("{}/{len}", p.show(n))))
}

/// Consecutive subnets of the given sizes, each aligned to its own size.
fn cidrsubnets(a: &[Value], _: &dyn Host) -> R {
    let p = Prefix::parse(string(a, 0)?, 0)?;
    let size = |len: u32| if p.bits - len >= 128 { u128::MAX } else { 1u128 << (p.bits - len) };
    let end = p.base.saturating_add(size(p.len).saturating_sub(1));
    let mut next = p.base;
    let mut out = Vec::new();
    for i in 1..a.len() {
        let nb = integer(a, i)?;
        if nb < 1 {
            return Err(arg_err(i, "each number of new bits must be at least 1"));
        }
        let len = i64::from(p.len) + nb;
        if len > i64::from(p.bits) {
            return Err(arg_err(
                i,
                format!(
                    "would extend prefix to {len} bits, which is too long for an IPv{} address",
                    if p.bits == 32 { 4 } else { 6 }
                ),
            ));
        }
        let len = len as u32;
        let step = size(len);
        let start = next.div_ceil(step).saturating_mul(step);
        let last = start.saturating_add(step - 1);
        if start < next || last > end {
            return Err(arg_err(
                i,
                format!(
                    "not enough remaining address space for a subnet with a prefix of {len} bits after {}",
                    out.last().map_or("the start", |s: &Value| s.as_str().unwrap_or(""))
                ),
            ));
        }
        out.push(Value::String(format!("{}/{len}", p.show(start))));
        next = last.saturating_add(1);
    }
    Ok(Value::list(out).with_elem(crate::unify::Shape::String))
}

fn cidrhost(a: &[Value], _: &dyn Host) -> R {
    let p = Prefix::parse(string(a, 0)?, 0)?;
    let host = integer(a, 1)?;
    let room = p.bits - p.len;
    let count: Option<u128> = if room >= 127 { None } else { Some(1u128 << room) };
    let fits = |h: u128| count.is_none_or(|c| h < c);
    let h: Option<u128> = if host >= 0 {
        Some(host as u128).filter(|h| fits(*h))
    } else {
        count.and_then(|c| c.checked_sub(host.unsigned_abs() as u128))
    };
    let h = h.ok_or_else(|| call_err(format!("prefix of {} does not accommodate a host numbered {host}", p.len)))?;
    Ok(Value::String(p.show(p.base | h)))
}

fn cidrnetmask(a: &[Value], _: &dyn Host) -> R {
    let s = string(a, 0)?;
    let p = Prefix::parse(s, 0)?;
    if p.bits != 32 {
        return Err(arg_err(0, format!("IPv6 addresses cannot have a netmask: {s}")));
    }
    Ok(Value::String(Ipv4Addr::from(mask(p.len, 32) as u32).to_string()))
}
