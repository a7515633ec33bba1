//! Terraform's provider network mirror protocol, as `init` uses it for a
//! `network_mirror { url = "https://mirror.example/providers/" }` method:
//! `HOST/NAMESPACE/TYPE/index.json` lists a provider's versions, and
//! `HOST/NAMESPACE/TYPE/VERSION.json` each platform's archive (its URL,
//! relative to that document, and the checksums it must match: `h1:` of the
//! unpacked package or `zh:` of the zip). A package is installed only when
//! it matches one of them (the caller checks the `h1:`). A mirror on this
//! machine (loopback) may be plain HTTP, any other is HTTPS only.

use std::io::Seek;
use std::path::Path;

use landform_provider_plugin::mirror::SourceAddr;
use sha2::{Digest, Sha256};

use crate::provider_registry::{client, get_json, unzip, Remove, MAX_ZIP};

/// The mirror's base URL, ending with a slash as the protocol has it.
fn base(url: &str) -> String {
    if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    }
}

fn provider_url(url: &str, addr: &SourceAddr) -> String {
    format!(
        "{}{}/{}/{}/",
        base(url),
        addr.host.to_ascii_lowercase(),
        addr.namespace.to_ascii_lowercase(),
        addr.type_name.to_ascii_lowercase()
    )
}

/// The versions the mirror at `url` has of `addr`.
pub fn versions(url: &str, addr: &SourceAddr) -> Result<Vec<String>, String> {
    let c = client(8 << 20, 60)?;
    let index = format!("{}index.json", provider_url(url, addr));
    let doc = get_json(&c, &index, None)?;
    let versions = doc["versions"].as_object().ok_or_else(|| format!("{index} lists no versions"))?;
    Ok(versions.keys().cloned().collect())
}

/// A package the mirror served.
pub struct Mirrored {
    /// The zip's own `zh:`.
    pub this_zh: String,
    /// The checksums the mirror gives for this platform's archive.
    pub hashes: Vec<String>,
}

/// Download this platform's archive of `addr` `version` from the mirror at
/// `url` and unpack it into `dest`.
pub fn download(url: &str, addr: &SourceAddr, version: &str, dest: &Path) -> Result<Mirrored, String> {
    let c = client(8 << 20, 60)?;
    let doc_url = format!("{}{version}.json", provider_url(url, addr));
    let doc = get_json(&c, &doc_url, None)?;
    let platform = landform_provider_plugin::mirror::platform();
    let archive = &doc["archives"][&platform];
    let href = archive["url"]
        .as_str()
        .ok_or_else(|| format!("{doc_url} has no archive of {addr} {version} for {platform}"))?;
    let zip_url = reqwest::Url::parse(&doc_url)
        .and_then(|u| u.join(href))
        .map_err(|e| format!("{doc_url}: the archive's url {href:?}: {e}"))?
        .to_string();
    let hashes: Vec<String> = archive["hashes"]
        .as_array()
        .map(|a| a.iter().filter_map(|h| h.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let parent = dest.parent().ok_or("no directory to install into")?;
    std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let zip_path = dest.with_extension("zip.download");
    let _remove = Remove(zip_path.clone());
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&zip_path)
        .map_err(|e| format!("cannot write {}: {e}", zip_path.display()))?;
    let dl = client(MAX_ZIP, 1800)?;
    let r = dl.send(crate::http::Request::get(&zip_url)).map_err(|e| format!("cannot reach {zip_url}: {e}"))?;
    if !r.status().is_success() {
        return Err(format!("{zip_url} answered {}", r.status()));
    }
    r.copy_to(&mut file).map_err(|e| format!("downloading {zip_url}: {e}"))?;
    file.rewind().map_err(|e| e.to_string())?;
    let mut h = Sha256::new();
    std::io::copy(&mut file, &mut h).map_err(|e| e.to_string())?;
    let this_zh = format!("zh:{:x}", h.finalize());
    file.rewind().map_err(|e| e.to_string())?;
    unzip(file, dest)?;
    Ok(Mirrored { this_zh, hashes })
}
