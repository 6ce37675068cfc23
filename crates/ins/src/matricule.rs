use std::fmt;
use std::str::FromStr;

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
    /// The four INS OIDs, in OID order (`.8`, `.9`, `.10`, `.11`).
    pub const ALL: [InsOid; 4] = [InsOid::Nir, InsOid::Nia, InsOid::TestNir, InsOid::DemoNir];

    /// The dotted OID.
    pub fn oid(self) -> &'static str {
        match self {
            InsOid::Nir => "1.2.250.1.213.1.4.8",
            InsOid::Nia => "1.2.250.1.213.1.4.9",
            InsOid::TestNir => "1.2.250.1.213.1.4.10",
            InsOid::DemoNir => "1.2.250.1.213.1.4.11",
        }
    }

    /// The OID as a FHIR `identifier.system`: `urn:oid:` followed by the dotted OID.
    pub fn fhir_system(self) -> &'static str {
        match self {
            InsOid::Nir => "urn:oid:1.2.250.1.213.1.4.8",
            InsOid::Nia => "urn:oid:1.2.250.1.213.1.4.9",
            InsOid::TestNir => "urn:oid:1.2.250.1.213.1.4.10",
            InsOid::DemoNir => "urn:oid:1.2.250.1.213.1.4.11",
        }
    }

    /// The OID for a dotted string, or an error naming the known OIDs.
    pub fn from_oid(oid: &str) -> Result<Self, InsError> {
        InsOid::ALL
            .into_iter()
            .find(|o| o.oid() == oid)
            .ok_or_else(|| InsError::UnknownOid {
                found: oid.to_owned(),
            })
    }

    /// A short label: `INS-NIR`, `INS-NIA`, `INS-NIR de test`, `INS-NIR de démonstration`.
    pub fn label(self) -> &'static str {
        match self {
            InsOid::Nir => "INS-NIR",
            InsOid::Nia => "INS-NIA",
            InsOid::TestNir => "INS-NIR de test",
            InsOid::DemoNir => "INS-NIR de démonstration",
        }
    }

    /// The kind of matricule this authority assigns.
    pub fn kind(self) -> MatriculeKind {
        match self {
            InsOid::Nia => MatriculeKind::Nia,
            InsOid::Nir | InsOid::TestNir | InsOid::DemoNir => MatriculeKind::Nir,
        }
    }
}

/// Writes the dotted OID.
impl fmt::Display for InsOid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.oid())
    }
}

/// Parses a dotted OID, optionally prefixed with `urn:oid:` (any case), surrounding whitespace
/// ignored.
impl FromStr for InsOid {
    type Err = InsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let dotted = match t.get(..8) {
            Some(p) if p.eq_ignore_ascii_case("urn:oid:") => &t[8..],
            _ => t,
        };
        InsOid::from_oid(dotted).map_err(|_| InsError::UnknownOid {
            found: s.to_owned(),
        })
    }
}

/// A checked 15-character matricule INS (13 characters and the 2-digit key).
///
/// The text is normalized: no whitespace, Corsica's department in uppercase (`2A`, `2B`).
/// Serialized as that 15-character string; deserialization runs [`Matricule::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Matricule {
    text: String,
}

impl Matricule {
    /// Parse and check a matricule: length, characters, sex digit, month, department, key.
    ///
    /// Surrounding whitespace is ignored, single spaces between characters are removed
    /// (`2 79 03 51 215 189 89`), and `2a`/`2b` are read as `2A`/`2B`.
    pub fn parse(text: &str) -> Result<Self, InsError> {
        let m = Matricule::parse_lenient(text)?;
        m.check_key()?;
        Ok(m)
    }

    /// Like [`Matricule::parse`] but without the key check, for replaying samples whose keys
    /// are known to be wrong; [`Matricule::check_key`] then reports the key error, if any.
    pub fn parse_lenient(text: &str) -> Result<Self, InsError> {
        let mut chars = normalize(text)?;
        if chars.len() != 15 {
            return Err(InsError::BadLength { found: chars.len() });
        }
        check_characters(&mut chars)?;
        check_semantics(&chars)?;
        Ok(Matricule {
            text: chars.into_iter().collect(),
        })
    }

    /// The matricule made of `first13` (13 characters, same normalization as
    /// [`Matricule::parse`]) and its computed key.
    pub fn from_first13(first13: &str) -> Result<Self, InsError> {
        let mut chars = normalize(first13)?;
        if chars.len() != 13 {
            return Err(InsError::BadBodyLength { found: chars.len() });
        }
        check_characters(&mut chars)?;
        check_semantics(&chars)?;
        let key = key_of(&chars);
        let mut text: String = chars.into_iter().collect();
        text.push_str(&format!("{key:02}"));
        Ok(Matricule { text })
    }

