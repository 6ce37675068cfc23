use crate::traits::days_in_month;
use crate::{BirthDate, Identity, IdentityStatus, InsOid, Matricule, SeedRng, Sex, Traits};

/// Communes of birth: (COG code, name), overseas and Corsica included.
const COMMUNES: &[(&str, &str)] = &[
    ("75056", "PARIS"),
    ("13055", "MARSEILLE"),
    ("69123", "LYON"),
    ("31555", "TOULOUSE"),
    ("06088", "NICE"),
    ("44109", "NANTES"),
    ("67482", "STRASBOURG"),
    ("34172", "MONTPELLIER"),
    ("33063", "BORDEAUX"),
    ("59350", "LILLE"),
    ("35238", "RENNES"),
    ("51454", "REIMS"),
    ("76351", "LE HAVRE"),
    ("42218", "SAINT-ÉTIENNE"),
    ("83137", "TOULON"),
    ("38185", "GRENOBLE"),
    ("21231", "DIJON"),
    ("49007", "ANGERS"),
    ("30189", "NÎMES"),
    ("63113", "CLERMONT-FERRAND"),
    ("37261", "TOURS"),
    ("87085", "LIMOGES"),
    ("80021", "AMIENS"),
    ("57463", "METZ"),
    ("25056", "BESANÇON"),
    ("45234", "ORLÉANS"),
    ("14118", "CAEN"),
    ("54395", "NANCY"),
    ("29019", "BREST"),
    ("76540", "ROUEN"),
    ("64445", "PAU"),
    ("66136", "PERPIGNAN"),
    ("72181", "LE MANS"),
    ("01006", "AMBLÉON"),
    ("51215", "DOMPREMY"),
    ("2A004", "AJACCIO"),
    ("2B033", "BASTIA"),
    ("97411", "SAINT-DENIS"),
    ("97209", "FORT-DE-FRANCE"),
    ("97302", "CAYENNE"),
];

/// Countries of birth: (`99` + INSEE country code, name).
const COUNTRIES: &[(&str, &str)] = &[
    ("99109", "ALLEMAGNE"),
    ("99127", "ITALIE"),
    ("99131", "BELGIQUE"),
    ("99132", "ROYAUME-UNI"),
    ("99134", "ESPAGNE"),
    ("99139", "PORTUGAL"),
    ("99350", "MAROC"),
    ("99351", "TUNISIE"),
    ("99352", "ALGÉRIE"),
];

/// Birth names, as INSi returns them (uppercase).
const FAMILY_NAMES: &[&str] = &[
    "MARTIN",
    "BERNARD",
    "THOMAS",
    "PETIT",
    "ROBERT",
    "RICHARD",
    "DURAND",
    "DUBOIS",
    "MOREAU",
    "LAURENT",
    "SIMON",
    "MICHEL",
    "LEFÈVRE",
    "LEROY",
    "ROUX",
    "DAVID",
    "BERTRAND",
    "MOREL",
    "FOURNIER",
    "GIRARD",
    "BONNET",
    "DUPONT",
    "LAMBERT",
    "FONTAINE",
    "ROUSSEAU",
    "VINCENT",
    "MULLER",
    "FAURE",
    "ANDRÉ",
    "MERCIER",
    "BLANC",
    "GUÉRIN",
    "BOYER",
    "GARNIER",
    "CHEVALIER",
    "FRANÇOIS",
    "LEGRAND",
    "GAUTHIER",
    "PERRIN",
    "CLÉMENT",
    "LE GALL",
    "D'ALMEIDA",
    "N'DIAYE",
    "SAINT-JUST",
    "PAT-TROIS",
];

/// Birth given names for men (uppercase, no spaces: the list is space-separated).
const MALE_GIVEN_NAMES: &[&str] = &[
    "JEAN",
    "PIERRE",
    "MICHEL",
    "ANDRÉ",
    "PHILIPPE",
    "LOUIS",
    "NICOLAS",
    "FRANÇOIS",
    "JEAN-PIERRE",
    "JEAN-MARC",
    "LUC",
    "PAUL",
    "JACQUES",
    "BERNARD",
    "ALAIN",
    "HUGO",
    "LUCAS",
    "THÉO",
    "GABRIEL",
    "JULES",
    "ARTHUR",
    "ÉTIENNE",
    "YVES",
    "RENÉ",
    "DOMINIQUE",
];

