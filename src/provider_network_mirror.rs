//! Terraform's provider network mirror protocol, as `init` uses it for a
//! `network_mirror { url = "https://mirror.example/providers/" }` method:
//! `HOST/NAMESPACE/TYPE/index.json` lists a provider's versions, and
//! `HOST/NAMESPACE/TYPE/VERSION.json` each platform's archive (its URL,
//! relative to that document, and the checksums it must match: `h1:` of the
//! unpacked package or `zh:` of the zip). A package is installed only when
//! it matches one of them (the caller checks the `h1:`). A mirror on this
//! machine (loopback) may be plain HTTP, any other is HTTPS only.

use std::path::Path;

use landform_provider_plugin::mirror::SourceAddr;

use crate::provider_registry::{client, download_zip, get_json, unzip};

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
    let (file, _remove, sha) = download_zip(&zip_url, None, dest)?;
    let this_zh = format!("zh:{sha}");
    unzip(file, dest)?;
    Ok(Mirrored { this_zh, hashes })
}