    /// The matricule of 13 characters known to be valid (digits, uppercase `2A`/`2B`, good
    /// sex digit and month), with its computed key.
    pub(crate) fn from_valid_first13(first13: &str) -> Self {
        let chars: Vec<char> = first13.chars().collect();
        let key = key_of(&chars);
        Matricule {
            text: format!("{first13}{key:02}"),
        }
    }

    /// The 15 characters.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The 2-digit key.
    pub fn key(&self) -> u8 {
        two_digits(&self.text[13..15])
    }

    /// The key computed from the 13 first characters (equal to [`Matricule::key`] unless the
    /// matricule came from [`Matricule::parse_lenient`]).
    pub fn expected_key(&self) -> u8 {
        let chars: Vec<char> = self.text[..13].chars().collect();
        key_of(&chars)
    }

    /// `Ok` when the key matches the 13 first characters, else [`InsError::BadKey`].
    pub fn check_key(&self) -> Result<(), InsError> {
        let (found, expected) = (self.key(), self.expected_key());
        if found == expected {
            Ok(())
        } else {
            Err(InsError::BadKey {
                matricule: self.text.clone(),
                found,
                expected,
            })
        }
    }

    /// The 13 first characters (the matricule without its key).
    pub fn first13(&self) -> &str {
        &self.text[..13]
    }

    /// The sex digit (position 1): 1, 3, 7 for men, 2, 4, 8 for women.
    pub fn sex_digit(&self) -> u8 {
        self.text.as_bytes()[0] - b'0'
    }

    /// The two last digits of the birth year (positions 2–3).
    pub fn birth_year_2digits(&self) -> u8 {
        two_digits(&self.text[1..3])
    }

    /// The birth month (positions 4–5): 1–12, or 20–99 for an incomplete civil status.
    pub fn birth_month(&self) -> u8 {
        two_digits(&self.text[3..5])
    }

    /// The department (positions 6–7, 2 characters): two digits, `2A` or `2B`; `97`/`98` for
    /// overseas (whose third department digit is position 8), `99` when born abroad.
    pub fn department(&self) -> &str {
        &self.text[5..7]
    }

    /// The birth place (positions 6–10): the commune's COG code, or `99` and the INSEE
    /// country code when born abroad.
    pub fn place(&self) -> &str {
        &self.text[5..10]
    }

    /// Whether the person was born abroad (department `99`).
    pub fn born_abroad(&self) -> bool {
        self.department() == "99"
    }

    /// The order number (positions 11–13).
    pub fn order_number(&self) -> u16 {
        self.text[10..13]
            .bytes()
            .fold(0u16, |n, b| n * 10 + u16::from(b - b'0'))
    }
}

impl std::fmt::Display for Matricule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Same as [`Matricule::parse`].
impl FromStr for Matricule {
    type Err = InsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Matricule::parse(s)
    }
}

/// Same as [`Matricule::parse`].
impl TryFrom<String> for Matricule {
    type Error = InsError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Matricule::parse(&s)
    }
}

/// Same as [`Matricule::parse`].
impl TryFrom<&str> for Matricule {
    type Error = InsError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Matricule::parse(s)
    }
}

/// The 15 normalized characters.
impl From<Matricule> for String {
    fn from(m: Matricule) -> String {
        m.text
    }
}

/// The key of the 13 first characters of a NIR/NIA: `97 − (N mod 97)`, with Corsica's
/// `2A` read as `19` and `2B` as `18`.
///
/// The body is normalized as by [`Matricule::parse`] and must have 13 characters (digits,
/// `2A`/`2B` at positions 6–7); the sex digit and month are not checked. The key is in 1–97.
pub fn nir_key(first13: &str) -> Result<u8, InsError> {
    let mut chars = normalize(first13)?;
    if chars.len() != 13 {
        return Err(InsError::BadBodyLength { found: chars.len() });
    }
    check_characters(&mut chars)?;
    Ok(key_of(&chars))
}

/// Trim, and remove single spaces between characters; a run of spaces is refused.
fn normalize(text: &str) -> Result<Vec<char>, InsError> {
    let mut out = Vec::with_capacity(15);
    let mut after_space = false;
    for c in text.trim().chars() {
        if c == ' ' {
            if after_space {
                return Err(InsError::BadCharacter {
                    position: out.len() + 1,
                    found: ' ',
                });
            }
            after_space = true;
        } else {
            after_space = false;
            out.push(c);
        }
    }
    Ok(out)
}

