use std::fmt;
use std::str::FromStr;

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

    /// The sex a matricule's sex digit means: 1, 3, 7 → `M`; 2, 4, 8 → `F`; other digits → none.
    pub fn from_sex_digit(digit: u8) -> Option<Sex> {
        match digit {
            1 | 3 | 7 => Some(Sex::M),
            2 | 4 | 8 => Some(Sex::F),
            _ => None,
        }
    }
}

/// Writes the code, `M` or `F`.
impl fmt::Display for Sex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A checked calendar date of birth.
///
/// Serialized as a `YYYY-MM-DD` string; deserialization runs [`BirthDate::parse`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct BirthDate {
    year: u16,
    month: u8,
    day: u8,
}

impl BirthDate {
    /// The earliest accepted birth date, 1850-01-01.
    pub const MIN: BirthDate = BirthDate {
        year: 1850,
        month: 1,
        day: 1,
    };

    /// The latest accepted birth date, 2100-12-31.
    pub const MAX: BirthDate = BirthDate {
        year: 2100,
        month: 12,
        day: 31,
    };

    /// A date, refused when it does not exist (`ImpossibleDate`).
    ///
    /// The year must be in 1850–2100, the month in 1–12 and the day within the month
    /// (Gregorian leap years).
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, InsError> {
        let ok = (1850..=2100).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        if ok {
            Ok(BirthDate { year, month, day })
        } else {
            Err(InsError::ImpossibleDate { year, month, day })
        }
    }

    /// A date written `YYYY-MM-DD` or `YYYYMMDD` (surrounding whitespace ignored):
    /// `BadDateFormat` for another shape, `ImpossibleDate` for a date that does not exist.
    pub fn parse(text: &str) -> Result<Self, InsError> {
        let t = text.trim().as_bytes();
        let digits: Vec<u8> = match t.len() {
            8 => t.to_vec(),
            10 if t[4] == b'-' && t[7] == b'-' => [&t[..4], &t[5..7], &t[8..]].concat(),
            _ => Vec::new(),
        };
        if digits.len() != 8 || !digits.iter().all(u8::is_ascii_digit) {
            return Err(InsError::BadDateFormat {
                found: text.to_owned(),
            });
        }
        let num = |r: std::ops::Range<usize>| {
            digits[r]
                .iter()
                .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'))
        };
        // Month and day have two digits, so they fit a u8.
        BirthDate::new(num(0..4), num(4..6) as u8, num(6..8) as u8)
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

/// Writes `YYYY-MM-DD`.
impl fmt::Display for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Same as [`BirthDate::parse`].
impl FromStr for BirthDate {
    type Err = InsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BirthDate::parse(s)
    }
}

/// Same as [`BirthDate::parse`].
impl TryFrom<String> for BirthDate {
    type Error = InsError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        BirthDate::parse(&s)
    }
}

/// `YYYY-MM-DD`.
impl From<BirthDate> for String {
    fn from(d: BirthDate) -> String {
        d.to_iso()
    }
}

/// Number of days of a month (1–12) in the Gregorian calendar.
pub(crate) fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

/// Check the shape of a COG code: 5 digits, or `2A`/`2B` followed by 3 digits.
pub fn check_cog(cog: &str) -> Result<(), InsError> {
    let b = cog.as_bytes();
    let ok = b.len() == 5
        && b[2..].iter().all(u8::is_ascii_digit)
        && ((b[0].is_ascii_digit() && b[1].is_ascii_digit())
            || (b[0] == b'2' && (b[1] == b'A' || b[1] == b'B')));
    if ok {
        Ok(())
    } else {
        Err(InsError::BadCog {
            found: cog.to_owned(),
        })
    }
}

