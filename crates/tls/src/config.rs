//! rustls configurations: a client with its identity and pinned roots, a server that requires
//! client certificates. Both use the ring provider explicitly, whatever else is compiled in.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::{Identity, TlsError, certs_from_pem};

/// The crypto provider segur uses: ring.
pub fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// A root store of every certificate in a PEM (or single DER) buffer.
pub fn roots_from_pem(bytes: &[u8]) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in certs_from_pem(bytes)? {
        roots.add(cert)?;
    }
    Ok(roots)
}

/// A client configuration trusting only `roots` for the server, presenting `identity` when
/// the server asks for a client certificate (none when `identity` is `None`).
pub fn client_config(
    identity: Option<&Identity>,
    roots: RootCertStore,
) -> Result<ClientConfig, TlsError> {
    let builder = ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    Ok(match identity {
        Some(id) => {
            let (chain, key) = id.clone().into_parts();
            builder.with_client_auth_cert(chain, key)?
        }
        None => builder.with_no_client_auth(),
    })
}

/// A server configuration presenting `identity` and **requiring** a client certificate that
/// chains to `client_roots` and carries the clientAuth EKU when it has an EKU (webpki rules).
pub fn server_config(
    identity: &Identity,
    client_roots: RootCertStore,
) -> Result<ServerConfig, TlsError> {
    let provider = Arc::new(provider());
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(client_roots), provider.clone())
            .build()?;
    let (chain, key) = identity.clone().into_parts();
    Ok(ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?)
}