/// Birth given names for women (uppercase, no spaces: the list is space-separated).
const FEMALE_GIVEN_NAMES: &[&str] = &[
    "MARIE",
    "JEANNE",
    "FRANÇOISE",
    "MONIQUE",
    "CATHERINE",
    "NATHALIE",
    "ISABELLE",
    "SYLVIE",
    "ANNE",
    "MARIE-LOUISE",
    "MARIE-CLAIRE",
    "ANNE-SOPHIE",
    "CHLOÉ",
    "EMMA",
    "LÉA",
    "MANON",
    "CAMILLE",
    "JULIETTE",
    "HÉLÈNE",
    "CÉLINE",
    "SOPHIE",
    "LOUISE",
    "ALICE",
    "DOMINIQUE",
    "ÉLODIE",
];

/// The latest birth year [`Generator::identity_for`] gives.
const LATEST_YEAR: u16 = 2025;

/// The first 13 characters of a matricule as one number: the decimal digits, a letter of
/// Corsica's 2A/2B read as a zero digit and recorded in the top bits.
fn issued_key(first13: &str) -> u64 {
    let mut n: u64 = 0;
    let mut letters: u64 = 0;
    for b in first13.bytes() {
        let (digit, letter) = match b {
            b'0'..=b'9' => (u64::from(b - b'0'), 0),
            b'A' => (0, 1),
            b'B' => (0, 2),
            _ => (0, 3),
        };
        n = n.wrapping_mul(10).wrapping_add(digit);
        letters = letters.max(letter);
    }
    n | letters << 60
}

/// A seeded generator of valid test identities (OID `1.2.250.1.213.1.4.10`, INS-NIR de test).
///
/// Identities are qualified (`QUAL`), their matricules have a valid key, their traits pass
/// [`Traits::check`] and agree with the matricule ([`Identity::check_consistency`]). The same
/// seed gives the same identities on every platform. Also an endless [`Iterator`].
#[derive(Debug, Clone)]
pub struct Generator {
    rng: SeedRng,
    /// The first 13 characters of the matricules issued so far ([`issued_key`]): a generator
    /// never gives one matricule to two people.
    issued: std::collections::HashSet<u64>,
}

