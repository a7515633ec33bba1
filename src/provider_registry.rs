//! Terraform's provider registry protocol, as `init` uses it: service
//! discovery (`/.well-known/terraform.json`, `providers.v1`), the versions
//! a provider has, and one version's package for this platform: its zip,
//! checked against the registry's `SHA256SUMS`, whose detached OpenPGP
//! signature must be by one of the signing keys the registry names. Only a
//! package that passes every check is unpacked (names kept inside its
//! directory, sizes bounded) and installed. A registry on this machine
//! (loopback) is spoken to over plain HTTP, any other over HTTPS only.

use std::io::{Read, Seek};
use std::path::Path;
use std::time::Duration;

use landform_provider_plugin::mirror::SourceAddr;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use crate::http;

/// A provider package is a binary: hashicorp/aws's zip is some 150 MB.
const MAX_ZIP: u64 = 1 << 30;
/// What a package may unpack to: hashicorp/aws is some 700 MB.
const MAX_UNPACKED: u64 = 4 << 30;

pub(crate) fn client(max: u64, secs: u64) -> Result<http::Client, String> {
    http::Client::new("init", Duration::from_secs(secs), max)
}

/// The registry's token, for requests to the registry's own origin only
/// (a package may be downloaded from elsewhere, which never sees it).
pub struct Auth {
    origin: String,
    token: String,
}

impl Auth {
    pub fn new(addr: &SourceAddr, token: Option<String>) -> Option<Auth> {
        let scheme = if http::is_loopback_authority(&addr.host) { "http" } else { "https" };
        token.map(|token| Auth { origin: format!("{scheme}://{}/", addr.host), token })
    }
}

fn request(url: &str, auth: Option<&Auth>) -> http::Request {
    match auth {
        Some(a) if url.starts_with(&a.origin) => http::Request::get(url).bearer(&a.token),
        _ => http::Request::get(url),
    }
}

pub(crate) fn get_json(c: &http::Client, url: &str, auth: Option<&Auth>) -> Result<Json, String> {
    let r = c.send(request(url, auth)).map_err(|e| format!("cannot reach {url}: {e}"))?;
    if !r.status().is_success() {
        return Err(format!("{url} answered {}", r.status()));
    }
    r.json().map_err(|e| format!("{url}: {e}"))
}

fn get_bytes(c: &http::Client, url: &str, auth: Option<&Auth>) -> Result<Vec<u8>, String> {
    let r = c.send(request(url, auth)).map_err(|e| format!("cannot reach {url}: {e}"))?;
    if !r.status().is_success() {
        return Err(format!("{url} answered {}", r.status()));
    }
    r.bytes().map_err(|e| format!("{url}: {e}"))
}

/// The registry's provider API for `addr`: `…/v1/providers/NS/TYPE/`.
fn provider_base(c: &http::Client, addr: &SourceAddr, auth: Option<&Auth>) -> Result<String, String> {
    let local = http::is_loopback_authority(&addr.host);
    let origin = format!("{}://{}", if local { "http" } else { "https" }, addr.host);
    let url = format!("{origin}/.well-known/terraform.json");
    let j = get_json(c, &url, auth)?;
    let base = j["providers.v1"]
        .as_str()
        .ok_or_else(|| format!("{} is not a provider registry (no providers.v1 in {url})", addr.host))?;
    let base = reqwest::Url::parse(&url).and_then(|u| u.join(base)).map_err(|e| format!("{url}: {e}"))?.to_string();
    let base = if base.ends_with('/') { base } else { format!("{base}/") };
    Ok(format!("{base}{}/{}/", addr.namespace, addr.type_name))
}

/// The versions the registry offers for this platform.
pub fn versions(addr: &SourceAddr, auth: Option<&Auth>) -> Result<Vec<String>, String> {
    let c = client(16 << 20, 60)?;
    let base = provider_base(&c, addr, auth)?;
    let j = get_json(&c, &format!("{base}versions"), auth)?;
    let platform = landform_provider_plugin::mirror::platform();
    let list = j["versions"].as_array().ok_or_else(|| format!("{base}versions has no versions list"))?;
    Ok(list
        .iter()
        .filter(|v| {
            v["platforms"].as_array().is_none_or(|ps| {
                ps.iter().any(|p| {
                    format!("{}_{}", p["os"].as_str().unwrap_or(""), p["arch"].as_str().unwrap_or("")) == platform
                })
            })
        })
        .filter_map(|v| v["version"].as_str().map(str::to_string))
        .filter(|v| landform_provider_plugin::mirror::version_key(v).is_some())
        .collect())
}

