//! go-plugin's AutoMTLS: Landform makes a throwaway certificate for each
//! plugin process and passes it in `PLUGIN_CLIENT_CERT`; the plugin answers
//! with its own certificate in the handshake line, accepts only connections
//! that present ours, and Landform accepts only a server that presents
//! exactly the certificate it announced (pinned, not checked against any CA).

use crate::Error;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;

/// The client's certificate and key.
pub struct ClientCert {
    /// PEM, for `PLUGIN_CLIENT_CERT`.
    pub pem: String,
    der: CertificateDer<'static>,
    key: Vec<u8>,
}

/// A self-signed certificate for `localhost`, good as client and server
/// (go-plugin checks ours against itself as the only CA).
pub fn client_cert() -> Result<ClientCert, Error> {
    use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
    let fail = |e: rcgen::Error| Error::Start(format!("cannot make a client certificate: {e}"));
    let key = KeyPair::generate().map_err(fail)?;
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).map_err(fail)?;
    params.distinguished_name.push(DnType::CommonName, "localhost");
    params.distinguished_name.push(DnType::OrganizationName, "Landform");
    params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages =
        vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment, KeyUsagePurpose::KeyCertSign];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth, ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.self_signed(&key).map_err(fail)?;
    Ok(ClientCert { pem: cert.pem(), der: cert.der().clone(), key: key.serialize_der() })
}

/// The TLS configuration to reach a plugin whose certificate is `server_der`.
pub fn client_config(cert: &ClientCert, server_der: Vec<u8>) -> Result<Arc<rustls::ClientConfig>, Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(Pinned { der: server_der, provider: provider.clone() });
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key.clone()));
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Handshake(format!("TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(vec![cert.der.clone()], key)
        .map_err(|e| Error::Handshake(format!("TLS client certificate: {e}")))?;
    // gRPC servers in Go insist on HTTP/2 being negotiated.
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts exactly one certificate: the one the plugin announced.
#[derive(Debug)]
struct Pinned {
    der: Vec<u8>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.der.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("the plugin presented a certificate other than the one it announced".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
