//! What every package is built from: CDA documents, their headers and XDS metadata, and the
//! configuration that does not come from the documents (sender, product number, time).

use crate::cda::{CdaHeader, HeaderError, read_header};
use crate::metadata::{Code, DocumentEntry, Metadata, SubmissionOptions};
use crate::vihf::{Ce, VihfConfig};

/// One CDA document to package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// Its name (the file it came from), for errors.
    pub name: String,
    /// Its bytes, packaged unchanged.
    pub bytes: Vec<u8>,
    /// Its header when the caller has read it already (with [`crate::cda::header_of`], from
    /// the document a validator parsed): the bytes are then not parsed again. `None`: read
    /// from the bytes.
    pub header: Option<CdaHeader>,
}

impl Input {
    /// A document whose header is read from its bytes when it is packaged.
    pub fn new(name: impl Into<String>, bytes: Vec<u8>) -> Input {
        Input {
            name: name.into(),
            bytes,
            header: None,
        }
    }
}

/// Why a set of documents cannot be packaged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// No document.
    #[error("no document to package")]
    Empty,
    /// A document's header cannot be read.
    #[error("{name}: {source}")]
    Header {
        /// The document.
        name: String,
        /// The cause.
        #[source]
        source: HeaderError,
    },
    /// A document carries no INS: the DMP and MSSanté identify the patient by it.
    #[error(
        "{name}: recordTarget/patientRole has no INS (an id with OID 1.2.250.1.213.1.4.8/9/10/11 and a 15-character matricule)"
    )]
    NoIns {
        /// The document.
        name: String,
    },
    /// Documents of different patients: one SubmissionSet has one patient.
    #[error(
        "{name}: patient {found} differs from {first}'s {expected}; package one patient at a time"
    )]
    MixedPatients {
        /// The document.
        name: String,
        /// Its patient.
        found: String,
        /// The first document.
        first: String,
        /// The first document's patient.
        expected: String,
    },
    /// Two documents with the same ClinicalDocument/id.
    #[error("{name}: ClinicalDocument/id {id} is also {first}'s")]
    DuplicateId {
        /// The document.
        name: String,
        /// The id.
        id: String,
        /// The first document with it.
        first: String,
    },
    /// An option is not usable.
    #[error("{0}")]
    Option(String),
    /// A header field cannot be written within RFC 5322's line limit.
    #[error(transparent)]
    Field(#[from] crate::mime::FieldError),
}

/// Configuration of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Time of the submission, seconds since the epoch.
    pub now: i64,
    /// sourceId: OID of the sending system.
    pub source_id: String,
    /// SubmissionSet contentTypeCode (JDV_J59).
    pub content_type: Code,
    /// Sending application name.
    pub software: String,
    /// Its version.
    pub software_version: String,
    /// MSSanté: the sender's mailbox.
    pub from: String,
    /// MSSanté: recipients; empty means the patient's mailbox `<INS>@patient.mssante.fr`.
    pub to: Vec<String>,
    /// MSSanté: X-MSS-NIL, the product reference number on convergence.esante.gouv.fr.
    pub nil: String,
    /// MSSanté: ask for a read acknowledgement (Disposition-Notification-To).
    pub read_receipt: bool,
    /// MSSanté: forbid the patient's reply (X-MSS-MES: FIN), for patient recipients.
    pub no_patient_reply: bool,
    /// MSSanté: the text body.
    pub body: Option<String>,
    /// MSSanté: a human-readable copy (file name, PDF bytes).
    pub pdf: Option<(String, Vec<u8>)>,
    /// ITI-41: the repository endpoint (WS-Addressing To).
    pub endpoint: String,
    /// ITI-41: the VIHF; `None` derives it from the first document's author.
    pub vihf: Option<VihfConfig>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            now: 0,
            // An OID under the UUID arc, for tests and examples; real senders configure theirs.
            source_id: "2.25.299792458".into(),
            // JDV_J59 "04" (Hospitalisation de jour) is the example of the spec notes;
            // the display of other codes is UNVERIFIED.
            content_type: Code::new("04", "1.2.250.1.213.2.2", "Hospitalisation de jour"),
            software: "segur".into(),
            software_version: env!("CARGO_PKG_VERSION").into(),
            from: "segur@test-ci-sis.mssante.fr".into(),
            to: Vec::new(),
            nil: "SEGUR-TEST".into(),
            read_receipt: false,
            no_patient_reply: false,
            body: None,
            pdf: None,
            endpoint: "https://lps.dev9.dmp.gouv.fr/si-dmp-server/v2/services/repository".into(),
            vihf: None,
        }
    }
}

