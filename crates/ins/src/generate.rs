use crate::{Identity, SeedRng};

/// A seeded generator of valid test identities (OID `1.2.250.1.213.1.4.10`, INS-NIR de test).
#[derive(Debug, Clone)]
pub struct Generator {
    rng: SeedRng,
}

impl Generator {
    /// A generator whose identities depend only on `seed`.
    pub fn new(seed: u64) -> Self {
        Self { rng: SeedRng::new(seed) }
    }

    /// The next identity.
    pub fn next_identity(&mut self) -> Identity {
        todo!("{:?}", self.rng)
    }
}
