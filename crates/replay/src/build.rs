//! Requests built on the fly: request `i` is a new document of one type for a generated
//! patient (seed `seed + i`), packaged for the endpoint's kind (ITI-41 capture, MHD bundle or
//! MSSanté message) just before it is sent. The same seed gives the same documents.

use std::time::{SystemTime, UNIX_EPOCH};

use segur_cda::DocType;
use segur_exchange::cda::CdaHeader;
use segur_exchange::package::{Input, Options};
use segur_ins::{Generator, SeedRng};

use crate::requests::parse;
use crate::run::Failure;
use crate::{Kind, Prepared};

/// A check each document built on the fly passes before it is packaged and sent (the
/// harness's validator, in `segur replay --validate`).
pub trait DocumentCheck: Sync {
    /// `Err` with the reason in words when the document must not be sent.
    fn check(&self, name: &str, document: &[u8]) -> Result<(), String>;

    /// [`DocumentCheck::check`], and the document's CDA header when the check read it on the
    /// way (a validator parses the document anyway): the packaging then does not parse it
    /// again. By default, no header.
    fn check_and_read(&self, name: &str, document: &[u8]) -> Result<Option<CdaHeader>, String> {
        self.check(name, document).map(|()| None)
    }
}

impl std::fmt::Debug for dyn DocumentCheck + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DocumentCheck")
    }
}

/// What to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipe {
    /// The document type.
    pub doc_type: DocType,
    /// The seed of request 0.
    pub seed: u64,
    /// How to package it.
    pub kind: Kind,
}

impl Recipe {
    /// Build and package request `i`.
    pub fn request(&self, i: usize) -> Result<Prepared, Failure> {
        self.request_checked(i, None)
    }

