//! Version constraints as Terraform writes them: `>= 1.2, < 2.0`, `~> 1.4`,
//! `= 0.2.1`, `!= 1.3`, for `required_version`.

use std::cmp::Ordering;

/// A version: up to three numbers (missing parts are 0) and an optional pre-release tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    parts: [u64; 3],
    /// How many parts were written (for `~>`).
    written: usize,
    pre: Option<String>,
}

impl Version {
    pub fn parse(s: &str) -> Result<Version, String> {
        let s = s.trim().trim_start_matches('v');
        let (nums, pre) = match s.split_once('-') {
            Some((n, p)) => (n, Some(p.to_string())),
            None => (s, None),
        };
        let mut parts = [0u64; 3];
        let mut written = 0;
        for (i, p) in nums.split('.').enumerate() {
            if i >= 3 {
                return Err(format!("\"{s}\" has more than three parts; a version is MAJOR.MINOR.PATCH"));
            }
            parts[i] = p.parse().map_err(|_| format!("\"{s}\" is not a version: write it as 1.2.3"))?;
            written = i + 1;
        }
        Ok(Version { parts, written, pre })
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts.cmp(&other.parts).then_with(|| match (&self.pre, &other.pre) {
            (None, None) => Ordering::Equal,
            // A pre-release comes before its release.
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(a), Some(b)) => a.cmp(b),
        })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A list of comparisons, all of which must hold.
#[derive(Clone, Debug)]
pub struct Constraint(Vec<(String, Version)>);

impl Constraint {
    pub fn parse(s: &str) -> Result<Constraint, String> {
        let mut out = Vec::new();
        for part in s.split(',') {
            let p = part.trim();
            let op =
                ["~>", ">=", "<=", "!=", ">", "<", "="].iter().find(|o| p.starts_with(**o)).copied().unwrap_or("=");
            let v = Version::parse(p.strip_prefix(op).unwrap_or(p))
                .map_err(|e| format!("\"{s}\" is not a version constraint ({e}); write e.g. \">= 0.2, < 1.0\""))?;
            out.push((op.to_string(), v));
        }
        Ok(Constraint(out))
    }

    pub fn allows(&self, v: &Version) -> bool {
        self.0.iter().all(|(op, c)| match op.as_str() {
            ">=" => v >= c,
            "<=" => v <= c,
            ">" => v > c,
            "<" => v < c,
            "!=" => v != c,
            // `~> 1.2` allows 1.2 up to 2.0; `~> 1.2.3` allows 1.2.3 up to 1.3.
            "~>" => {
                let upper = match c.written {
                    0 | 1 => Version { parts: [c.parts[0] + 1, 0, 0], written: 3, pre: None },
                    2 => Version { parts: [c.parts[0] + 1, 0, 0], written: 3, pre: None },
                    _ => Version { parts: [c.parts[0], c.parts[1] + 1, 0], written: 3, pre: None },
                };
                v >= c && *v < upper
            }
            _ => v == c,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(c: &str, v: &str) -> bool {
        Constraint::parse(c).unwrap().allows(&Version::parse(v).unwrap())
    }

    #[test]
    fn constraints_as_terraform_reads_them() {
        assert!(ok(">= 0.1", "0.1.0") && !ok(">= 0.2", "0.1.0"));
        assert!(ok(">= 0.1, < 1.0", "0.9.9") && !ok(">= 0.1, < 1.0", "1.0.0"));
        assert!(ok("~> 1.2", "1.9.0") && !ok("~> 1.2", "2.0.0"));
        assert!(ok("~> 1.2.3", "1.2.9") && !ok("~> 1.2.3", "1.3.0"));
        assert!(ok("0.1.0", "0.1.0") && ok("!= 0.2", "0.1.0"));
        assert!(!ok(">= 1.0", "1.0.0-beta"));
        assert!(Constraint::parse(">= one").is_err());
    }
}