/// A package downloaded and checked: where it was unpacked, and the `zh:`
/// hashes `SHA256SUMS` lists for this version's packages (every platform).
pub struct Downloaded {
    pub zh: Vec<String>,
    pub this_zh: String,
}

/// Download `version` for this platform into `dest` (which must not exist),
/// after checking the zip against SHA256SUMS and its signature.
pub fn download(addr: &SourceAddr, version: &str, dest: &Path, auth: Option<&Auth>) -> Result<Downloaded, String> {
    let c = client(16 << 20, 60)?;
    let base = provider_base(&c, addr, auth)?;
    let platform = landform_provider_plugin::mirror::platform();
    let (os, arch) = platform.split_once('_').unwrap_or((&platform, ""));
    let meta_url = format!("{base}{version}/download/{os}/{arch}");
    let meta = get_json(&c, &meta_url, auth)?;
    let field = |k: &str| -> Result<String, String> {
        let v = meta[k].as_str().ok_or_else(|| format!("{meta_url} gives no {k}"))?;
        reqwest::Url::parse(&meta_url).and_then(|u| u.join(v)).map(|u| u.to_string()).map_err(|e| format!("{k}: {e}"))
    };
    let filename = meta["filename"].as_str().ok_or_else(|| format!("{meta_url} gives no filename"))?.to_string();
    let shasums = get_bytes(&c, &field("shasums_url")?, auth)?;
    let signature = get_bytes(&c, &field("shasums_signature_url")?, auth)?;
    let keys: Vec<&str> = meta["signing_keys"]["gpg_public_keys"]
        .as_array()
        .map(|a| a.iter().filter_map(|k| k["ascii_armor"].as_str()).collect())
        .unwrap_or_default();
    if keys.is_empty() {
        return Err(format!("{meta_url} names no signing key: the package cannot be authenticated"));
    }
    verify_signature(&keys, &shasums, &signature)
        .map_err(|e| format!("the signature of {addr} {version}'s SHA256SUMS is not valid: {e}"))?;
    let sums = String::from_utf8_lossy(&shasums).into_owned();
    let listed: Vec<(String, String)> = sums
        .lines()
        .filter_map(|l| {
            let (h, name) = l.split_once(char::is_whitespace)?;
            Some((h.to_ascii_lowercase(), name.trim().trim_start_matches('*').to_string()))
        })
        .collect();
    let want = listed
        .iter()
        .find(|(_, n)| *n == filename)
        .map(|(h, _)| h.clone())
        .ok_or_else(|| format!("SHA256SUMS does not list {filename}"))?;
    if meta["shasum"].as_str().is_some_and(|s| !s.eq_ignore_ascii_case(&want)) {
        return Err(format!("the registry's shasum for {filename} is not the one its signed SHA256SUMS gives"));
    }
    // The zip, streamed to a file beside dest and checked before it is opened.
    let url = field("download_url")?;
    let (file, _remove, got) = download_zip(&url, auth, dest)?;
    if got != want {
        return Err(format!(
            "the package {filename} downloaded from {url} has SHA-256 {got}, but the signed SHA256SUMS says {want}: it was changed or damaged, and is not installed"
        ));
    }
    let this_zh = format!("zh:{got}");
    unzip(file, dest)?;
    let prefix = format!("terraform-provider-{}_{version}_", addr.type_name);
    let mut zh: Vec<String> = listed
        .iter()
        .filter(|(_, n)| n.starts_with(&prefix) && n.ends_with(".zip"))
        .map(|(h, _)| format!("zh:{h}"))
        .collect();
    zh.sort();
    zh.dedup();
    Ok(Downloaded { zh, this_zh })
}

/// A package's zip from `url`, streamed to a file beside `dest` (removed
/// when the guard drops): the file, rewound, and its SHA-256 in hex.
pub(crate) fn download_zip(
    url: &str,
    auth: Option<&Auth>,
    dest: &Path,
) -> Result<(std::fs::File, Remove, String), String> {
    let parent = dest.parent().ok_or("no directory to install into")?;
    std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let zip_path = dest.with_extension("zip.download");
    let remove = Remove(zip_path.clone());
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&zip_path)
        .map_err(|e| format!("cannot write {}: {e}", zip_path.display()))?;
    let dl = client(MAX_ZIP, 1800)?;
    let r = dl.send(request(url, auth)).map_err(|e| format!("cannot reach {url}: {e}"))?;
    if !r.status().is_success() {
        return Err(format!("{url} answered {}", r.status()));
    }
    r.copy_to(&mut file).map_err(|e| format!("downloading {url}: {e}"))?;
    file.rewind().map_err(|e| e.to_string())?;
    let mut h = Sha256::new();
    std::io::copy(&mut file, &mut h).map_err(|e| e.to_string())?;
    file.rewind().map_err(|e| e.to_string())?;
    Ok((file, remove, format!("{:x}", h.finalize())))
}

