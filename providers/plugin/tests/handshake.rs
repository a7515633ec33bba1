//! go-plugin's handshake with the real hashicorp/aws binary, and what
//! happens with programs that are not plugins.

mod common;

use common::{process_exists, ps_lines};
use landform_provider_plugin::process::Address;
use landform_provider_plugin::{Error, PluginClient, StartOptions};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

#[test]
fn the_real_aws_provider_starts_speaks_protocol_5_and_leaves_no_process_behind() {
    let client = PluginClient::start(&common::aws_options()).expect("hashicorp/aws starts");
    assert_eq!(client.protocol_version(), 5);
    assert!(client.tls(), "AutoMTLS: the provider serves TLS to Landform's certificate");
    let pid = client.pid();
    assert!(process_exists(pid));
    let ps = ps_lines(pid);
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert!(ps[0].contains("terraform-provider-aws"), "{ps:?}");
    // The provider serves: Stop is a call every provider answers at once.
    client.stop().expect("Stop answers");
    let start = std::time::Instant::now();
    drop(client);
    // Asked to shut down, it exits by itself well within the grace period.
    assert!(start.elapsed() < Duration::from_secs(2), "took {:?}", start.elapsed());
    assert!(!process_exists(pid), "the provider's process is still there: {:?}", ps_lines(pid));
    assert!(ps_lines(pid).is_empty());
}

/// A shell script standing in for a provider, in a directory of its own
/// (removed with `cleanup`); its pid file, if it writes one, goes beside it.
fn script(name: &str, body: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("landform-plugin-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn a_program_that_exits_before_its_handshake_is_an_error_quoting_its_stderr() {
    let p = script(
        "exits",
        r#"echo '{"@level":"trace","@message":"chatter"}' >&2
echo '{"@level":"error","@message":"cannot read the config"}' >&2
echo 'this is not a plugin' >&2; exit 3"#,
    );
    let e = PluginClient::start(&StartOptions::new(&p)).err().expect("an error");
    let text = e.to_string();
    assert!(matches!(e, Error::Start(_)), "{text}");
    assert!(text.contains("exited before its handshake") && text.contains("exit status: 3"), "{text}");
    assert!(text.contains("this is not a plugin"), "{text}");
    // The provider's log is JSON at trace level: only warnings and errors
    // (and plain lines, such as a Go panic) are worth quoting.
    assert!(text.contains("cannot read the config"), "{text}");
    assert!(!text.contains("chatter"), "{text}");
    cleanup(&p);
}

#[test]
fn a_program_that_never_shakes_hands_is_stopped_after_the_timeout() {
    let p = script("silent", "echo $$ > \"$(dirname \"$0\")/pid\"; exec sleep 30");
    let pidfile = p.with_file_name("pid");
    let mut opts = StartOptions::new(&p);
    opts.timeout = Duration::from_millis(700);
    let e = PluginClient::start(&opts).err().expect("an error").to_string();
    assert!(e.contains("gave no handshake within"), "{e}");
    let pid: u32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    assert!(!process_exists(pid), "the silent program is still running: {:?}", ps_lines(pid));
    cleanup(&p);
}

#[test]
fn a_wrong_handshake_is_refused_and_the_program_stopped() {
    let pidfile = std::env::temp_dir().join(format!("landform-plugin-netrpc-{}.pid", std::process::id()));
    let p =
        script("netrpc", &format!("echo $$ > {}; echo '1|5|unix|/tmp/x|netrpc|'; exec sleep 30", pidfile.display()));
    let e = PluginClient::start(&StartOptions::new(&p)).err().expect("an error").to_string();
    assert!(e.contains("not grpc"), "{e}");
    let pid: u32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    assert!(!process_exists(pid), "{:?}", ps_lines(pid));
    cleanup(&p);
}

#[test]
fn a_missing_or_non_executable_provider_is_an_error() {
    let e = PluginClient::start(&StartOptions::new("/nonexistent/terraform-provider-x")).err().unwrap().to_string();
    assert!(e.contains("/nonexistent/terraform-provider-x"), "{e}");
    let p = script("noexec", "exit 0");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = PluginClient::start(&StartOptions::new(&p)).err().unwrap().to_string();
    assert!(e.contains("not an executable file"), "{e}");
    cleanup(&p);
}

fn cleanup(script: &std::path::Path) {
    let _ = std::fs::remove_dir_all(script.parent().unwrap());
}

#[test]
fn with_automtls_the_provider_refuses_a_client_without_landforms_certificate() {
    let client = PluginClient::start(&common::aws_options()).unwrap();
    assert!(client.tls());
    let Address::Unix(socket) = client.address().clone() else { panic!("a unix socket: {:?}", client.address()) };
    // A plaintext client on the same socket gets nowhere.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let refused = rt.block_on(async {
        let channel = tonic::transport::Endpoint::from_shared(format!("unix:{}", socket.display()))
            .unwrap()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(5))
            .connect()
            .await;
        match channel {
            Err(_) => true,
            Ok(ch) => {
                let mut grpc = tonic::client::Grpc::new(ch);
                if grpc.ready().await.is_err() {
                    return true;
                }
                let path = http::uri::PathAndQuery::from_static("/tfplugin5.Provider/Stop");
                let r: Result<tonic::Response<landform_provider_plugin::proto::StopResponse>, _> = grpc
                    .unary(
                        tonic::Request::new(landform_provider_plugin::proto::Empty {}),
                        path,
                        tonic_prost::ProstCodec::default(),
                    )
                    .await;
                r.is_err()
            }
        }
    });
    assert!(refused, "a client without the certificate was served");
    // Landform's own connection still works.
    client.stop().unwrap();
}

#[test]
fn without_automtls_the_provider_serves_plaintext_on_its_socket() {
    let mut opts = common::aws_options();
    opts.auto_mtls = false;
    let client = PluginClient::start(&opts).unwrap();
    assert!(!client.tls());
    client.stop().unwrap();
}