/// Digits everywhere, except `2A`/`2B` (any case, normalized to uppercase) at positions 6–7.
fn check_characters(chars: &mut [char]) -> Result<(), InsError> {
    for (i, c) in chars.iter().enumerate() {
        let allowed = if i == 5 || i == 6 {
            c.is_ascii_alphanumeric()
        } else {
            c.is_ascii_digit()
        };
        if !allowed {
            return Err(InsError::BadCharacter {
                position: i + 1,
                found: *c,
            });
        }
    }
    if chars.len() >= 7 && !(chars[5].is_ascii_digit() && chars[6].is_ascii_digit()) {
        let (a, b) = (chars[5].to_ascii_uppercase(), chars[6].to_ascii_uppercase());
        if a == '2' && (b == 'A' || b == 'B') {
            chars[6] = b;
        } else {
            return Err(InsError::BadDepartment {
                found: [chars[5], chars[6]].iter().collect(),
            });
        }
    }
    Ok(())
}

/// Sex digit and month, on characters already checked by [`check_characters`].
fn check_semantics(chars: &[char]) -> Result<(), InsError> {
    if !matches!(chars[0], '1' | '2' | '3' | '4' | '7' | '8') {
        return Err(InsError::BadSex { found: chars[0] });
    }
    let month = digit(chars[3]) * 10 + digit(chars[4]);
    if month == 0 || (13..=19).contains(&month) {
        return Err(InsError::BadMonth {
            found: [chars[3], chars[4]].iter().collect(),
        });
    }
    Ok(())
}

/// The key of 13 checked characters.
fn key_of(chars: &[char]) -> u8 {
    let n = chars[..13].iter().enumerate().fold(0u64, |n, (i, &c)| {
        let d = match (i, c) {
            (5, '2') if chars[6] == 'A' || chars[6] == 'B' => 1,
            (6, 'A') => 9,
            (6, 'B') => 8,
            _ => u64::from(digit(c)),
        };
        n * 10 + d
    });
    // n < 10^13, so the result is in 1..=97 and fits a u8.
    (97 - n % 97) as u8
}

fn digit(c: char) -> u8 {
    c.to_digit(10).map_or(0, |d| d as u8)
}

