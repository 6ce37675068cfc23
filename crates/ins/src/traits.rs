use crate::{InsError, InsOid, Matricule};

/// Administrative sex as the INS traits carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Sex {
    /// Masculin.
    M,
    /// Féminin.
    F,
}

impl Sex {
    /// `M` or `F` (HL7 AdministrativeGender).
    pub fn code(self) -> &'static str {
        match self {
            Sex::M => "M",
            Sex::F => "F",
        }
    }

    /// `Masculin` or `Féminin`.
    pub fn display(self) -> &'static str {
        match self {
            Sex::M => "Masculin",
            Sex::F => "Féminin",
        }
    }
}

/// A checked calendar date of birth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BirthDate {
    year: u16,
    month: u8,
    day: u8,
}

impl BirthDate {
    /// A date, refused when it does not exist (`ImpossibleDate`).
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, InsError> {
        todo!("{year}{month}{day}")
    }

    /// Year.
    pub fn year(self) -> u16 {
        self.year
    }

    /// Month, 1–12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// Day of month.
    pub fn day(self) -> u8 {
        self.day
    }

    /// `YYYYMMDD`, the HL7 TS form.
    pub fn to_hl7(self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }

    /// `YYYY-MM-DD`.
    pub fn to_iso(self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The INS traits returned by INSi, to be transmitted unaltered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traits {
    /// Nom de naissance.
    pub birth_name: String,
    /// Prénoms de naissance, in order (the first is the premier prénom).
    pub birth_given_names: Vec<String>,
    /// Sexe.
    pub sex: Sex,
    /// Date de naissance.
    pub birth_date: BirthDate,
    /// Code officiel géographique (COG/INSEE, 5 characters) of the birth place.
    pub birth_place_cog: String,
    /// Name of the birth place (commune or country), for display.
    pub birth_place_name: String,
}

impl Traits {
    /// Premier prénom de naissance.
    pub fn first_given_name(&self) -> &str {
        self.birth_given_names.first().map(String::as_str).unwrap_or("")
    }

    /// The space-separated list of birth given names, as INSi returns it.
    pub fn given_names_list(&self) -> String {
        self.birth_given_names.join(" ")
    }
}

/// Identity status (RNIV): how far the identity was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum IdentityStatus {
    /// `PROV`: not from INSi, not checked against an identity document.
    Provisoire,
    /// `RECUP`: from INSi, not yet checked against an identity document.
    Recuperee,
    /// `VALI`: checked against an identity document, not from INSi.
    Validee,
    /// `QUAL`: from INSi and checked against an identity document.
    Qualifiee,
}

impl IdentityStatus {
    /// The FR Core code: `PROV`, `RECUP`, `VALI`, `QUAL`.
    pub fn code(self) -> &'static str {
        match self {
            IdentityStatus::Provisoire => "PROV",
            IdentityStatus::Recuperee => "RECUP",
            IdentityStatus::Validee => "VALI",
            IdentityStatus::Qualifiee => "QUAL",
        }
    }

    /// Whether the INS may be transmitted in an exchange (only when qualified).
    pub fn may_transmit_ins(self) -> bool {
        self == IdentityStatus::Qualifiee
    }
}

/// A person's INS identity: matricule, OID, traits, status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The matricule INS.
    pub matricule: Matricule,
    /// The authority OID.
    pub oid: InsOid,
    /// The INS traits.
    pub traits: Traits,
    /// The identity status.
    pub status: IdentityStatus,
}
