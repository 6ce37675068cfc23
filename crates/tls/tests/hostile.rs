//! Certificates and keys that are almost right: the test PKI's DER and PEM with bytes
//! changed, cut or inserted. Reading, inspecting and linting them (at any date) gives a
//! result or an error, never a panic: `segur pki inspect` and the replay's identity loading
//! read files a user points them at.

use std::sync::OnceLock;

use proptest::prelude::*;
use segur_tls::inspect::CertInfo;
use segur_tls::lint::{lint, lint_chain};
use segur_tls::pki::{PkiOptions, TestPki};
use segur_tls::rustls::pki_types::CertificateDer;
use segur_tls::{Identity, certs_from_pem, roots_from_pem};

fn pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| {
        let options = PkiOptions {
            clients: 1,
            p12_password: None,
            ..Default::default()
        };
        TestPki::generate(&options, time::OffsetDateTime::now_utc()).expect("generate")
    })
}

/// The DER certificates to start from: CAs, the server, a client, the broken clients.
fn ders() -> Vec<&'static [u8]> {
    let p = pki();
    [&p.root, &p.intermediate, &p.server, &p.clients[0]]
        .into_iter()
        .chain(&p.broken)
        .map(|i| i.cert.as_ref())
        .collect()
}

fn pem(der: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = b"-----BEGIN CERTIFICATE-----\n".to_vec();
    for line in b64.as_bytes().chunks(64) {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.extend_from_slice(b"-----END CERTIFICATE-----\n");
    out
}

#[derive(Debug, Clone)]
enum Edit {
    Set(prop::sample::Index, u8),
    Cut(prop::sample::Index),
    Insert(prop::sample::Index, u8),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        1 => any::<prop::sample::Index>().prop_map(Edit::Cut),
        1 => (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
    ]
}

fn apply(bytes: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for e in edits {
        if b.is_empty() {
            break;
        }
        match e {
            Edit::Set(i, v) => {
                let i = i.index(b.len());
                b[i] = *v;
            }
            Edit::Cut(i) => b.truncate(i.index(b.len())),
            Edit::Insert(i, v) => b.insert(i.index(b.len()), *v),
        }
    }
    b
}

/// Dates around which validity checks turn: the epoch, far past and far future.
const DATES: [i64; 5] = [i64::MIN, -62_135_596_800, 0, 4_102_444_800, i64::MAX];

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn mutated_certificates_inspect_and_lint_or_fail_never_panic(
        which in any::<prop::sample::Index>(),
        edits in proptest::collection::vec(edit(), 1..4),
        date in 0..DATES.len(),
    ) {
        let all = ders();
        let der = apply(all[which.index(all.len())], &edits);
        if let Ok(info) = CertInfo::from_der(&der) {
            for f in lint(&info, DATES[date]) {
                prop_assert!(!f.rule.is_empty() && !f.message.is_empty());
            }
            let leaf = lint(&info, 0);
            let roots = roots_from_pem(&pem(pki().root.cert.as_ref())).expect("root");
            let chain = [CertificateDer::from(der.clone()), pki().intermediate.cert.clone()];
            let _ = lint_chain(&chain, roots, DATES[date].clamp(0, 4_102_444_800), &leaf);
        }
        // The same bytes as PEM, and the PEM text itself changed.
        let _ = certs_from_pem(&pem(&der));
        let _ = certs_from_pem(&apply(&pem(all[0]), &edits));
    }

    #[test]
    fn mutated_identities_load_or_fail_never_panic(
        edits in proptest::collection::vec(edit(), 1..4),
        key in any::<bool>(),
    ) {
        let client = &pki().clients[0];
        let chain: Vec<u8> = client.chain.iter().flat_map(|c| pem(c.as_ref())).collect();
        let (chain, key_pem) = if key {
            (chain, apply(client.key_pem.as_bytes(), &edits))
        } else {
            (apply(&chain, &edits), client.key_pem.clone().into_bytes())
        };
        if let Ok(id) = Identity::from_pem(&chain, &key_pem) {
            let _ = id.check();
        }
    }
}

#[test]
fn an_unmutated_identity_loads_and_checks() {
    let client = &pki().clients[0];
    let chain: Vec<u8> = client.chain.iter().flat_map(|c| pem(c.as_ref())).collect();
    let id = Identity::from_pem(&chain, client.key_pem.as_bytes()).expect("identity");
    id.check().expect("the key is the leaf's");
    assert!(!lint(&CertInfo::from_der(client.cert.as_ref()).expect("info"), 0).is_empty());
}
