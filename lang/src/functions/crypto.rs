//! Password hashing (`bcrypt`) and RSA decryption (`rsadecrypt`, which
//! Landform does not have).

use super::{arg_err, call_err, def, integer, string, CallError, FuncDef, Kind};
use crate::eval::Host;
use crate::value::Value;

type R = Result<Value, CallError>;

pub const DEFS: &[FuncDef] = &[
    def("bcrypt", &[Kind::String, Kind::Number], bcrypt).optional(1),
    def("rsadecrypt", &[Kind::String, Kind::String], rsadecrypt),
];

/// Go's bcrypt: `$2a$`, cost 10 unless given (a cost below 4 means 10 too),
/// at most 72 bytes. The salt is random, so the hash is new at each apply
/// and unknown while planning (the salt comes from the host's randomness,
/// as `uuid()`'s does).
fn bcrypt(a: &[Value], host: &dyn Host) -> R {
    let password = string(a, 0)?;
    let cost = match a.get(1) {
        Some(_) => integer(a, 1)?,
        None => 10,
    };
    if cost > 31 {
        return Err(arg_err(1, format!("the cost {cost} is outside the range 4 to 31")));
    }
    let cost = if cost < 4 { 10 } else { cost as u32 };
    if password.len() > 72 {
        return Err(arg_err(0, "bcrypt takes at most 72 bytes of password"));
    }
    let Some(uuid) = host.uuid() else { return Ok(Value::Unknown) };
    let digits: Vec<u8> = uuid.bytes().filter(u8::is_ascii_hexdigit).collect();
    let mut salt = [0u8; 16];
    for (i, pair) in digits.chunks(2).take(16).enumerate() {
        let hex = std::str::from_utf8(pair).unwrap_or("0");
        salt[i] = u8::from_str_radix(hex, 16).unwrap_or(0);
    }
    let parts = bcrypt::hash_with_salt(password, cost, salt).map_err(|e| call_err(e.to_string()))?;
    Ok(Value::String(parts.format_for_version(bcrypt::Version::TwoA)))
}

fn rsadecrypt(_: &[Value], _: &dyn Host) -> R {
    Err(call_err(
        "Landform has no RSA decryption: decrypt the value outside Landform (e.g. `aws ec2 get-password-data --priv-launch-key`) and pass it in as a sensitive variable",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Random(&'static str);
    impl Host for Random {
        fn read_file(&self, _: &str) -> Result<String, String> {
            Err("no files".into())
        }
        fn env(&self, _: &str) -> Option<String> {
            None
        }
        fn uuid(&self) -> Option<String> {
            Some(self.0.to_string())
        }
    }

    #[test]
    fn bcrypt_hashes_verify_and_take_their_salt_from_the_host() {
        let one =
            bcrypt(&[Value::String("s3cret".into())], &Random("0f8fad5b-d9cb-469f-a165-70867728950e")).ok().unwrap();
        let two =
            bcrypt(&[Value::String("s3cret".into())], &Random("7c9e6679-7425-40de-944b-e07fc1f90ae7")).ok().unwrap();
        let (one, two) = (one.as_str().unwrap().to_string(), two.as_str().unwrap().to_string());
        assert!(one.starts_with("$2a$10$") && one.len() == 60, "{one}");
        assert_ne!(one, two);
        assert!(::bcrypt::verify("s3cret", &one).unwrap() && !::bcrypt::verify("other", &one).unwrap());
        // While planning there is no randomness: the hash is unknown.
        assert!(bcrypt(&[Value::String("s3cret".into())], &crate::NoHost).ok().unwrap().is_unknown());
    }
}