fn two_digits(s: &str) -> u8 {
    s.bytes().fold(0u8, |n, b| n * 10 + (b - b'0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key by the formula, on a body already written with digits only.
    fn formula(digits13: &str) -> u8 {
        let n: u64 = digits13.parse().unwrap();
        (97 - n % 97) as u8
    }

    #[test]
    fn test_vectors() {
        let m = Matricule::parse("279035121518989").unwrap();
        assert_eq!(m.key(), 89);
        assert_eq!(m.expected_key(), 89);
        assert_eq!(nir_key("2790351215189"), Ok(89));
        let m = Matricule::parse("212017231012386").unwrap();
        assert_eq!(m.key(), 86);
        assert_eq!(nir_key("2120172310123"), Ok(86));
        assert_eq!(formula("2790351215189"), 89);
    }

    #[test]
    fn corsica_keys_follow_the_formula() {
        // 2A is read as 19, 2B as 18.
        let key_2a = formula("1850119012345");
        assert_eq!(key_2a, 15);
        assert_eq!(nir_key("185012A012345"), Ok(key_2a));
        let m = Matricule::parse(&format!("185012A012345{key_2a:02}")).unwrap();
        assert_eq!(m.department(), "2A");
        assert_eq!(m.place(), "2A012");

        let key_2b = formula("2991218045678");
        assert_eq!(key_2b, 2);
        assert_eq!(nir_key("299122B045678"), Ok(key_2b));
        let m = Matricule::parse(&format!("299122b045678{key_2b:02}")).unwrap();
        assert_eq!(m.as_str(), "299122B04567802", "lowercase normalized");
        // The same body with 2A has another key.
        assert!(Matricule::parse("299122A04567802").is_err());
    }

    #[test]
    fn accessors() {
        let m = Matricule::parse("279035121518989").unwrap();
        assert_eq!(m.sex_digit(), 2);
        assert_eq!(m.birth_year_2digits(), 79);
        assert_eq!(m.birth_month(), 3);
        assert_eq!(m.department(), "51");
        assert_eq!(m.place(), "51215");
        assert_eq!(m.order_number(), 189);
        assert_eq!(m.first13(), "2790351215189");
        assert!(!m.born_abroad());
        assert_eq!(m.to_string(), "279035121518989");
        assert_eq!(String::from(m.clone()), "279035121518989");
        assert_eq!("279035121518989".parse::<Matricule>(), Ok(m.clone()));
        assert_eq!(Matricule::try_from("279035121518989"), Ok(m));
    }

    #[test]
    fn whitespace_and_spaces() {
        let m = Matricule::parse("  2 79 03 51 215 189 89\n").unwrap();
        assert_eq!(m.as_str(), "279035121518989");
        assert_eq!(
            Matricule::parse("2 79  03 51 215 189 89"),
            Err(InsError::BadCharacter {
                position: 4,
                found: ' '
            })
        );
        assert_eq!(
            Matricule::parse("2\t79035121518989"),
            Err(InsError::BadLength { found: 16 })
        );
        assert_eq!(
            Matricule::parse("2\t7903512151898"),
            Err(InsError::BadCharacter {
                position: 2,
                found: '\t'
            })
        );
    }

    #[test]
    fn from_first13() {
        let m = Matricule::from_first13("2 79 03 51 215 189").unwrap();
        assert_eq!(m.as_str(), "279035121518989");
        assert_eq!(
            Matricule::from_first13("279035121518989"),
            Err(InsError::BadBodyLength { found: 15 })
        );
        assert_eq!(
            Matricule::from_first13("5790351215189"),
            Err(InsError::BadSex { found: '5' })
        );
    }

    #[test]
    fn lenient_parse_defers_the_key() {
        // An ANS sample whose key does not verify.
        let m = Matricule::parse_lenient("147720425367411").unwrap();
        assert_eq!(m.key(), 11);
        let expected = formula("1477204253674");
        assert_eq!(m.expected_key(), expected);
        assert_eq!(
            m.check_key(),
            Err(InsError::BadKey {
                matricule: "147720425367411".into(),
                found: 11,
                expected
            })
        );
        assert!(Matricule::parse("147720425367411").is_err());
        assert_eq!(
            Matricule::parse_lenient("14772042536741"),
            Err(InsError::BadLength { found: 14 })
        );
    }

    #[test]
    fn errors_and_messages() {
        let cases: &[(&str, InsError, &str)] = &[
            (
                "27903512151898",
                InsError::BadLength { found: 14 },
                "bad length: a matricule INS has 15 characters (13 + 2-digit key), got 14",
            ),
            ("", InsError::BadLength { found: 0 }, "got 0"),
            (
                "27903X121518989",
                InsError::BadDepartment { found: "X1".into() },
                "bad department \"X1\"",
            ),
            (
                "2790351215189A9",
                InsError::BadCharacter {
                    position: 14,
                    found: 'A',
                },
                "bad character 'A' at position 14: a matricule INS has digits only (2A/2B allowed at positions 6-7)",
            ),
            (
                "279035121518é89",
                InsError::BadCharacter {
                    position: 13,
                    found: 'é',
                },
                "bad character 'é' at position 13",
            ),
            (
                "579035121518989",
                InsError::BadSex { found: '5' },
                "bad sex digit '5' at position 1: expected 1, 2, 3, 4, 7 or 8",
            ),
            (
                "279005121518989",
                InsError::BadMonth { found: "00".into() },
                "bad month \"00\" at positions 4-5: expected 01-12, or 20-99 for an incomplete civil status",
            ),
            (
                "279135121518989",
                InsError::BadMonth { found: "13".into() },
                "bad month \"13\"",
            ),
            (
                "279032C21518989",
                InsError::BadDepartment { found: "2C".into() },
                "bad department \"2C\" at positions 6-7: expected two digits, 2A or 2B",
            ),
            (
                "279035121518988",
                InsError::BadKey {
                    matricule: "279035121518988".into(),
                    found: 88,
                    expected: 89,
                },
                "bad key: 279035121518988 has key 88, expected 89",
            ),
        ];
        for (input, error, message) in cases {
            let got = Matricule::parse(input).unwrap_err();
            assert_eq!(&got, error, "{input}");
            assert!(got.to_string().contains(message), "{input}: {got}");
        }
    }

    #[test]
    fn letters_outside_the_department() {
        assert_eq!(
            Matricule::parse("2A9035121518989"),
            Err(InsError::BadCharacter {
                position: 2,
                found: 'A'
            })
        );
        assert_eq!(
            Matricule::parse("27903A221518989"),
            Err(InsError::BadDepartment { found: "A2".into() })
        );
        assert_eq!(
            Matricule::parse("279032-21518989"),
            Err(InsError::BadCharacter {
                position: 7,
                found: '-'
            })
        );
        assert_eq!(
            Matricule::parse("27903512A518989"),
            Err(InsError::BadCharacter {
                position: 9,
                found: 'A'
            })
        );
    }

    #[test]
    fn months_and_sexes() {
        for month in ["01", "12", "20", "30", "42", "50", "99"] {
            let body = format!("179{month}75056123");
            let key = nir_key(&body).unwrap();
            assert!(
                Matricule::parse(&format!("{body}{key:02}")).is_ok(),
                "{month}"
            );
        }
        for month in ["00", "13", "19"] {
            let body = format!("179{month}75056123");
            let key = nir_key(&body).unwrap();
            assert_eq!(
                Matricule::parse(&format!("{body}{key:02}")),
                Err(InsError::BadMonth {
                    found: month.into()
                })
            );
        }
        for sex in 0..=9u8 {
            let body = format!("{sex}790175056123");
            let key = nir_key(&body).unwrap();
            let ok = Matricule::parse(&format!("{body}{key:02}")).is_ok();
            assert_eq!(ok, [1, 2, 3, 4, 7, 8].contains(&sex), "{sex}");
        }
    }

    #[test]
    fn nir_key_checks_its_input() {
        assert_eq!(nir_key("123"), Err(InsError::BadBodyLength { found: 3 }));
        assert_eq!(
            nir_key("123").unwrap_err().to_string(),
            "bad length: the body of a matricule INS has 13 characters (without the key), got 3"
        );
        assert_eq!(
            nir_key("27903512151x9"),
            Err(InsError::BadCharacter {
                position: 12,
                found: 'x'
            })
        );
        assert_eq!(nir_key("0000000000000"), Ok(97));
        assert_eq!(nir_key("9999999999999"), Ok(formula("9999999999999")));
    }

    #[test]
    fn oids() {
        let table = [
            (
                InsOid::Nir,
                "1.2.250.1.213.1.4.8",
                "INS-NIR",
                MatriculeKind::Nir,
            ),
            (
                InsOid::Nia,
                "1.2.250.1.213.1.4.9",
                "INS-NIA",
                MatriculeKind::Nia,
            ),
            (
                InsOid::TestNir,
                "1.2.250.1.213.1.4.10",
                "INS-NIR de test",
                MatriculeKind::Nir,
            ),
            (
                InsOid::DemoNir,
                "1.2.250.1.213.1.4.11",
                "INS-NIR de démonstration",
                MatriculeKind::Nir,
            ),
        ];
        assert_eq!(InsOid::ALL.len(), table.len());
        for (oid, dotted, label, kind) in table {
            assert_eq!(oid.oid(), dotted);
            assert_eq!(oid.to_string(), dotted);
            assert_eq!(oid.fhir_system(), format!("urn:oid:{dotted}"));
            assert_eq!(oid.label(), label);
            assert_eq!(oid.kind(), kind);
            assert_eq!(InsOid::from_oid(dotted), Ok(oid));
            assert_eq!(dotted.parse::<InsOid>(), Ok(oid));
            assert_eq!(format!(" urn:oid:{dotted} ").parse::<InsOid>(), Ok(oid));
            assert_eq!(format!("URN:OID:{dotted}").parse::<InsOid>(), Ok(oid));
        }
    }

    #[test]
    fn unknown_oid() {
        let err = InsOid::from_oid("1.2.250.1.213.1.4.2").unwrap_err();
        assert_eq!(
            err,
            InsError::UnknownOid {
                found: "1.2.250.1.213.1.4.2".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "unknown INS OID \"1.2.250.1.213.1.4.2\": expected 1.2.250.1.213.1.4.8 (INS-NIR), \
             1.2.250.1.213.1.4.9 (INS-NIA), 1.2.250.1.213.1.4.10 (INS-NIR de test) or \
             1.2.250.1.213.1.4.11 (INS-NIR de démonstration)"
        );
        assert!(InsOid::from_oid(" 1.2.250.1.213.1.4.8").is_err());
        assert_eq!(
            "urn:oid:1.2.3".parse::<InsOid>(),
            Err(InsError::UnknownOid {
                found: "urn:oid:1.2.3".into()
            })
        );
        assert!("urn:oid".parse::<InsOid>().is_err());
        assert!("éééééééééé".parse::<InsOid>().is_err());
    }

    #[test]
    fn serde_as_string() {
        let m = Matricule::parse("279035121518989").unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"279035121518989\"");
        let back: Matricule = serde_json::from_str("\"2 79 03 51 215 189 89\"").unwrap();
        assert_eq!(back, m);
        let err = serde_json::from_str::<Matricule>("\"279035121518988\"").unwrap_err();
        assert!(err.to_string().contains("expected 89"), "{err}");
    }
}