/// The INS traits returned by INSi, to be transmitted unaltered.
///
/// Serialized with its field names; deserialization does not run [`Traits::check`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
        self.birth_given_names
            .first()
            .map(String::as_str)
            .unwrap_or("")
    }

    /// The space-separated list of birth given names, as INSi returns it.
    pub fn given_names_list(&self) -> String {
        self.birth_given_names.join(" ")
    }

    /// Check the mandatory traits: a non-blank birth name, at least one birth given name and
    /// no blank one (`EmptyTrait`), a well-formed COG code (`BadCog`).
    pub fn check(&self) -> Result<(), InsError> {
        if self.birth_name.trim().is_empty() {
            return Err(InsError::EmptyTrait { name: "birth_name" });
        }
        if self.birth_given_names.is_empty()
            || self.birth_given_names.iter().any(|g| g.trim().is_empty())
        {
            return Err(InsError::EmptyTrait {
                name: "birth_given_names",
            });
        }
        check_cog(&self.birth_place_cog)
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

    /// The status for a FR Core code (`PROV`, `RECUP`, `VALI`, `QUAL`), or `UnknownStatus`.
    pub fn from_code(code: &str) -> Result<Self, InsError> {
        match code {
            "PROV" => Ok(IdentityStatus::Provisoire),
            "RECUP" => Ok(IdentityStatus::Recuperee),
            "VALI" => Ok(IdentityStatus::Validee),
            "QUAL" => Ok(IdentityStatus::Qualifiee),
            _ => Err(InsError::UnknownStatus {
                found: code.to_owned(),
            }),
        }
    }
}

/// Writes the FR Core code.
impl fmt::Display for IdentityStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Same as [`IdentityStatus::from_code`].
impl FromStr for IdentityStatus {
    type Err = InsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IdentityStatus::from_code(s)
    }
}

/// A person's INS identity: matricule, OID, traits, status.
///
/// Serialized as `{"matricule", "oid" (dotted), "oid_label", "traits" (nested), "status"
/// (FR Core code)}`; `oid_label` is informative and ignored when read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "IdentityRepr", into = "IdentityRepr")]
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

impl Identity {
    /// Check that the matricule agrees with the traits: sex digit (1/3/7 → M, 2/4/8 → F,
    /// `SexMismatch`), 2-digit birth year (`BirthYearMismatch`), birth month when the
    /// matricule's is 01–12 (`BirthMonthMismatch`), and birth place (`PlaceMismatch`).
    ///
    /// The place (positions 6–10) must equal the COG code, except: not checked when the
    /// matricule says born abroad (`99…`), nor for the pre-independence Algeria/Morocco/Tunisia
    /// departments 91–96 when the COG says born abroad; `20…` (Corsica before 1976) matches a
    /// `2A…`/`2B…` COG with the same commune digits.
    pub fn check_consistency(&self) -> Result<(), InsError> {
        let m = &self.matricule;
        let t = &self.traits;
        let digit = m.sex_digit();
        if let Some(expected) = Sex::from_sex_digit(digit)
            && expected != t.sex
        {
            return Err(InsError::SexMismatch {
                digit,
                expected,
                found: t.sex,
            });
        }
        let yy = m.birth_year_2digits();
        if u16::from(yy) != t.birth_date.year() % 100 {
            return Err(InsError::BirthYearMismatch {
                matricule: yy,
                year: t.birth_date.year(),
            });
        }
        let mm = m.birth_month();
        if mm <= 12 && mm != t.birth_date.month() {
            return Err(InsError::BirthMonthMismatch {
                matricule: mm,
                month: t.birth_date.month(),
            });
        }
        if !place_matches(m, &t.birth_place_cog) {
            return Err(InsError::PlaceMismatch {
                matricule: m.place().to_owned(),
                cog: t.birth_place_cog.clone(),
            });
        }
        Ok(())
    }
}

/// Whether the matricule's birth place agrees with a COG code (see
/// [`Identity::check_consistency`]).
fn place_matches(m: &Matricule, cog: &str) -> bool {
    let place = m.place();
    if m.born_abroad() || place == cog {
        return true;
    }
    let dept = m.department();
    if cog.starts_with("99") && matches!(dept, "91" | "92" | "93" | "94" | "95" | "96") {
        return true;
    }
    dept == "20"
        && (cog.starts_with("2A") || cog.starts_with("2B"))
        && cog.get(2..) == place.get(2..)
}

/// The serialized shape of an [`Identity`].
#[derive(serde::Serialize, serde::Deserialize)]
struct IdentityRepr {
    matricule: Matricule,
    oid: String,
    #[serde(default, skip_deserializing)]
    oid_label: String,
    traits: Traits,
    status: String,
}