pub(crate) struct Remove(std::path::PathBuf);

impl Drop for Remove {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Whether `signature` (binary or armored) over `data` is by one of `keys`
/// (armored public keys) or one of their subkeys.
fn verify_signature(keys: &[&str], data: &[u8], signature: &[u8]) -> Result<(), String> {
    use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};
    let sig = match DetachedSignature::from_bytes(signature) {
        Ok(s) => s,
        Err(_) => DetachedSignature::from_armor_single(signature)
            .map(|(s, _)| s)
            .map_err(|e| format!("it is not an OpenPGP signature ({e})"))?,
    };
    let mut why = String::from("no signing key given");
    for armored in keys {
        let key = match SignedPublicKey::from_string(armored) {
            Ok((k, _)) => k,
            Err(e) => {
                why = format!("a signing key cannot be read ({e})");
                continue;
            }
        };
        let by_primary = sig.verify(&key.primary_key, data).is_ok();
        let by_subkey = key.public_subkeys.iter().find(|sk| sig.verify(&sk.key, data).is_ok());
        if !by_primary && by_subkey.is_none() {
            why = "it is not by the registry's signing key, or SHA256SUMS was changed".into();
            continue;
        }
        // As Terraform's OpenPGP library: a key that is revoked or expired
        // now vouches for nothing.
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let self_sigs: Vec<&pgp::packet::Signature> =
            key.details.users.iter().flat_map(|u| &u.signatures).chain(&key.details.direct_signatures).collect();
        let mut valid = still_valid(&key.primary_key, &self_sigs, now);
        if !key.details.revocation_signatures.is_empty() {
            valid = Err("it is revoked".to_string());
        }
        if let (Ok(()), Some(sk)) = (&valid, by_subkey) {
            valid = still_valid(&sk.key, &sk.signatures.iter().collect::<Vec<_>>(), now);
        }
        match valid {
            Ok(()) => return Ok(()),
            Err(e) => why = format!("the signing key {e}"),
        }
    }
    Err(why)
}

/// Whether a key has not expired by `now`, by its newest self-signature.
fn still_valid(key: &impl pgp::types::KeyDetails, sigs: &[&pgp::packet::Signature], now: u64) -> Result<(), String> {
    let newest = sigs.iter().max_by_key(|s| s.created().map_or(0, |t| t.as_secs()));
    let expires = newest.and_then(|s| s.key_expiration_time()).map_or(0, |d| d.as_secs());
    let created = u64::from(key.created_at().as_secs());
    if expires > 0 && created + u64::from(expires) <= now {
        return Err(format!("expired {} days ago", (now - created - u64::from(expires)) / 86_400));
    }
    Ok(())
}

/// Unpack a provider zip into `dest`: regular files only, each name kept
/// inside `dest`, the total size bounded; the executable bit kept.
pub fn unzip(file: std::fs::File, dest: &Path) -> Result<(), String> {
    let mut z =
        zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| format!("the package is not a zip: {e}"))?;
    std::fs::create_dir_all(dest).map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
    let mut total: u64 = 0;
    for i in 0..z.len() {
        let mut entry = z.by_index(i).map_err(|e| format!("the package zip is damaged: {e}"))?;
        if entry.is_dir() || entry.is_symlink() || !entry.is_file() {
            continue;
        }
        let name = entry.name().map_err(|e| format!("the package zip is damaged: {e}"))?.into_owned();
        let target = landform_state::files::join_inside(dest, name.trim_start_matches("./"))
            .map_err(|e| format!("the package holds \"{name}\", which {e}"))?;
        if let Some(p) = target.parent() {
            std::fs::create_dir_all(p).map_err(|e| format!("cannot create {}: {e}", p.display()))?;
        }
        let mode = entry.unix_mode().unwrap_or(0o644);
        let mut out = std::fs::File::create(&target).map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        let left = MAX_UNPACKED.saturating_sub(total);
        let n =
            std::io::copy(&mut (&mut entry).take(left + 1), &mut out).map_err(|e| format!("unpacking {name}: {e}"))?;
        total += n;
        if total > MAX_UNPACKED {
            return Err(format!("the package unpacks to more than {} GiB", MAX_UNPACKED >> 30));
        }
        use std::os::unix::fs::PermissionsExt;
        let exec = if mode & 0o111 != 0 { 0o755 } else { 0o644 };
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(exec)).map_err(|e| e.to_string())?;
    }
    Ok(())
}
