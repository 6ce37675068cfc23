use crate::InsError;

/// Whether a matricule is a NIR or a NIA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum MatriculeKind {
    /// Numéro d'inscription au répertoire (INSEE).
    Nir,
    /// Numéro identifiant d'attente (CNAV/SNGI), same shape and key.
    Nia,
}

/// The OID of the authority that assigned an INS matricule (`patientRole/id/@root` in CDA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum InsOid {
    /// `1.2.250.1.213.1.4.8`: INS-NIR, production.
    Nir,
    /// `1.2.250.1.213.1.4.9`: INS-NIA, production.
    Nia,
    /// `1.2.250.1.213.1.4.10`: INS-NIR de test.
    TestNir,
    /// `1.2.250.1.213.1.4.11`: INS-NIR de démonstration.
    DemoNir,
}

impl InsOid {
    /// The dotted OID.
    pub fn oid(self) -> &'static str {
        todo!()
    }

    /// The OID for a dotted string, or an error naming the known OIDs.
    pub fn from_oid(oid: &str) -> Result<Self, InsError> {
        todo!("{oid}")
    }

    /// A short label: `INS-NIR`, `INS-NIA`, `INS-NIR de test`, `INS-NIR de démonstration`.
    pub fn label(self) -> &'static str {
        todo!()
    }

    /// The kind of matricule this authority assigns.
    pub fn kind(self) -> MatriculeKind {
        todo!()
    }
}

/// A checked 15-character matricule INS (13 characters and the 2-digit key).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Matricule {
    text: String,
}

impl Matricule {
    /// Parse and check a matricule: length, characters, sex digit, month, department, key.
    pub fn parse(text: &str) -> Result<Self, InsError> {
        todo!("{text}")
    }

    /// The 15 characters.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The 2-digit key.
    pub fn key(&self) -> u8 {
        todo!()
    }
}

impl std::fmt::Display for Matricule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// The key of the 13 first characters of a NIR/NIA: `97 − (N mod 97)`, with Corsica's
/// `2A` read as `19` and `2B` as `18`.
pub fn nir_key(first13: &str) -> Result<u8, InsError> {
    todo!("{first13}")
}