impl Generator {
    /// A generator whose identities depend only on `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: SeedRng::new(seed),
            issued: std::collections::HashSet::new(),
        }
    }

    /// The next identity.
    ///
    /// Random sex, birth date between 1930-01-01 and 2020-12-31, birth place one of about 40
    /// French communes (Corsica and overseas included) or, one time in eight, a foreign
    /// country; order number 001–999; 1 to 3 given names.
    pub fn next_identity(&mut self) -> Identity {
        let sex = if self.rng.below(2) == 0 {
            Sex::M
        } else {
            Sex::F
        };
        let birth_date = self.date_in(1930, 2020, None);
        let (cog, place_name) = if self.rng.below(8) == 0 {
            *self.rng.pick(COUNTRIES)
        } else {
            *self.rng.pick(COMMUNES)
        };
        let sex_digit = match sex {
            Sex::M => 1,
            Sex::F => 2,
        };
        let prefix = format!(
            "{sex_digit}{:02}{:02}{cog}",
            birth_date.year() % 100,
            birth_date.month()
        );
        let mut order = self.rng.range(1, 999);
        let mut tries = 0;
        // Another person of the same sex, birth month and place already has this order
        // number: take the next free one (drawn again only on a collision, so the sequence
        // of a seed is unchanged up to its first one).
        while self
            .issued
            .contains(&issued_key(&format!("{prefix}{order:03}")))
            && tries < 999
        {
            order = order % 999 + 1;
            tries += 1;
        }
        let first13 = format!("{prefix}{order:03}");
        self.issued.insert(issued_key(&first13));
        let matricule = Matricule::from_valid_first13(&first13);
        let traits = self.traits(sex, birth_date, cog.to_owned(), place_name.to_owned());
        Identity {
            matricule,
            oid: InsOid::TestNir,
            traits,
            status: IdentityStatus::Qualifiee,
        }
    }

    /// A test identity (OID INS-NIR de test, `QUAL`) whose traits agree with `matricule`.
    ///
    /// Sex from the sex digit; birth year `20yy` when not after 2025, else `19yy`; the
    /// matricule's month when 01–12, else a random one; random day; COG = positions 6–10
    /// (`20…`, Corsica before 1976, becomes `2A…`); place name from the built-in table, else
    /// `COMMUNE <cog>` or `PAYS <country code>`; random names.
    pub fn identity_for(&mut self, matricule: Matricule) -> Identity {
        let sex = Sex::from_sex_digit(matricule.sex_digit()).unwrap_or(Sex::M);
        let yy = u16::from(matricule.birth_year_2digits());
        let year = if 2000 + yy <= LATEST_YEAR {
            2000 + yy
        } else {
            1900 + yy
        };
        let month = Some(matricule.birth_month()).filter(|m| (1..=12).contains(m));
        let birth_date = self.date_in(year, year, month);
        let place = matricule.place();
        let cog = if matricule.department() == "20" {
            format!("2A{}", &place[2..])
        } else {
            place.to_owned()
        };
        let place_name = COMMUNES
            .iter()
            .chain(COUNTRIES)
            .find(|(code, _)| *code == cog)
            .map(|(_, name)| (*name).to_owned())
            .unwrap_or_else(|| {
                if matricule.born_abroad() {
                    format!("PAYS {}", &cog[2..])
                } else {
                    format!("COMMUNE {cog}")
                }
            });
        let traits = self.traits(sex, birth_date, cog, place_name);
        Identity {
            matricule,
            oid: InsOid::TestNir,
            traits,
            status: IdentityStatus::Qualifiee,
        }
    }

    /// A random valid date with a year in `first..=last` (both in 1850–2100) and the given
    /// month, or a random one.
    fn date_in(&mut self, first: u16, last: u16, month: Option<u8>) -> BirthDate {
        // The bounds are u16 and the month 1-12: the conversions cannot truncate.
        let year = self.rng.range(u64::from(first), u64::from(last)) as u16;
        let month = month.unwrap_or_else(|| self.rng.range(1, 12) as u8);
        let day = self.rng.range(1, u64::from(days_in_month(year, month))) as u8;
        BirthDate::new(year, month, day).unwrap_or(BirthDate::MIN)
    }

    /// Random names around the given sex, date and place.
    fn traits(
        &mut self,
        sex: Sex,
        birth_date: BirthDate,
        birth_place_cog: String,
        birth_place_name: String,
    ) -> Traits {
        let birth_name = (*self.rng.pick(FAMILY_NAMES)).to_owned();
        let pool = match sex {
            Sex::M => MALE_GIVEN_NAMES,
            Sex::F => FEMALE_GIVEN_NAMES,
        };
        let count = self.rng.range(1, 3) as usize;
        let mut birth_given_names: Vec<String> = Vec::with_capacity(count);
        while birth_given_names.len() < count {
            let name = *self.rng.pick(pool);
            if !birth_given_names.iter().any(|g| g == name) {
                birth_given_names.push(name.to_owned());
            }
        }
        Traits {
            birth_name,
            birth_given_names,
            sex,
            birth_date,
            birth_place_cog,
            birth_place_name,
        }
    }
}

/// Endless: every item is [`Generator::next_identity`].
impl Iterator for Generator {
    type Item = Identity;

