//! The document-processing core: parse a CDA document once and run the official ANS CI-SIS
//! rules on it — the CDA XSD, the structuration minimale, content-model and terminology
//! schematrons, and the volet schematron chosen by the document's templateIds — read at run
//! time from a rules directory.

#![warn(missing_docs)]

pub mod engine;
pub mod facts;
pub mod location;
pub mod oracle;
pub mod own_rules;
pub mod resolver;
pub mod rules;
pub mod run;
pub mod schematron;
pub mod select;
mod xsd_cache;
pub mod xsd_run;