/// Documents read and described, ready to package.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The documents.
    pub inputs: Vec<Input>,
    /// Their headers.
    pub headers: Vec<CdaHeader>,
    /// SubmissionSet and DocumentEntries.
    pub metadata: Metadata,
}

impl Prepared {
    /// The patient's INS matricule.
    pub fn matricule(&self) -> &str {
        self.headers
            .first()
            .and_then(|h| h.ins.as_ref())
            .map_or("", |i| i.matricule.as_str())
    }
}

/// Read the headers, check one patient with an INS and distinct ids, derive the metadata.
pub fn prepare(
    inputs: &[Input],
    options: &Options,
    intended_recipients: Vec<String>,
) -> Result<Prepared, PackageError> {
    let first = inputs.first().ok_or(PackageError::Empty)?;
    let mut headers = Vec::new();
    let mut entries = Vec::new();
    for input in inputs {
        let h = match &input.header {
            Some(h) => h.clone(),
            None => read_header(&input.bytes).map_err(|source| PackageError::Header {
                name: input.name.clone(),
                source,
            })?,
        };
        let Some(ins) = &h.ins else {
            return Err(PackageError::NoIns {
                name: input.name.clone(),
            });
        };
        if let Some(f) = headers.first().and_then(|f: &CdaHeader| f.ins.as_ref())
            && f != ins
        {
            return Err(PackageError::MixedPatients {
                name: input.name.clone(),
                found: ins.to_cx(),
                first: first.name.clone(),
                expected: f.to_cx(),
            });
        }
        if let Some(i) = headers.iter().position(|o: &CdaHeader| o.id == h.id) {
            return Err(PackageError::DuplicateId {
                name: input.name.clone(),
                id: h.id.to_xds(),
                first: inputs[i].name.clone(),
            });
        }
        entries.push(DocumentEntry::derive(&h, &input.bytes));
        headers.push(h);
    }
    let metadata = Metadata::new(
        entries,
        &SubmissionOptions {
            source_id: options.source_id.clone(),
            submission_time: options.now,
            content_type: options.content_type.clone(),
            intended_recipients,
        },
    );
    Ok(Prepared {
        inputs: inputs.to_vec(),
        headers,
        metadata,
    })
}

/// A VIHF configuration taken from a document's author (an automaton-free, PS-signed flow).
pub fn vihf_from_header(h: &CdaHeader, options: &Options) -> VihfConfig {
    let author = h.author.clone().unwrap_or_default();
    let (structure, _) = author.organization.clone().unwrap_or_default();
    VihfConfig {
        issuer: format!(
            "CN={} SIGN, O={}, C=FR",
            options.software,
            author.organization.as_ref().map_or("", |(_, n)| n.as_str())
        ),
        subject_id: author.id.extension.clone().unwrap_or_default(),
        subject_name: format!("{} {}", author.given, author.family)
            .trim()
            .to_string(),
        // TRE_G15 "10" Médecin: the example of the spec notes.
        roles: vec![Ce {
            code: "10".into(),
            system: "1.2.250.1.71.1.2.7".into(),
            display: "Médecin".into(),
        }],
        structure_id: structure.extension.unwrap_or_default(),
        secteur_activite: h
            .facility_type
            .as_ref()
            .map(|c| format!("{}^{}", c.code, c.system))
            .unwrap_or_default(),
        authentication_mode: "INDIRECTE".into(),
        version: "3.0".into(),
        lps_name: options.software.clone(),
        lps_version: options.software_version.clone(),
        lps_homologation: "SEGUR-TEST".into(),
    }
}
