//! `segur ins check` and `segur ins gen`.

use segur_ins::{Generator, Identity, InsOid, Matricule};
use serde::Serialize;

use crate::args::{Format, InsCommand};
use crate::{Failure, Outcome, out};

/// One generated identity, as `segur ins gen` prints it (a stable JSON shape).
#[derive(Debug, Serialize)]
pub(crate) struct IdentityJson<'a> {
    matricule: &'a str,
    oid: &'static str,
    oid_label: &'static str,
    status: &'static str,
    birth_name: &'a str,
    given_names: &'a [String],
    first_given_name: &'a str,
    sex: &'static str,
    birth_date: String,
    birth_place_cog: &'a str,
    birth_place_name: &'a str,
}

impl<'a> IdentityJson<'a> {
    pub(crate) fn of(id: &'a Identity) -> Self {
        let t = &id.traits;
        Self {
            matricule: id.matricule.as_str(),
            oid: id.oid.oid(),
            oid_label: id.oid.label(),
            status: id.status.code(),
            birth_name: &t.birth_name,
            given_names: &t.birth_given_names,
            first_given_name: t.first_given_name(),
            sex: t.sex.code(),
            birth_date: t.birth_date.to_iso(),
            birth_place_cog: &t.birth_place_cog,
            birth_place_name: &t.birth_place_name,
        }
    }
}

#[derive(Debug, Serialize)]
struct CheckJson<'a> {
    input: &'a str,
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    matricule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oid: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oid_label: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub(crate) fn run(cmd: InsCommand) -> Result<Outcome, Failure> {
    match cmd {
        InsCommand::Check {
            matricule,
            oid,
            format,
        } => check(&matricule, oid.as_deref(), format),
        InsCommand::Gen { count, seed } => {
            let mut generator = Generator::new(seed);
            for _ in 0..count {
                if crate::stdout_closed() {
                    break;
                }
                let id = generator.next_identity();
                let line = serde_json::to_string(&IdentityJson::of(&id))
                    .map_err(|e| Failure::infra(format!("cannot serialize an identity: {e}")))?;
                out(format_args!("{line}"))?;
            }
            Ok(Outcome::Ok)
        }
    }
}

fn check(input: &str, oid: Option<&str>, format: Format) -> Result<Outcome, Failure> {
    let oid = match oid.map(InsOid::from_oid).transpose() {
        Ok(o) => o,
        Err(e) => {
            return Err(Failure::usage(format!(
                "--oid {}: {e}",
                oid.unwrap_or_default()
            )));
        }
    };
    let parsed = Matricule::parse(input);
    match format {
        Format::Json => {
            let report = match &parsed {
                Ok(m) => CheckJson {
                    input,
                    valid: true,
                    matricule: Some(m.to_string()),
                    key: Some(m.key()),
                    oid: oid.map(InsOid::oid),
                    oid_label: oid.map(InsOid::label),
                    error: None,
                },
                Err(e) => CheckJson {
                    input,
                    valid: false,
                    matricule: None,
                    key: None,
                    oid: oid.map(InsOid::oid),
                    oid_label: oid.map(InsOid::label),
                    error: Some(e.to_string()),
                },
            };
            let line = serde_json::to_string(&report)
                .map_err(|e| Failure::infra(format!("cannot serialize: {e}")))?;
            out(format_args!("{line}"))?;
        }
        Format::Text => match &parsed {
            Ok(m) => {
                let authority = oid
                    .map(|o| format!(", OID {} ({})", o.oid(), o.label()))
                    .unwrap_or_default();
                out(format_args!("valid: {m} (key {:02}){authority}", m.key()))?;
            }
            Err(e) => out(format_args!(
                "invalid: {}: {}",
                segur_finding::printable(input),
                segur_finding::printable(&e.to_string())
            ))?,
        },
    }
    Ok(if parsed.is_ok() {
        Outcome::Ok
    } else {
        Outcome::Invalid
    })
}
