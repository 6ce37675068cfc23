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

mod error;
mod generate;
mod matricule;
mod rng;
mod traits;

pub use error::InsError;
pub use generate::Generator;
pub use matricule::{InsOid, Matricule, MatriculeKind, nir_key};
pub use rng::SeedRng;
pub use traits::{BirthDate, Identity, IdentityStatus, Sex, Traits};
