//! Generated professionals and structures with well-formed national identifiers.

use segur_ins::SeedRng;

use crate::model::{
    Address, Code, InstanceId, Organization, PersonName, Professional, Telecom, oids,
};

/// The Luhn check digit of a string of ASCII digits (RPPS and FINESS use it); callers check
/// that `digits` holds digits only.
fn luhn_digit(digits: &str) -> u8 {
    let mut sum = 0u32;
    for (i, c) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(c.wrapping_sub(b'0') % 10);
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    ((10 - sum % 10) % 10) as u8
}

/// Whether a string of digits ends with a valid Luhn check digit.
pub fn luhn_valid(digits: &str) -> bool {
    digits.len() >= 2
        && digits.bytes().all(|b| b.is_ascii_digit())
        && luhn_digit(&digits[..digits.len() - 1]) == digits.as_bytes()[digits.len() - 1] - b'0'
}

fn digits(rng: &mut SeedRng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.below(10) as u8))
        .collect()
}

/// A random RPPS number (11 digits, the last a Luhn key), first digit 1.
pub fn rpps(rng: &mut SeedRng) -> String {
    let body = format!("1{}", digits(rng, 9));
    format!("{body}{}", luhn_digit(&body))
}

/// A random FINESS number (9 digits, the last a Luhn key) in department `dept` (digits only).
pub fn finess(rng: &mut SeedRng, dept: &str) -> String {
    let body = format!("{dept}{}", digits(rng, 8 - dept.len()));
    format!("{body}{}", luhn_digit(&body))
}

/// A random UUID (version 4 layout), upper case as in the ANS examples.
pub fn uuid(rng: &mut SeedRng) -> String {
    let hi = rng.next_u64();
    let lo = rng.next_u64();
    let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "{:08X}-{:04X}-{:04X}-{:04X}-{:012X}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}

/// A random OID under `2.25` (an OID made from a 128-bit UUID, ITU-T X.667), usable as a
/// document id and as an XDS uniqueId.
pub fn uuid_oid(rng: &mut SeedRng) -> String {
    let v = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
    format!("2.25.{}", v >> 1 | 1 << 120)
}

struct Place {
    dept: &'static str,
    postal: &'static str,
    city: &'static str,
    phone_prefix: &'static str,
}

const PLACES: &[Place] = &[
    Place {
        dept: "75",
        postal: "75014",
        city: "PARIS",
        phone_prefix: "01",
    },
    Place {
        dept: "92",
        postal: "92100",
        city: "BOULOGNE-BILLANCOURT",
        phone_prefix: "01",
    },
    Place {
        dept: "69",
        postal: "69003",
        city: "LYON",
        phone_prefix: "04",
    },
    Place {
        dept: "13",
        postal: "13005",
        city: "MARSEILLE",
        phone_prefix: "04",
    },
    Place {
        dept: "33",
        postal: "33000",
        city: "BORDEAUX",
        phone_prefix: "05",
    },
    Place {
        dept: "59",
        postal: "59000",
        city: "LILLE",
        phone_prefix: "03",
    },
    Place {
        dept: "44",
        postal: "44000",
        city: "NANTES",
        phone_prefix: "02",
    },
    Place {
        dept: "67",
        postal: "67000",
        city: "STRASBOURG",
        phone_prefix: "03",
    },
];

const STREETS: &[&str] = &[
    "Rue de la République",
    "Avenue Jean Jaurès",
    "Rue Victor Hugo",
    "Boulevard Pasteur",
    "Rue des Lilas",
    "Place de la Mairie",
    "Rue du Général Leclerc",
    "Avenue des Tilleuls",
];

const GIVEN_PS: &[(&str, &str)] = &[
    ("Claire", "MME"),
    ("Sophie", "MME"),
    ("Nadia", "MME"),
    ("Isabelle", "MME"),
    ("Marc", "M"),
    ("Thomas", "M"),
    ("Karim", "M"),
    ("Philippe", "M"),
];

const FAMILY_PS: &[&str] = &[
    "MARTIN",
    "BERNARD",
    "ROUSSEAU",
    "NGUYEN",
    "LEFEBVRE",
    "GARNIER",
    "CHEVALIER",
    "BENALI",
    "FONTAINE",
    "MOREL",
];

/// What kind of structure to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StructureKind {
    /// Laboratoire de biologie médicale.
    Laboratory,
    /// EHPAD (établissement d'hébergement pour personnes âgées dépendantes).
    Ehpad,
    /// Hospital.
    Hospital,
}