    fn next(&mut self) -> Option<Identity> {
        Some(self.next_identity())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_valid(id: &Identity) {
        let reparsed = Matricule::parse(id.matricule.as_str());
        assert_eq!(reparsed.as_ref(), Ok(&id.matricule));
        assert_eq!(id.traits.check(), Ok(()), "{id:?}");
        assert_eq!(id.check_consistency(), Ok(()), "{id:?}");
        assert_eq!(id.oid, InsOid::TestNir);
        assert_eq!(id.status, IdentityStatus::Qualifiee);
    }

    #[test]
    fn tables_are_well_formed() {
        for (cog, name) in COMMUNES {
            assert_eq!(crate::check_cog(cog), Ok(()), "{cog}");
            assert!(!cog.starts_with("99") && !name.is_empty());
        }
        for (cog, name) in COUNTRIES {
            assert!(cog.starts_with("99") && cog.len() == 5 && !name.is_empty());
        }
        for names in [FAMILY_NAMES, MALE_GIVEN_NAMES, FEMALE_GIVEN_NAMES] {
            for name in names {
                assert!(
                    !name.trim().is_empty() && name.to_uppercase() == *name,
                    "{name}"
                );
            }
        }
        for name in MALE_GIVEN_NAMES.iter().chain(FEMALE_GIVEN_NAMES) {
            assert!(!name.contains(' '), "{name}");
        }
    }

    #[test]
    fn no_matricule_is_given_twice() {
        // 200,000 identities of one seed held 193 repeated matricules before.
        let mut seen = std::collections::HashSet::new();
        for id in Generator::new(1).take(200_000) {
            assert!(seen.insert(id.matricule.to_string()), "{}", id.matricule);
        }
        assert_ne!(issued_key("2302A00100100"), issued_key("2302B00100100"));
        assert_ne!(issued_key("2302A00100100"), issued_key("2302000100100"));
    }

    #[test]
    fn generated_identities_are_valid() {
        let mut abroad = 0;
        let mut corsica = 0;
        for id in Generator::new(7).take(2000) {
            assert_valid(&id);
            let d = id.traits.birth_date;
            assert!(d >= BirthDate::new(1930, 1, 1).unwrap());
            assert!(d <= BirthDate::new(2020, 12, 31).unwrap());
            assert!((1..=3).contains(&id.traits.birth_given_names.len()));
            assert!((1..=999).contains(&id.matricule.order_number()));
            assert!([1, 2].contains(&id.matricule.sex_digit()));
            abroad += usize::from(id.matricule.born_abroad());
            corsica += usize::from(id.matricule.department().starts_with('2'));
        }
        assert!(abroad > 100 && abroad < 500, "{abroad}");
        assert!(corsica > 0);
    }

    #[test]
    fn same_seed_same_identities() {
        let a: Vec<Identity> = Generator::new(42).take(50).collect();
        let b: Vec<Identity> = Generator::new(42).take(50).collect();
        assert_eq!(a, b);
        let c: Vec<Identity> = Generator::new(43).take(50).collect();
        assert_ne!(a, c);
    }

    #[test]
    fn seed_zero_is_pinned() {
        // Pins the generator's output: a change here changes every generated document.
        let ids: Vec<Identity> = Generator::new(0).take(3).collect();
        let summary: Vec<String> = ids
            .iter()
            .map(|id| {
                format!(
                    "{} {} {} {} {}",
                    id.matricule,
                    id.traits.birth_name,
                    id.traits.given_names_list(),
                    id.traits.birth_date,
                    id.traits.birth_place_cog
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                "208083523875313 FRANÇOIS MANON JEANNE ANNE 2008-08-05 35238",
                "260087635125166 ROUSSEAU HÉLÈNE 1960-08-25 76351",
                "171129935114301 GUÉRIN ALAIN THÉO HUGO 1971-12-25 99351",
            ]
        );
        assert_eq!(Generator::new(0).next_identity(), ids[0]);
    }

    #[test]
    fn identity_for_agrees_with_the_matricule() {
        let mut g = Generator::new(1);
        for text in [
            "279035121518989",
            "212017231012386",
            "185012A012345",
            "299122B045678",
            "1792075056123",
            "2999999134001",
            "1250597411001",
            "7262520004001",
            "8000199999999",
            "3301291352001",
            "4451012345678",
        ] {
            let m = if text.len() == 15 {
                Matricule::parse(text).unwrap()
            } else {
                Matricule::from_first13(text).unwrap()
            };
            let id = g.identity_for(m.clone());
            assert_eq!(id.matricule, m);
            assert_valid(&id);
            assert!(id.traits.birth_date.year() <= LATEST_YEAR);
        }
        let id = g.identity_for(Matricule::parse("279035121518989").unwrap());
        assert_eq!(id.traits.birth_place_name, "DOMPREMY");
        assert_eq!(id.traits.birth_date.year(), 1979);
        assert_eq!(id.traits.birth_date.month(), 3);
        assert_eq!(id.traits.sex, Sex::F);
        let id = g.identity_for(Matricule::from_first13("1250512345678").unwrap());
        assert_eq!(id.traits.birth_place_name, "COMMUNE 12345");
        assert_eq!(id.traits.birth_date.year(), 2025);
        let id = g.identity_for(Matricule::from_first13("1260599999678").unwrap());
        assert_eq!(id.traits.birth_place_name, "PAYS 999");
        assert_eq!(id.traits.birth_date.year(), 1926);
        let id = g.identity_for(Matricule::from_first13("1450520033678").unwrap());
        assert_eq!(id.traits.birth_place_cog, "2A033");
    }
}