    /// Build request `i`, pass its document through `check` (a refusal is
    /// [`Failure::Invalid`]), and package it.
    pub fn request_checked(
        &self,
        i: usize,
        check: Option<&dyn DocumentCheck>,
    ) -> Result<Prepared, Failure> {
        let seed = self.seed.wrapping_add(i as u64);
        let identity = Generator::new(seed).next_identity();
        let mut rng = SeedRng::new(seed);
        let name = format!("{}-{seed}.xml", self.doc_type.info().name);
        let doc = segur_cda::build(self.doc_type, &identity, &mut rng);
        let mut input = Input::new(name.clone(), doc.to_bytes());
        if let Some(check) = check {
            input.header = check
                .check_and_read(&name, &input.bytes)
                .map_err(|why| Failure::Invalid(format!("{name}: {why}")))?;
        }
        // The header from the model when the check did not read it: the packaging then does
        // not parse the document it was just handed (a quarter of the client's work).
        if input.header.is_none() {
            input.header = Some(segur_exchange::cda::header_of_built(&doc));
        }
        let options = Options {
            now: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0)),
            ..Options::default()
        };
        let built = match self.kind {
            Kind::Iti41 => segur_exchange::iti41::build(&[input], &options).map(|r| r.to_capture()),
            Kind::Mhd => segur_exchange::mhd::build(&[input], &options),
            Kind::Smtp => segur_exchange::mss::build(&[input], &options),
        };
        let bytes = built.map_err(|e| Failure::Build(format!("{name}: {e}")))?;
        Ok(parse(&name, bytes, self.kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_request_is_a_new_document_packaged_for_the_kind() {
        let r = Recipe {
            doc_type: DocType::CrBio,
            seed: 7,
            kind: Kind::Iti41,
        };
        let (a, b) = (r.request(0).expect("0"), r.request(1).expect("1"));
        assert!(
            a.content_type.starts_with("multipart/related"),
            "{}",
            a.content_type
        );
        assert_ne!(a.body, b.body);
        assert_eq!(a.name, "cr-bio-7.xml");
        let m = Recipe {
            kind: Kind::Smtp,
            ..r
        }
        .request(0)
        .expect("mss");
        assert!(String::from_utf8_lossy(&m.body).contains("IHE_XDM.ZIP"));
        let j = Recipe {
            kind: Kind::Mhd,
            ..r
        }
        .request(0)
        .expect("mhd");
        assert!(j.body.starts_with(b"{"));
    }

    struct Refuse;
    impl DocumentCheck for Refuse {
        fn check(&self, _: &str, document: &[u8]) -> Result<(), String> {
            assert!(
                document.starts_with(b"<?xml"),
                "the check sees the CDA document"
            );
            Err("2 error findings".into())
        }
    }

    /// Hands the packaging a header it read, with a title the document does not have.
    struct ReadsHeader;
    impl DocumentCheck for ReadsHeader {
        fn check(&self, _: &str, _: &[u8]) -> Result<(), String> {
            Ok(())
        }
        fn check_and_read(&self, _: &str, document: &[u8]) -> Result<Option<CdaHeader>, String> {
            let mut h = segur_exchange::cda::read_header(document).map_err(|e| e.to_string())?;
            h.title = "Titre lu par la vérification".into();
            Ok(Some(h))
        }
    }

    #[test]
    fn packages_built_with_the_models_header_are_those_built_by_reading_the_document() {
        let options = Options {
            now: 1_736_000_000,
            ..Options::default()
        };
        for info in segur_cda::DOC_TYPES {
            for seed in [3, 11] {
                let identity = Generator::new(seed).next_identity();
                let doc = segur_cda::build(info.doc_type, &identity, &mut SeedRng::new(seed));
                let read = Input::new("d.xml", doc.to_bytes());
                let mut modelled = read.clone();
                modelled.header = Some(segur_exchange::cda::header_of_built(&doc));
                let (read, modelled) = (&[read], &[modelled]);
                assert_eq!(
                    segur_exchange::iti41::build(read, &options)
                        .map(|r| r.to_capture())
                        .ok(),
                    segur_exchange::iti41::build(modelled, &options)
                        .map(|r| r.to_capture())
                        .ok(),
                    "{} iti41",
                    info.name
                );
                assert_eq!(
                    segur_exchange::mhd::build(read, &options).ok(),
                    segur_exchange::mhd::build(modelled, &options).ok(),
                    "{} mhd",
                    info.name
                );
                assert_eq!(
                    segur_exchange::mss::build(read, &options).ok(),
                    segur_exchange::mss::build(modelled, &options).ok(),
                    "{} mss",
                    info.name
                );
            }
        }
    }

    #[test]
    fn the_packaging_uses_the_header_the_check_read() {
        let r = Recipe {
            doc_type: DocType::CrBio,
            seed: 7,
            kind: Kind::Iti41,
        };
        let body = |p: Prepared| String::from_utf8_lossy(&p.body).into_owned();
        let read = body(r.request_checked(0, Some(&ReadsHeader)).expect("read"));
        assert!(read.contains("Titre lu par la vérification"));
        // A check that reads no header (the default): the header from the model, which is
        // the document's.
        let plain = body(r.request_checked(0, Some(&Accept)).expect("plain"));
        assert!(!plain.contains("Titre lu par la vérification"));
        let own = segur_exchange::cda::read_header(
            &segur_cda::build(
                DocType::CrBio,
                &Generator::new(7).next_identity(),
                &mut SeedRng::new(7),
            )
            .to_bytes(),
        )
        .expect("header");
        assert!(plain.contains(&own.title), "{}", own.title);
    }

    struct Accept;
    impl DocumentCheck for Accept {
        fn check(&self, _: &str, _: &[u8]) -> Result<(), String> {
            Ok(())
        }
    }

    #[test]
    fn a_document_the_check_refuses_is_not_packaged() {
        let r = Recipe {
            doc_type: DocType::CrBio,
            seed: 7,
            kind: Kind::Iti41,
        };
        let refused = r.request_checked(0, Some(&Refuse)).expect_err("refused");
        assert_eq!(refused.kind(), "invalid-document");
        assert_eq!(refused.detail(), "cr-bio-7.xml: 2 error findings");
    }
}