/// A generated structure and its practice setting.
pub fn organization(rng: &mut SeedRng, kind: StructureKind) -> Organization {
    let place = rng.pick(PLACES);
    let (name, setting) = match kind {
        StructureKind::Laboratory => (
            format!("LABORATOIRE DE BIOLOGIE MEDICALE {}", rng.pick(FAMILY_PS)),
            Code::new("AMBULATOIRE", oids::PRACTICE_SETTING, "Ambulatoire"),
        ),
        StructureKind::Ehpad => (
            format!(
                "EHPAD LES {} DE {}",
                rng.pick(&["TILLEULS", "GLYCINES", "CHARMES", "OLIVIERS"]),
                place.city
            ),
            Code::new(
                "ETABLISSEMENT",
                oids::PRACTICE_SETTING,
                "Etablissement de santé",
            ),
        ),
        StructureKind::Hospital => (
            format!("CENTRE HOSPITALIER DE {}", place.city),
            Code::new(
                "ETABLISSEMENT",
                oids::PRACTICE_SETTING,
                "Etablissement de santé",
            ),
        ),
    };
    Organization {
        id: InstanceId::with_ext(oids::STRUCTURE_ID, format!("1{}", finess(rng, place.dept))),
        name,
        telecom: Telecom {
            value: format!("tel:{}{}", place.phone_prefix, digits(rng, 8)),
            use_code: Some("WP".into()),
        },
        addr: Address {
            use_code: None,
            house_number: rng.range(1, 180).to_string(),
            street_name: rng.pick(STREETS).to_string(),
            postal_code: place.postal.into(),
            city: place.city.into(),
            country: None,
        },
        practice_setting: setting,
    }
}

/// A generated professional of `specialty`, working for `organization`.
pub fn professional(
    rng: &mut SeedRng,
    specialty: Code,
    organization: &Organization,
) -> Professional {
    let (given, prefix) = *rng.pick(GIVEN_PS);
    let is_doctor = specialty.code.starts_with("G15_10");
    Professional {
        id: InstanceId::with_ext(oids::PS_ID, format!("8{}", rpps(rng))),
        specialty,
        name: PersonName {
            prefix: Some(prefix.into()),
            given: given.into(),
            family: rng.pick(FAMILY_PS).to_string(),
            suffix: is_doctor.then(|| "DR".to_string()),
        },
        addr: organization.addr.clone(),
        telecom: organization.telecom.clone(),
        organization: organization.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_matches_known_identifiers() {
        // FINESS of the ANS examples and a textbook Luhn number.
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("79927398710"));
        assert!(!luhn_valid("12a4"));
        assert!(!luhn_valid(" "));
        assert!(!luhn_valid(""));
        let mut rng = SeedRng::new(3);
        for _ in 0..100 {
            assert!(luhn_valid(&rpps(&mut rng)));
            let f = finess(&mut rng, "75");
            assert!(luhn_valid(&f));
            assert_eq!(f.len(), 9);
        }
    }

    #[test]
    fn uuid_shape() {
        let mut rng = SeedRng::new(1);
        let u = uuid(&mut rng);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        let o = uuid_oid(&mut rng);
        assert!(o.starts_with("2.25.") && o.len() <= 64, "{o}");
    }
}