impl From<Identity> for IdentityRepr {
    fn from(i: Identity) -> Self {
        IdentityRepr {
            matricule: i.matricule,
            oid: i.oid.oid().to_owned(),
            oid_label: i.oid.label().to_owned(),
            traits: i.traits,
            status: i.status.code().to_owned(),
        }
    }
}

impl TryFrom<IdentityRepr> for Identity {
    type Error = InsError;

    fn try_from(r: IdentityRepr) -> Result<Self, Self::Error> {
        Ok(Identity {
            matricule: r.matricule,
            oid: r.oid.parse()?,
            traits: r.traits,
            status: IdentityStatus::from_code(&r.status)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: u16, m: u8, d: u8) -> BirthDate {
        BirthDate::new(y, m, d).unwrap()
    }

    fn dominique() -> Identity {
        Identity {
            matricule: Matricule::parse("279035121518989").unwrap(),
            oid: InsOid::TestNir,
            traits: Traits {
                birth_name: "PAT-TROIS".into(),
                birth_given_names: vec!["DOMINIQUE".into(), "MARIE-LOUISE".into()],
                sex: Sex::F,
                birth_date: date(1979, 3, 28),
                birth_place_cog: "51215".into(),
                birth_place_name: "DOMPREMY".into(),
            },
            status: IdentityStatus::Qualifiee,
        }
    }

    /// An identity with the matricule built from `first13`, traits otherwise from `dominique`.
    fn with_matricule(first13: &str) -> Identity {
        let mut id = dominique();
        id.matricule = Matricule::from_first13(first13).unwrap();
        id
    }

    #[test]
    fn dates() {
        assert!(BirthDate::new(2000, 2, 29).is_ok());
        assert!(BirthDate::new(2024, 2, 29).is_ok());
        assert!(BirthDate::new(1900, 2, 29).is_err());
        assert!(BirthDate::new(2023, 2, 29).is_err());
        assert!(BirthDate::new(2023, 4, 31).is_err());
        assert!(BirthDate::new(2023, 12, 31).is_ok());
        assert!(BirthDate::new(2023, 0, 1).is_err());
        assert!(BirthDate::new(2023, 13, 1).is_err());
        assert!(BirthDate::new(2023, 1, 0).is_err());
        assert!(BirthDate::new(1849, 12, 31).is_err());
        assert!(BirthDate::new(2101, 1, 1).is_err());
        assert_eq!(BirthDate::new(1850, 1, 1), Ok(BirthDate::MIN));
        assert_eq!(BirthDate::new(2100, 12, 31), Ok(BirthDate::MAX));
        let err = BirthDate::new(2023, 2, 29).unwrap_err();
        assert_eq!(
            err,
            InsError::ImpossibleDate {
                year: 2023,
                month: 2,
                day: 29
            }
        );
        assert_eq!(
            err.to_string(),
            "impossible birth date 2023-02-29: expected a real date between 1850 and 2100"
        );
        let d = date(1979, 3, 28);
        assert_eq!((d.year(), d.month(), d.day()), (1979, 3, 28));
        assert_eq!(d.to_hl7(), "19790328");
        assert_eq!(d.to_iso(), "1979-03-28");
        assert_eq!(d.to_string(), "1979-03-28");
        assert!(date(1979, 3, 28) < date(1979, 4, 1));
    }

    #[test]
    fn date_parsing() {
        assert_eq!(BirthDate::parse("1979-03-28"), Ok(date(1979, 3, 28)));
        assert_eq!(BirthDate::parse("19790328"), Ok(date(1979, 3, 28)));
        assert_eq!(" 19790328\n".parse::<BirthDate>(), Ok(date(1979, 3, 28)));
        assert_eq!(
            BirthDate::parse("1979-02-30"),
            Err(InsError::ImpossibleDate {
                year: 1979,
                month: 2,
                day: 30
            })
        );
        for bad in [
            "",
            "1979-3-28",
            "1979/03/28",
            "197903281",
            "1979-03-2x",
            "+9790328",
            "1979-0３-2",
        ] {
            assert_eq!(
                BirthDate::parse(bad),
                Err(InsError::BadDateFormat { found: bad.into() }),
                "{bad}"
            );
        }
        assert_eq!(
            BirthDate::parse("28/03/1979").unwrap_err().to_string(),
            "bad date \"28/03/1979\": expected YYYY-MM-DD or YYYYMMDD"
        );
    }

    #[test]
    fn traits_check() {
        let mut t = dominique().traits;
        assert_eq!(t.check(), Ok(()));
        assert_eq!(t.first_given_name(), "DOMINIQUE");
        assert_eq!(t.given_names_list(), "DOMINIQUE MARIE-LOUISE");

        t.birth_name = "  ".into();
        let err = t.check().unwrap_err();
        assert_eq!(err, InsError::EmptyTrait { name: "birth_name" });
        assert_eq!(
            err.to_string(),
            "empty INS trait: birth_name must not be empty"
        );

        let mut t = dominique().traits;
        t.birth_given_names.clear();
        assert_eq!(
            t.check(),
            Err(InsError::EmptyTrait {
                name: "birth_given_names"
            })
        );
        t.birth_given_names = vec!["MARIE".into(), "".into()];
        assert_eq!(
            t.check(),
            Err(InsError::EmptyTrait {
                name: "birth_given_names"
            })
        );

        let mut t = dominique().traits;
        t.birth_place_cog = "5121".into();
        let err = t.check().unwrap_err();
        assert_eq!(
            err,
            InsError::BadCog {
                found: "5121".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "bad COG code \"5121\": expected 5 digits, or 2A/2B followed by 3 digits"
        );
    }

    #[test]
    fn cog_shapes() {
        for ok in ["51215", "2A004", "2B033", "97411", "99134", "01006"] {
            assert_eq!(check_cog(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "5121",
            "512155",
            "2a004",
            "2C004",
            "A2004",
            "2A0B4",
            "5121x",
            "ééééé",
        ] {
            assert_eq!(
                check_cog(bad),
                Err(InsError::BadCog { found: bad.into() }),
                "{bad}"
            );
        }
    }

    #[test]
    fn status_codes() {
        for s in [
            IdentityStatus::Provisoire,
            IdentityStatus::Recuperee,
            IdentityStatus::Validee,
            IdentityStatus::Qualifiee,
        ] {
            assert_eq!(IdentityStatus::from_code(s.code()), Ok(s));
            assert_eq!(s.to_string().parse::<IdentityStatus>(), Ok(s));
            assert_eq!(s.may_transmit_ins(), s == IdentityStatus::Qualifiee);
        }
        let err = IdentityStatus::from_code("qual").unwrap_err();
        assert_eq!(
            err,
            InsError::UnknownStatus {
                found: "qual".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "unknown identity status \"qual\": expected PROV, RECUP, VALI or QUAL"
        );
    }

    #[test]
    fn sexes() {
        assert_eq!(Sex::M.to_string(), "M");
        assert_eq!(Sex::F.display(), "Féminin");
        for (digit, sex) in [(1, Some(Sex::M)), (2, Some(Sex::F)), (3, Some(Sex::M))] {
            assert_eq!(Sex::from_sex_digit(digit), sex);
        }
        for (digit, sex) in [(4, Some(Sex::F)), (7, Some(Sex::M)), (8, Some(Sex::F))] {
            assert_eq!(Sex::from_sex_digit(digit), sex);
        }
        for digit in [0, 5, 6, 9] {
            assert_eq!(Sex::from_sex_digit(digit), None);
        }
    }

    #[test]
    fn consistency() {
        assert_eq!(dominique().check_consistency(), Ok(()));

        let mut id = dominique();
        id.traits.sex = Sex::M;
        let err = id.check_consistency().unwrap_err();
        assert_eq!(
            err,
            InsError::SexMismatch {
                digit: 2,
                expected: Sex::F,
                found: Sex::M
            }
        );
        assert_eq!(
            err.to_string(),
            "sex mismatch: matricule sex digit 2 means F, the traits say M"
        );

        let mut id = dominique();
        id.traits.birth_date = date(1980, 3, 28);
        let err = id.check_consistency().unwrap_err();
        assert_eq!(
            err,
            InsError::BirthYearMismatch {
                matricule: 79,
                year: 1980
            }
        );
        assert_eq!(
            err.to_string(),
            "birth year mismatch: matricule year digits 79 do not match birth date year 1980"
        );
        id.traits.birth_date = date(2079, 3, 28);
        assert_eq!(id.check_consistency(), Ok(()), "only the 2 last digits");

        let mut id = dominique();
        id.traits.birth_date = date(1979, 4, 28);
        let err = id.check_consistency().unwrap_err();
        assert_eq!(
            err,
            InsError::BirthMonthMismatch {
                matricule: 3,
                month: 4
            }
        );
        assert_eq!(
            err.to_string(),
            "birth month mismatch: matricule month 03 does not match birth date month 04"
        );
        // Incomplete civil status: month 20+ is not compared.
        let mut id = with_matricule("2793251215189");
        id.traits.birth_date = date(1979, 7, 1);
        assert_eq!(id.check_consistency(), Ok(()));

        let mut id = dominique();
        id.traits.birth_place_cog = "75056".into();
        let err = id.check_consistency().unwrap_err();
        assert_eq!(
            err,
            InsError::PlaceMismatch {
                matricule: "51215".into(),
                cog: "75056".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "birth place mismatch: matricule place 51215 (positions 6-10) differs from COG 75056"
        );
    }

    #[test]
    fn place_rules() {
        // Born abroad: not compared.
        let mut id = with_matricule("2790399134189");
        id.traits.birth_place_cog = "99127".into();
        assert_eq!(id.check_consistency(), Ok(()));
        // Overseas: department on 3 digits, same 5 characters.
        let mut id = with_matricule("2790397411189");
        id.traits.birth_place_cog = "97411".into();
        assert_eq!(id.check_consistency(), Ok(()));
        id.traits.birth_place_cog = "97412".into();
        assert!(id.check_consistency().is_err());
        // Corsica.
        let mut id = with_matricule("279032A004189");
        id.traits.birth_place_cog = "2A004".into();
        assert_eq!(id.check_consistency(), Ok(()));
        id.traits.birth_place_cog = "2B004".into();
        assert!(id.check_consistency().is_err());
        // Corsica before 1976: department 20.
        let mut id = with_matricule("2790320033189");
        id.traits.birth_place_cog = "2B033".into();
        assert_eq!(id.check_consistency(), Ok(()));
        id.traits.birth_place_cog = "2B034".into();
        assert!(id.check_consistency().is_err());
        // Algeria before independence: department 91-94, COG of the country.
        let mut id = with_matricule("2790391352189");
        id.traits.birth_place_cog = "99352".into();
        assert_eq!(id.check_consistency(), Ok(()));
        id.traits.birth_place_cog = "75056".into();
        assert!(id.check_consistency().is_err());
    }

    #[test]
    fn serde_shapes() {
        let id = dominique();
        let json = serde_json::to_value(&id).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "matricule": "279035121518989",
                "oid": "1.2.250.1.213.1.4.10",
                "oid_label": "INS-NIR de test",
                "traits": {
                    "birth_name": "PAT-TROIS",
                    "birth_given_names": ["DOMINIQUE", "MARIE-LOUISE"],
                    "sex": "F",
                    "birth_date": "1979-03-28",
                    "birth_place_cog": "51215",
                    "birth_place_name": "DOMPREMY"
                },
                "status": "QUAL"
            })
        );
        let back: Identity = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, id);

        let mut no_label = json.clone();
        no_label.as_object_mut().unwrap().remove("oid_label");
        assert_eq!(serde_json::from_value::<Identity>(no_label).unwrap(), id);

        let mut bad = json.clone();
        bad["oid"] = "1.2.3".into();
        let err = serde_json::from_value::<Identity>(bad).unwrap_err();
        assert!(err.to_string().contains("unknown INS OID"), "{err}");
        let mut bad = json.clone();
        bad["status"] = "OK".into();
        assert!(serde_json::from_value::<Identity>(bad).is_err());
        let mut bad = json;
        bad["traits"]["birth_date"] = "1979-02-30".into();
        assert!(serde_json::from_value::<Identity>(bad).is_err());

        let d: BirthDate = serde_json::from_str("\"19790328\"").unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"1979-03-28\"");
    }
}
