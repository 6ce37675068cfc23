//! INS — *Identité Nationale de Santé*, the French national health identity.
//!
//! An INS is a **matricule** (the person's NIR, *numéro d'inscription au répertoire*, or while
//! one is awaited a NIA, *numéro identifiant d'attente*: 13 characters and a 2-digit key), the
//! **OID** of the authority that assigned it, and the **traits** returned by the CNAM INSi
//! service (birth name, birth given names, first given name, sex, birth date, COG code of the
//! birth place). The identity **status** (RNIV) says how far the identity was checked; only a
//! *qualifiée* identity may carry its INS in an exchange.
//!
//! This crate parses and checks matricules ([`Matricule::parse`]), names the OIDs ([`InsOid`]),
//! models the traits ([`Traits`]) and status ([`IdentityStatus`]), and generates valid test
//! identities from a seed ([`Generator`]), reproducibly ([`SeedRng`]).
//!
//! ```
//! use segur_ins::{Generator, InsError, InsOid, Matricule};
//!
//! let m = Matricule::parse("2 79 03 51 215 189 89")?;
//! assert_eq!((m.as_str(), m.key(), m.place()), ("279035121518989", 89, "51215"));
//! assert_eq!(
//!     Matricule::parse("279035121518988").unwrap_err().to_string(),
//!     "bad key: 279035121518988 has key 88, expected 89"
//! );
//! assert_eq!("urn:oid:1.2.250.1.213.1.4.10".parse::<InsOid>()?, InsOid::TestNir);
//!
//! let id = Generator::new(42).next_identity();
//! id.traits.check()?;
//! id.check_consistency()?;
//! # Ok::<(), InsError>(())
//! ```

#![warn(missing_docs)]

mod error;
mod generate;
mod matricule;
mod rng;
mod traits;

pub use error::InsError;
pub use generate::Generator;
pub use matricule::{InsOid, Matricule, MatriculeKind, nir_key};
pub use rng::SeedRng;
pub use traits::{BirthDate, Identity, IdentityStatus, Sex, Traits, check_cog};
