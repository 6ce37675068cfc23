//! The data a CI-SIS CDA header carries, as plain typed values.

use segur_ins::Identity;

use crate::time::Timestamp;

/// A coded value: `@code`, `@codeSystem`, `@displayName`, `@codeSystemName`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// `@code`.
    pub code: String,
    /// `@codeSystem` (an OID).
    pub system: String,
    /// `@displayName`.
    pub display: String,
    /// `@codeSystemName`, when customary.
    pub system_name: Option<String>,
}

impl Code {
    /// A code without a code-system name.
    pub fn new(code: &str, system: &str, display: &str) -> Self {
        Self {
            code: code.into(),
            system: system.into(),
            display: display.into(),
            system_name: None,
        }
    }

    /// A code with its code-system name (`LOINC`, …).
    pub fn named(code: &str, system: &str, display: &str, system_name: &str) -> Self {
        Self {
            system_name: Some(system_name.into()),
            ..Self::new(code, system, display)
        }
    }

    /// A LOINC code.
    pub fn loinc(code: &str, display: &str) -> Self {
        Self::named(code, oids::LOINC, display, "LOINC")
    }
}

/// An instance identifier: `@root` and optional `@extension`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstanceId {
    /// `@root` (OID or UUID).
    pub root: String,
    /// `@extension`.
    pub extension: Option<String>,
}

impl InstanceId {
    /// An id made of a root alone.
    pub fn root(root: impl Into<String>) -> Self {
        Self {
            root: root.into(),
            extension: None,
        }
    }

    /// An id with root and extension.
    pub fn with_ext(root: impl Into<String>, extension: impl Into<String>) -> Self {
        Self {
            root: root.into(),
            extension: Some(extension.into()),
        }
    }

    /// `root^extension` or `root`, the XDS uniqueId form.
    pub fn to_xds(&self) -> String {
        match &self.extension {
            Some(e) => format!("{}^{}", self.root, e),
            None => self.root.clone(),
        }
    }
}

/// A postal address (`addr`), in the structured form of the ANS examples.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    /// `@use` (`H`, `WP`, …).
    pub use_code: Option<String>,
    /// `houseNumber`.
    pub house_number: String,
    /// `streetName`.
    pub street_name: String,
    /// `postalCode`.
    pub postal_code: String,
    /// `city`.
    pub city: String,
    /// `country`.
    pub country: Option<String>,
}

/// A telecom address (`tel:…`, `mailto:…`) with its use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Telecom {
    /// `@value`, a URL.
    pub value: String,
    /// `@use` (`WP`, `H`, `MC`, …).
    pub use_code: Option<String>,
}

/// A person's name as written for professionals (not the INS traits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName {
    /// `prefix` (civilité, JDV_J245_Civilite_CISIS: `M`, `MME`).
    pub prefix: Option<String>,
    /// `given`.
    pub given: String,
    /// `family`.
    pub family: String,
    /// `suffix` (titre, JDV_J246_Titre_CISIS: `DR`, …).
    pub suffix: Option<String>,
}

/// A health or médico-social structure, identified by FINESS or SIRET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// The structure id: root `1.2.250.1.71.4.2.2`, extension `1`+FINESS or `3`+SIRET.
    pub id: InstanceId,
    /// `name`.
    pub name: String,
    /// `telecom`.
    pub telecom: Telecom,
    /// `addr`.
    pub addr: Address,
    /// `standardIndustryClassCode`: the practice setting (JDV_J04_XdsPracticeSettingCode).
    pub practice_setting: Code,
}

/// A health professional identified by RPPS or ADELI, and the structure they work for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Professional {
    /// The PS id: root `1.2.250.1.71.4.2.1`, extension `8`+RPPS or `0`+ADELI.
    pub id: InstanceId,
    /// Profession and speciality (JDV_J01_XdsAuthorSpecialty_CISIS).
    pub specialty: Code,
    /// Name.
    pub name: PersonName,
    /// Professional address.
    pub addr: Address,
    /// Professional telecom.
    pub telecom: Telecom,
    /// The structure they act for.
    pub organization: Organization,
}

