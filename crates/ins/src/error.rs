use thiserror::Error;

use crate::Sex;

/// Why a matricule, an OID or an identity trait was refused.
///
/// Positions are 1-based and count characters of the matricule once surrounding whitespace and
/// internal single spaces have been removed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum InsError {
    /// The matricule does not have 15 characters (13 + a 2-digit key).
    #[error("bad length: a matricule INS has 15 characters (13 + 2-digit key), got {found}")]
    BadLength {
        /// Number of characters found.
        found: usize,
    },
    /// The body given to [`nir_key`](crate::nir_key) does not have 13 characters.
    #[error(
        "bad length: the body of a matricule INS has 13 characters (without the key), got {found}"
    )]
    BadBodyLength {
        /// Number of characters found.
        found: usize,
    },
    /// A character that is not allowed at this position (digits only, except `2A`/`2B` at
    /// positions 6–7).
    #[error(
        "bad character {found:?} at position {position}: a matricule INS has digits only (2A/2B allowed at positions 6-7)"
    )]
    BadCharacter {
        /// 1-based position of the character.
        position: usize,
        /// The character found.
        found: char,
    },
    /// The sex digit (position 1) is not 1, 2, 3, 4, 7 or 8.
    #[error("bad sex digit {found:?} at position 1: expected 1, 2, 3, 4, 7 or 8")]
    BadSex {
        /// The character found.
        found: char,
    },
    /// The birth month (positions 4–5) is 00 or 13–19.
    #[error(
        "bad month \"{found}\" at positions 4-5: expected 01-12, or 20-99 for an incomplete civil status"
    )]
    BadMonth {
        /// The two characters found.
        found: String,
    },
    /// The department (positions 6–7) is neither two digits nor `2A`/`2B`.
    #[error("bad department \"{found}\" at positions 6-7: expected two digits, 2A or 2B")]
    BadDepartment {
        /// The two characters found.
        found: String,
    },
    /// The key (positions 14–15) does not match the 13 first characters.
    #[error("bad key: {matricule} has key {found:02}, expected {expected:02}")]
    BadKey {
        /// The normalized matricule (15 characters).
        matricule: String,
        /// The key it carries.
        found: u8,
        /// The key computed from its 13 first characters.
        expected: u8,
    },
    /// The OID is not one of the four INS OIDs.
    #[error(
        "unknown INS OID \"{found}\": expected 1.2.250.1.213.1.4.8 (INS-NIR), 1.2.250.1.213.1.4.9 (INS-NIA), 1.2.250.1.213.1.4.10 (INS-NIR de test) or 1.2.250.1.213.1.4.11 (INS-NIR de démonstration)"
    )]
    UnknownOid {
        /// The OID found.
        found: String,
    },
    /// The date does not exist in the Gregorian calendar, or its year is outside 1850–2100.
    #[error(
        "impossible birth date {year:04}-{month:02}-{day:02}: expected a real date between 1850 and 2100"
    )]
    ImpossibleDate {
        /// Year.
        year: u16,
        /// Month.
        month: u8,
        /// Day.
        day: u8,
    },
    /// A date string is neither `YYYY-MM-DD` nor `YYYYMMDD`.
    #[error("bad date \"{found}\": expected YYYY-MM-DD or YYYYMMDD")]
    BadDateFormat {
        /// The text found.
        found: String,
    },
    /// A mandatory INS trait is empty.
    #[error("empty INS trait: {name} must not be empty")]
    EmptyTrait {
        /// Name of the trait (`birth_name`, `birth_given_names`).
        name: &'static str,
    },
    /// A COG code is not 5 digits, nor `2A`/`2B` followed by 3 digits.
    #[error("bad COG code \"{found}\": expected 5 digits, or 2A/2B followed by 3 digits")]
    BadCog {
        /// The code found.
        found: String,
    },
    /// An identity status code is not `PROV`, `RECUP`, `VALI` or `QUAL`.
    #[error("unknown identity status \"{found}\": expected PROV, RECUP, VALI or QUAL")]
    UnknownStatus {
        /// The code found.
        found: String,
    },
    /// The matricule's sex digit contradicts the sex trait.
    #[error("sex mismatch: matricule sex digit {digit} means {expected}, the traits say {found}")]
    SexMismatch {
        /// The matricule's sex digit.
        digit: u8,
        /// The sex the digit means.
        expected: Sex,
        /// The sex trait.
        found: Sex,
    },
    /// The matricule's birth year (positions 2–3) contradicts the birth date.
    #[error(
        "birth year mismatch: matricule year digits {matricule:02} do not match birth date year {year}"
    )]
    BirthYearMismatch {
        /// The matricule's 2-digit year.
        matricule: u8,
        /// The birth date's year.
        year: u16,
    },
    /// The matricule's birth month (positions 4–5, when 01–12) contradicts the birth date.
    #[error(
        "birth month mismatch: matricule month {matricule:02} does not match birth date month {month:02}"
    )]
    BirthMonthMismatch {
        /// The matricule's month.
        matricule: u8,
        /// The birth date's month.
        month: u8,
    },
    /// The matricule's birth place (positions 6–10) contradicts the COG of the birth place.
    #[error(
        "birth place mismatch: matricule place {matricule} (positions 6-10) differs from COG {cog}"
    )]
    PlaceMismatch {
        /// The matricule's positions 6–10.
        matricule: String,
        /// The COG trait.
        cog: String,
    },
}
