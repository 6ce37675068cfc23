//! CDA R2 documents of the ANS CI-SIS (*Cadre d'Interopérabilité des Systèmes d'Information de
//! Santé*), as the DMP and MSSanté expect them.
//!
//! A [`ClinicalDocument`] is the CI-SIS *Structuration minimale* header (realmCode FR, typeId,
//! templateIds, id, code, title, effectiveTime, confidentialityCode, languageCode, setId,
//! versionNumber, recordTarget with the INS and its traits, author, custodian,
//! legalAuthenticator, documentationOf/serviceEvent, componentOf/encompassingEncounter) and a
//! [`Body`]: N1 (*niveau 1*, a PDF in a `nonXMLBody`) or N3 (*niveau 3*, structured sections and
//! entries). [`ClinicalDocument::write_to`] streams it as XML with quick-xml.
//!
//! [`types::build`] generates a complete document of one of the [`DocType`]s from an INS
//! identity and a seed: the same seed gives the same bytes. Identifiers are generated in their
//! real formats: RPPS (*Répertoire partagé des professionnels de santé*, 11 digits with a Luhn
//! key) for professionals, FINESS (*Fichier national des établissements sanitaires et sociaux*,
//! 9 digits with a Luhn key) for structures, and `2.25.<uuid>` OIDs for documents.

#![warn(missing_docs)]

mod actors;
mod body;
mod document;
mod model;
mod pdf;
mod time;
pub mod types;
mod xml;

pub use actors::{finess, luhn_valid, rpps, uuid, uuid_oid};
pub use body::{
    Act, Body, Cell, Destination, Effective, Entry, Medication, Narrative, NonXmlBody, Observation,
    ObservationMedia, Organizer, Procedure, Range, Section, Statement, Value,
};
pub use document::{ClinicalDocument, LAB_NS};
pub use model::{
    Address, Code, Confidentiality, Encounter, InstanceId, Organization, Patient, PersonName,
    Professional, ServiceEvent, Telecom, oids,
};
pub use pdf::{PdfText, render_pdf};
pub use time::{Timestamp, civil_from_days, days_from_civil};
pub use types::{DOC_TYPES, DocType, DocTypeInfo, build};

/// Why a document could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CdaError {
    /// The output failed.
    #[error("cannot write the document: {0}")]
    Io(#[from] std::io::Error),
}
