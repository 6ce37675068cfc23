//! Native W3C XML Schema 1.0 validation of CDA R2 documents against the ANS CDA schema
//! (`infrastructure/cda/CDA_extended.xsd` of TestContenuCDA and what it includes and imports),
//! giving the verdict and the messages of the official chain, which validates with the JDK's
//! JAXP (Xerces) validator.
//!
//! The schema files are read at run time (the ANS states no licence: they are not part of this
//! crate). [`Schema::load`] compiles them once: content models become deterministic automata over
//! interned element names (Xerces' element map and transition table), simple types become
//! compiled checkers (facets, lists, unions, XSD regular expressions translated to the `regex`
//! crate), attribute uses small tables. A [`Validator`] is then fed the events of one document —
//! by the caller's own parser, or by [`validate_bytes`] which uses quick-xml.
//!
//! ```no_run
//! use std::path::Path;
//! use segur_xsd::{validate_bytes, Schema};
//!
//! let schema = Schema::load(Path::new("rules/infrastructure/cda/CDA_extended.xsd"))?;
//! let xml = std::fs::read("doc.xml")?;
//! for e in validate_bytes(&schema, &xml)? {
//!     println!("line {}: {}", e.line, e.message);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Driving the validator from another parser:
//!
//! ```no_run
//! # fn f(schema: &segur_xsd::Schema) {
//! use segur_xsd::{Attr, Pos, StartElement};
//! let mut v = schema.validator();
//! let ns: &[(&str, &str)] = &[("", "urn:hl7-org:v3")];
//! let attrs = [Attr { ns_uri: "", local: "classCode", prefix: "", value: "DOCCLIN", key: None }];
//! v.start_element(&StartElement {
//!     ns_uri: "urn:hl7-org:v3",
//!     local: "ClinicalDocument",
//!     prefix: "",
//!     attributes: &attrs,
//!     namespaces: &ns,
//!     start: Pos { line: 1, column: 1, offset: 0 },
//!     end: Some(Pos { line: 1, column: 40, offset: 39 }),
//!     key: None,
//! })
//! .unwrap();
//! v.text("\n", Pos::default());
//! v.end_element(Pos { line: 2, column: 20, offset: 60 }).unwrap();
//! let errors = v.finish();
//! # }
//! ```
//!
//! # Positions and messages
//!
//! Errors of a start tag are reported where Xerces reports them, just after its `>`; content
//! errors just after the end tag. Each [`XsdError`] carries the Xerces message key (`code`) and the
//! English message as JAXP prints it, e.g. `cvc-complex-type.2.4.a: Invalid content was found
//! starting with element '{"urn:hl7-org:v3":note}'. One of '{"urn:hl7-org:v3":title,
//! "urn:hl7-org:v3":effectiveTime}' is expected.`
//!
//! # What is supported
//!
//! Includes (chameleon included), imports; global and local elements and attributes; complex
//! types with sequence, choice, all, nested and named groups, occurrence bounds (expanded),
//! element references, substitution groups, `xs:any`/`xs:anyAttribute` with namespace constraints
//! and skip/lax/strict processing; complexContent and simpleContent extension and restriction;
//! mixed content; attribute uses (required, optional, prohibited, fixed); simple types by
//! restriction (enumeration, pattern, length facets, bounds on numeric types, digits,
//! whiteSpace), list and union; the built-in types; `xsi:type` (derivation and `block` checked),
//! `xsi:nil`, abstract elements and types; ID uniqueness (`cvc-id.2`) and IDREF targets
//! (`cvc-id.1`).
//!
//! # Performance
//!
//! Loading the ANS schema takes a few tens of milliseconds. [`Schema::encode`] gives a binary
//! image of the compiled schema that [`Schema::decode`] reads back in a few milliseconds, for
//! a cache kept between processes ([`Schema::load_with`] sees the bytes of every schema file
//! read, to key such a cache); the image is refused by a build that compiles differently
//! ([`MODEL_FINGERPRINT`]), and a damaged one is an error, never a panic. Validation reuses the validator's
//! stacks ([`validate_with`]); strings are interned once, attribute values are checked without
//! copying. A caller with its own interned names resolves each once ([`Schema::name_key`],
//! [`NameKey`]); values found valid are remembered in a bounded [`ValueMemo`] that a caller may
//! carry from one validator to the next ([`Schema::validator_with`]). Measured by `tests/robustness.rs` (`throughput_sanity`, release build, one thread,
//! the 94 ANS examples, 24 MB): about 120–140 MB/s with [`validate_bytes`], about 4–5 times the
//! time quick-xml alone needs to tokenize the same documents.
//!
//! # Gaps (reported, never silently passed)
//!
//! Constructs that are not compiled are listed by [`Schema::unsupported`] with file and line, and
//! an instance that reaches one gets a [`Severity::NotChecked`] finding
//! (`segur-xsd.not-checked`): `xs:redefine`, patterns that cannot be translated, bound facets on
//! non-numeric types (dates), content models too large to expand, unresolved references (the
//! schema for schemas imported by the XSLT schema is not loaded: its simple types are built in).
//! Not implemented at all: identity constraints (`xs:key`, `xs:unique`, `xs:keyref`; the CDA
//! schema has none), the Unique Particle Attribution check of the schema itself, the order of
//! several `cvc-id.1` findings (Xerces reports them in hash order; here in document order).
//! `\i`/`\c` follow XML 1.0 fifth edition names. The `anyURI` check accepts everything but bad
//! `%` escapes (Xerces escapes the rest first).

#![warn(missing_docs)]

mod error;
mod image;
mod model;
mod names;
mod reader;
mod schema;
mod simple;
mod validate;
mod xsdoc;

pub use error::{
    CODES, DecodeError, EncodeError, EventError, ParseError, SchemaError, Severity, XsdError,
};
pub use image::{IMAGE_FORMAT, MODEL_FINGERPRINT};
pub use reader::{validate_bytes, validate_with};
pub use schema::{Schema, Unsupported};
pub use validate::{Attr, NameKey, NamespaceLookup, Pos, StartElement, Validator, ValueMemo};