/// The patient: INS identity, local id, contact details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patient {
    /// The INS identity (matricule, OID, traits).
    pub identity: Identity,
    /// The local id (IPP) given by the producing structure.
    pub ipp: Option<InstanceId>,
    /// Home address.
    pub addr: Option<Address>,
    /// Telecoms (the MSSanté patient mailbox among them).
    pub telecoms: Vec<Telecom>,
}

/// `documentationOf/serviceEvent`: the main act the document documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEvent {
    /// `code` of the act.
    pub code: Code,
    /// Start of the act.
    pub start: Timestamp,
    /// End of the act.
    pub end: Option<Timestamp>,
    /// The performer (`performer typeCode="PRF"`).
    pub performer: Professional,
    /// A templateId for the performer (XD-LAB's executing laboratory, say).
    pub performer_template: Option<&'static str>,
    /// `performer/time/high`, when the template requires it.
    pub performer_time: Option<Timestamp>,
    /// Emit XD-LAB's `lab:statusCode code="completed"` (CR-BIO).
    pub lab_status_completed: bool,
}

/// `componentOf/encompassingEncounter`: the care context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encounter {
    /// Encounter code (ActEncounterCode: `AMB`, `IMP`, …).
    pub code: Option<Code>,
    /// Start.
    pub start: Timestamp,
    /// End.
    pub end: Option<Timestamp>,
    /// `responsibleParty/assignedEntity`.
    pub responsible: Option<Professional>,
    /// `location/healthCareFacility/code` (JDV_J02_XdsHealthcareFacilityTypeCode).
    pub facility_type: Code,
}

/// The confidentiality code of the document (HL7 Confidentiality).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Confidentiality {
    /// `N` Normal.
    #[default]
    Normal,
    /// `R` Restricted.
    Restricted,
    /// `V` Very restricted.
    VeryRestricted,
}

impl Confidentiality {
    /// The code and display name.
    pub fn code(self) -> (&'static str, &'static str) {
        match self {
            Confidentiality::Normal => ("N", "Normal"),
            Confidentiality::Restricted => ("R", "Restreint"),
            Confidentiality::VeryRestricted => ("V", "Très restreint"),
        }
    }
}

/// The OIDs the header uses.
pub mod oids {
    /// LOINC.
    pub const LOINC: &str = "2.16.840.1.113883.6.1";
    /// HL7 France CDA conformity templateId.
    pub const TPL_HL7_FRANCE: &str = "2.16.840.1.113883.2.8.2.1";
    /// CI-SIS "Structuration minimale" conformity templateId.
    pub const TPL_CISIS: &str = "1.2.250.1.213.1.1.1.1";
    /// IHE XDS-SD (scanned/non-structured document) templateId, mandatory for N1.
    pub const TPL_XDS_SD: &str = "1.3.6.1.4.1.19376.1.2.20";
    /// Health professionals' national ids (RPPS with prefix 8, ADELI with prefix 0).
    pub const PS_ID: &str = "1.2.250.1.71.4.2.1";
    /// Structures' national ids (FINESS with prefix 1, SIRET with prefix 3).
    pub const STRUCTURE_ID: &str = "1.2.250.1.71.4.2.2";
    /// Healthcare facility types (TRE_R02-SecteurActivite).
    pub const FACILITY_TYPE: &str = "1.2.250.1.71.4.2.4";
    /// Practice settings (TRE_A01-CadreExercice).
    pub const PRACTICE_SETTING: &str = "1.2.250.1.213.1.1.4.9";
    /// Professions and specialities (TRE_G15 / R38…: the J01 value set's system).
    pub const AUTHOR_SPECIALTY: &str = "1.2.250.1.213.1.1.4.5";
    /// HL7 AdministrativeGender.
    pub const ADMIN_GENDER: &str = "2.16.840.1.113883.5.1";
    /// HL7 Confidentiality.
    pub const CONFIDENTIALITY: &str = "2.16.840.1.113883.5.25";
    /// HL7 ActEncounterCode.
    pub const ENCOUNTER_CODE: &str = "2.16.840.1.113883.5.4";
    /// HL7 ObservationInterpretation.
    pub const INTERPRETATION: &str = "2.16.840.1.113883.5.83";
    /// ANS TerminologieCISIS (TA_ASIP).
    pub const TA_ASIP: &str = "1.2.250.1.213.1.1.4.322";
}
