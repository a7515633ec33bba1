//! Issue 14: `landform init` downloads modules from a registry (a local
//! stand-in speaking the module registry protocol), from git (a local
//! repository) and as .tar.gz archives over HTTP, records them in a lock
//! file, and plan uses them; a second init changes nothing.

mod common;
use common::{text, Fixture};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
}

/// A repository whose module says which version it is, tagged v1.0.0, v1.1.0, v2.0.0.
fn repository(dir: &Path) {
    std::fs::create_dir_all(dir.join("modules/net")).unwrap();
    git(dir, &["init", "-q"]);
    for v in ["1.0.0", "1.1.0", "2.0.0"] {
        std::fs::write(
            dir.join("modules/net/main.lf"),
            format!("variable \"name\" {{}}\noutput \"id\" {{\n  value = \"{v}-${{var.name}}\"\n}}\n"),
        )
        .unwrap();
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-qm", v]);
        git(dir, &["tag", &format!("v{v}")]);
    }
}

/// The module registry protocol, as far as init uses it; and an archive.
struct Registry {
    addr: String,
    versions: Arc<Mutex<Vec<&'static str>>>,
    downloads: Arc<Mutex<usize>>,
}

fn registry(repo: &Path, archive: Vec<u8>) -> Registry {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let versions = Arc::new(Mutex::new(vec!["1.0.0", "1.1.0", "2.0.0"]));
    let downloads = Arc::new(Mutex::new(0));
    let (v, d, repo) = (versions.clone(), downloads.clone(), repo.to_string_lossy().into_owned());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim_end().is_empty() {
                    break;
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let (status, headers, body): (&str, String, Vec<u8>) = if path == "/.well-known/terraform.json" {
                ("200 OK", String::new(), br#"{"modules.v1": "/v1/modules/"}"#.to_vec())
            } else if path == "/v1/modules/acme/net/local/versions" {
                let list: Vec<String> = v.lock().unwrap().iter().map(|v| format!("{{\"version\":\"{v}\"}}")).collect();
                (
                    "200 OK",
                    String::new(),
                    format!("{{\"modules\":[{{\"versions\":[{}]}}]}}", list.join(",")).into_bytes(),
                )
            } else if let Some(ver) =
                path.strip_prefix("/v1/modules/acme/net/local/").and_then(|p| p.strip_suffix("/download"))
            {
                *d.lock().unwrap() += 1;
                ("204 No Content", format!("X-Terraform-Get: git::file://{repo}//modules/net?ref=v{ver}\r\n"), vec![])
            } else if path == "/archive/net.tar.gz" {
                ("200 OK", String::new(), archive.clone())
            } else {
                ("404 Not Found", String::new(), b"{}".to_vec())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    Registry { addr, versions, downloads }
}

/// A .tar.gz holding one module at `net/main.lf`.
fn tarball() -> Vec<u8> {
    let mut b = gz_archive();
    add_file(&mut b, "net/main.lf", b"variable \"name\" {}\noutput \"id\" {\n  value = \"archive-${var.name}\"\n}\n");
    b.into_inner().unwrap().finish().unwrap()
}

type GzArchive = tar::Builder<flate2::write::GzEncoder<Vec<u8>>>;

fn gz_archive() -> GzArchive {
    tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()))
}

fn add_file(b: &mut GzArchive, name: &str, body: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_size(body.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, name, body).unwrap();
}

#[test]
fn init_resolves_registry_git_and_archive_modules_records_them_and_plan_uses_them() {
    let f = Fixture::new("init", "");
    let repo = f.dir.join("upstream");
    repository(&repo);
    let reg = registry(&repo, tarball());
    let config = |version: &str| {
        format!(
            "module \"a\" {{\n  source  = \"{}/acme/net/local\"\n  version = \"{version}\"\n  name    = \"a\"\n}}\n\
             module \"b\" {{\n  source = \"git::file://{}//modules/net?ref=v2.0.0\"\n  name   = \"b\"\n}}\n\
             module \"c\" {{\n  source = \"http://{}/archive/net.tar.gz//net\"\n  name   = \"c\"\n}}\n\
             output \"ids\" {{\n  value = [module.a.id, module.b.id, module.c.id]\n}}\n",
            reg.addr,
            repo.display(),
            reg.addr
        )
    };
    f.write(&config("~> 1.0"));

    // Before init: plan says what to run.
    let out = f.run(&["plan"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("Module not installed") && err.contains("landform init") && err.contains("main.lf:2:"),
        "{err}"
    );

    let said = f.ok(&["init"]);
    assert!(said.contains("initialized: 3 module(s)"), "{said}");
    let lock = std::fs::read_to_string(f.path(".landform.lock.json")).unwrap();
    let j: serde_json::Value = serde_json::from_str(&lock).unwrap();
    assert_eq!(j["modules"]["a"]["version"], "1.1.0", "~> 1.0 takes the newest 1.x: {lock}");
    assert!(j["modules"]["b"]["fetched"].as_str().unwrap().contains('@'), "the commit is recorded: {lock}");
    assert!(j["modules"]["c"]["hash"].as_str().unwrap().starts_with("sha256:"), "{lock}");

    f.ok(&["apply", "-auto-approve"]);
    assert_eq!(f.ok(&["output", "-json", "ids"]).trim(), r#"["1.1.0-a","2.0.0-b","archive-c"]"#);

    // A second init changes nothing: same lock, no download.
    let downloads = *reg.downloads.lock().unwrap();
    let said = f.ok(&["init"]);
    assert!(said.contains("up to date"), "{said}");
    assert_eq!(std::fs::read_to_string(f.path(".landform.lock.json")).unwrap(), lock);
    assert_eq!(*reg.downloads.lock().unwrap(), downloads);
    let replan = f.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(replan.status.code(), Some(0), "{}", text(&replan.stdout));

    // A damaged lock file is refused, not read as none (which would take the newest versions).
    std::fs::write(f.path(".landform.lock.json"), b"{\"modules\": [\x00\xff").unwrap();
    let out = f.run(&["init"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains(".landform.lock.json is damaged"), "{}", text(&out.stderr));
    std::fs::write(f.path(".landform.lock.json"), &lock).unwrap();
    // A module's files changed on disk are restored from what the lock records.
    std::fs::write(f.path(".landform/modules/b/modules/net/main.lf"), "output \"id\" {\n  value = \"tampered\"\n}\n")
        .unwrap();
    f.ok(&["init"]);
    assert_eq!(f.ok(&["output", "-json", "ids"]).trim(), r#"["1.1.0-a","2.0.0-b","archive-c"]"#);
    assert!(f.ok(&["plan"]).contains("No changes"));

    // A newer release is taken only with -upgrade; the lock holds otherwise.
    git(&repo, &["tag", "v1.2.0", "v1.1.0"]);
    reg.versions.lock().unwrap().push("1.2.0");
    f.ok(&["init"]);
    assert!(std::fs::read_to_string(f.path(".landform.lock.json")).unwrap().contains("\"1.1.0\""));
    f.ok(&["init", "-upgrade"]);
    assert!(std::fs::read_to_string(f.path(".landform.lock.json")).unwrap().contains("\"1.2.0\""));

    // A bad constraint: where, and why.
    f.write(&config("~> banana"));
    let out = f.run(&["init"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("Invalid version constraint") && err.contains("main.lf:3:13"), "{err}");
    // No version allowed.
    f.write(&config("~> 9.0"));
    let err = text(&f.run(&["init"]).stderr);
    assert!(err.contains("no version matches") && err.contains("1.0.0, 1.1.0"), "{err}");
    // An unreachable registry, a missing git ref.
    f.write("module \"x\" {\n  source  = \"127.0.0.1:1/acme/net/local\"\n  version = \"1.0.0\"\n}\n");
    let out = f.run(&["init"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot reach") && text(&out.stderr).contains("main.lf:2:"),
        "{}",
        text(&out.stderr)
    );
    f.write(&format!("module \"y\" {{\n  source = \"git::file://{}?ref=v7\"\n}}\n", repo.display()));
    let err = text(&f.run(&["init"]).stderr);
    assert!(err.contains("no ref \"v7\""), "{err}");
}

/// An archive is a hostile input: entries that climb out of the module's
/// directory and links are not written; a token in a source's URL reaches
/// neither the lock file (which is committed) nor any output.
#[test]
fn hostile_archives_and_credentials_in_sources() {
    let f = Fixture::new("init-hostile", "");
    let mut b = gz_archive();
    let body = b"output \"ok\" {\n  value = 1\n}\n";
    add_file(&mut b, "net/main.lf", body);
    // `../` in a name: tar::Builder refuses to write one, so the header is made by hand.
    let mut evil = tar::Header::new_old();
    evil.as_old_mut().name[..18].copy_from_slice(b"../../escaped.lf\0\0");
    evil.set_size(body.len() as u64);
    evil.set_mode(0o644);
    evil.set_cksum();
    b.append(&evil, &body[..]).unwrap();
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_size(0);
    link.set_cksum();
    b.append_link(&mut link, "net/passwd", "/etc/passwd").unwrap();
    let archive = b.into_inner().unwrap().finish().unwrap();
    let reg = registry(&f.dir, archive);
    let token = "s3cr3t-t0ken-4242";
    f.write(&format!("module \"m\" {{\n  source = \"http://bob:{token}@{}/archive/net.tar.gz//net\"\n}}\n", reg.addr));
    let out = f.run(&["init"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(!f.dir.parent().unwrap().join("escaped.lf").exists() && !f.path("escaped.lf").exists());
    assert!(!f.path(".landform/modules/m/net/passwd").exists(), "a link was written");
    assert!(f.path(".landform/modules/m/net/main.lf").exists());
    let lock = std::fs::read_to_string(f.path(".landform.lock.json")).unwrap();
    for said in [&stdout, &stderr, &lock] {
        assert!(!said.contains(token), "the token leaked: {said}");
    }
    // Unreachable with the token in it: the error does not say it either.
    f.write(&format!("module \"m\" {{\n  source = \"http://bob:{token}@127.0.0.1:1/net.tar.gz\"\n}}\n"));
    let out = f.run(&["init", "-upgrade"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !text(&out.stderr).contains(token) && text(&out.stderr).contains("***@127.0.0.1:1"),
        "{}",
        text(&out.stderr)
    );
    let out = f.run(&["plan"]);
    assert!(!text(&out.stderr).contains(token), "{}", text(&out.stderr));
}

/// A PAX `size` record is the size tar reads: an archive whose ustar header
/// says 0 bytes but whose PAX record says 1.2 GB counts as 1.2 GB against the
/// 1 GiB unpack limit (it got past it: a 5 MB archive made 1.1 GB on disk).
#[test]
fn a_pax_size_record_counts_against_the_unpack_limit() {
    let f = Fixture::new("init-pax", "");
    let mut b = gz_archive();
    add_file(&mut b, "net/main.lf", b"output \"ok\" {\n  value = 1\n}\n");
    let record = b"19 size=1200000000\n";
    let mut pax = tar::Header::new_ustar();
    pax.set_entry_type(tar::EntryType::XHeader);
    pax.set_path("PaxHeaders/big").unwrap();
    pax.set_size(record.len() as u64);
    pax.set_mode(0o644);
    pax.set_cksum();
    b.append(&pax, &record[..]).unwrap();
    let mut big = tar::Header::new_ustar();
    big.set_path("net/big").unwrap();
    big.set_size(0);
    big.set_mode(0o644);
    big.set_cksum();
    b.append(&big, &[][..]).unwrap();
    let archive = b.into_inner().unwrap().finish().unwrap();
    let reg = registry(&f.dir, archive);
    f.write(&format!("module \"m\" {{\n  source = \"http://{}/archive/net.tar.gz//net\"\n}}\n", reg.addr));
    let out = f.run(&["init"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("unpacks to more than 1 GiB"), "{err}");
    assert!(!f.path(".landform/modules/m").exists(), "nothing is installed");
}
