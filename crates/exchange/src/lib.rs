//! Packaging both ways: the envelopes CDA documents travel in, built from the documents and
//! read back with every disagreement between envelope and documents reported.
//!
//! * XDS metadata (ebRIM 3.0 DocumentEntry and SubmissionSet) derived from a CDA header
//!   ([`metadata`]);
//! * the DMP's ITI-41 *Provide and Register Document Set-b* request: SOAP 1.2 over MTOM/XOP,
//!   WS-Addressing, and a VIHF (*Vecteur d'Identification et d'Habilitation Formelles*, the
//!   DMP's SAML 2.0 assertion) in WS-Security, signed with an enveloped XML-DSig when a key
//!   is given ([`iti41`], [`vihf`], [`dsig`], [`c14n`]);
//! * the PDSm (*Partage de Documents de Santé en mobilité*) / IHE MHD ITI-65 transaction
//!   Bundle in FHIR R4 JSON ([`mhd`]);
//! * the MSSanté (*Messagerie Sécurisée de Santé*) message: MIME multipart/mixed with an IHE
//!   XDM archive `IHE_XDM.ZIP` and the `X-MSS-*` headers ([`mss`], [`xdm`]), and its
//!   read acknowledgements, RFC 8098 MDNs ([`mdn`]).
//!
//! [`unpack::unpack`] recognizes each kind by content, extracts documents and metadata with
//! bounded memory, and [`check`] compares metadata and documents under segur's own rules
//! ([`rules::CATALOGUE`], documented in `docs/rules.md`), and the coded metadata with the
//! CI-SIS value sets (*jeux de valeurs*, JDV) read from the rules directory ([`value_sets`]). The INS (*Identité Nationale de
//! Santé*) is the patient id everywhere: `matricule^^^&OID&ISO^NH` in XDS.

#![warn(missing_docs)]

pub mod c14n;
pub mod cda;
pub mod check;
pub mod codes;
mod dom;
pub mod dsig;
pub mod iti41;
pub mod mdn;
pub mod metadata;
pub mod mhd;
pub mod mime;
pub mod mss;
pub mod package;
pub mod rules;
pub mod signing_cert;
pub mod time;
pub mod unpack;
pub mod value_sets;
pub mod vihf;
pub mod xdm;
mod xmlw;
pub mod zip;
