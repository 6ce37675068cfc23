//! Document bodies: N1 (`nonXMLBody`) and N3 (`structuredBody` of sections and entries).

use std::io::Write;

use crate::CdaError;
use crate::model::{Address, Code, InstanceId, Telecom};
use crate::time::Timestamp;
use crate::xml::Xml;

/// The body of a document.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// N1: a non-structured body (`nonXMLBody/text`, base64).
    NonXml(NonXmlBody),
    /// N3: structured sections.
    Structured(Vec<Section>),
}

/// `nonXMLBody/text`: a media file in base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonXmlBody {
    /// `@mediaType` (`application/pdf`).
    pub media_type: String,
    /// The file's bytes (written in base64).
    pub data: Vec<u8>,
}

/// A section (`component/section`) with its narrative, entries and sub-sections.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// `templateId/@root`s, in order.
    pub templates: Vec<&'static str>,
    /// `id`.
    pub id: Option<InstanceId>,
    /// `code`.
    pub code: Code,
    /// `title`.
    pub title: Option<String>,
    /// `text`, the human-readable narrative block.
    pub text: Narrative,
    /// `entry`s.
    pub entries: Vec<Entry>,
    /// Sub-sections (`component/section`).
    pub sections: Vec<Section>,
}

/// A narrative block (`section/text`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Narrative {
    /// No `text` element.
    None,
    /// A plain paragraph.
    Paragraph(String),
    /// A table with a header row; cells may carry a `content/@ID` for entries to reference.
    Table {
        /// Column headings.
        head: Vec<String>,
        /// Rows of cells.
        rows: Vec<Vec<Cell>>,
    },
    /// `renderMultiMedia` of an `observationMedia` (by its `@ID`).
    Media(String),
}

/// A table cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// `content/@ID`, when an entry references this cell.
    pub id: Option<String>,
    /// The text.
    pub text: String,
}

impl Cell {
    /// A cell of plain text.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            id: None,
            text: text.into(),
        }
    }

    /// A cell wrapped in `content ID="id"`.
    pub fn with_id(id: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            id: Some(id.into()),
            text: text.into(),
        }
    }
}

/// An `entry`, with its optional `@typeCode` and entry-level templateIds (XD-LAB puts them there).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// `@typeCode` (`DRIV`, …).
    pub type_code: Option<&'static str>,
    /// `entry/templateId`s.
    pub templates: Vec<&'static str>,
    /// The clinical statement.
    pub statement: Statement,
}

impl Entry {
    /// An entry with neither typeCode nor entry-level templateIds.
    pub fn of(statement: Statement) -> Self {
        Self {
            type_code: None,
            templates: Vec::new(),
            statement,
        }
    }
}

/// The clinical statements the harness writes.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `observation`.
    Observation(Observation),
    /// `act`.
    Act(Act),
    /// `organizer`.
    Organizer(Organizer),
    /// `procedure`.
    Procedure(Procedure),
    /// `substanceAdministration`.
    Medication(Medication),
    /// `observationMedia`.
    Media(ObservationMedia),
}

/// `effectiveTime` forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effective {
    /// No element.
    None,
    /// `@value`.
    At(Timestamp),
    /// `low`/`high`.
    Interval(Timestamp, Timestamp),
    /// `nullFlavor="NA"`.
    NotApplicable,
}

/// Observation values (`value xsi:type=…`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `PQ`: a decimal string and a UCUM unit.
    Pq {
        /// The number as written.
        value: String,
        /// UCUM unit.
        unit: String,
    },
    /// `CD` with a code.
    Cd(Code),
    /// `CD` carrying only `originalText/reference`.
    CdText(String),
    /// `BL`.
    Bl(bool),
    /// `REAL nullFlavor="NA"`.
    RealNotApplicable,
}

/// A reference range (`referenceRange/observationRange`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// Low bound.
    pub low: String,
    /// High bound.
    pub high: String,
    /// Unit of both bounds.
    pub unit: String,
}

/// `observation`.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// templateIds.
    pub templates: Vec<&'static str>,
    /// `id`.
    pub id: Option<InstanceId>,
    /// `code`.
    pub code: Code,
    /// `code/originalText/reference/@value` (a `#id`).
    pub code_text_ref: Option<String>,
    /// `text/reference/@value`.
    pub text_ref: Option<String>,
    /// `statusCode/@code`.
    pub status: &'static str,
    /// `effectiveTime`.
    pub effective: Effective,
    /// `value`.
    pub value: Option<Value>,
    /// `interpretationCode`.
    pub interpretation: Option<Code>,
    /// `methodCode/originalText/reference/@value`.
    pub method_ref: Option<String>,
    /// `referenceRange`.
    pub range: Option<Range>,
    /// `targetSiteCode` (`None` writes nothing; `Some(None)` writes `nullFlavor="NASK"`).
    pub target_site: Option<Option<Code>>,
}

/// `act`, with `entryRelationship`s and participants.
#[derive(Debug, Clone, PartialEq)]
pub struct Act {
    /// templateIds.
    pub templates: Vec<&'static str>,
    /// `id`.
    pub id: Option<InstanceId>,
    /// `code`.
    pub code: Code,
    /// `text/reference/@value`.
    pub text_ref: Option<String>,
    /// `statusCode/@code`.
    pub status: &'static str,
    /// `effectiveTime`.
    pub effective: Effective,
    /// `participant typeCode="DST"`: a destination location.
    pub destination: Option<Destination>,
    /// `entryRelationship typeCode="COMP"` observations.
    pub components: Vec<Observation>,
}

/// A destination facility (`participant typeCode="DST"/participantRole classCode="SDLOC"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// `participant/templateId` (the ANS puts the FINESS of the destination there).
    pub structure: InstanceId,
    /// `participantRole/id`.
    pub id: InstanceId,
    /// Facility type.
    pub facility_type: Code,
    /// Address.
    pub addr: Address,
    /// Telecom.
    pub telecom: Telecom,
    /// `playingEntity/name`.
    pub name: String,
}

/// `organizer` with component statements.
#[derive(Debug, Clone, PartialEq)]
pub struct Organizer {
    /// `@classCode` (`CLUSTER`, `BATTERY`).
    pub class_code: &'static str,
    /// templateIds.
    pub templates: Vec<&'static str>,
    /// `id`.
    pub id: Option<InstanceId>,
    /// `code`.
    pub code: Code,
    /// `statusCode/@code`.
    pub status: &'static str,
    /// `effectiveTime`.
    pub effective: Effective,
    /// `component`s.
    pub components: Vec<Statement>,
}

/// `procedure`.
#[derive(Debug, Clone, PartialEq)]
pub struct Procedure {
    /// templateIds.
    pub templates: Vec<&'static str>,
    /// `id`.
    pub id: Option<InstanceId>,
    /// `code`, or `nullFlavor="NA"` when `None`.
    pub code: Option<Code>,
    /// `text/reference/@value`.
    pub text_ref: Option<String>,
    /// `statusCode/@code`.
    pub status: &'static str,
    /// `effectiveTime`.
    pub effective: Effective,
}

/// `substanceAdministration` (FR-Traitement).
#[derive(Debug, Clone, PartialEq)]
pub struct Medication {
    /// templateIds.
    pub templates: Vec<&'static str>,
    /// `id`.
    pub id: Option<InstanceId>,
    /// `text/reference/@value`.
    pub text_ref: Option<String>,
    /// `effectiveTime xsi:type="IVL_TS"` low/high.
    pub period: (Timestamp, Timestamp),
    /// `consumable/manufacturedProduct/templateId`s.
    pub product_templates: Vec<&'static str>,
    /// The product's code, or unknown.
    pub product: Option<Code>,
}

/// `observationMedia`: an attached file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservationMedia {
    /// `@ID`, referenced by `renderMultiMedia`.
    pub xml_id: String,
    /// `value/@mediaType`.
    pub media_type: String,
    /// The file's bytes, written in base64.
    pub data: Vec<u8>,
}

fn id_attrs(id: &InstanceId) -> Vec<(&str, &str)> {
    let mut a = vec![("root", id.root.as_str())];
    if let Some(e) = &id.extension {
        a.push(("extension", e.as_str()));
    }
    a
}

fn code_attrs(c: &Code) -> Vec<(&str, &str)> {
    let mut a = vec![
        ("code", c.code.as_str()),
        ("displayName", c.display.as_str()),
        ("codeSystem", c.system.as_str()),
    ];
    if let Some(n) = &c.system_name {
        a.push(("codeSystemName", n.as_str()));
    }
    a
}

impl<W: Write> Xml<W> {
    pub(crate) fn id(&mut self, name: &str, id: &InstanceId) -> Result<(), CdaError> {
        self.empty(name, &id_attrs(id))
    }

    pub(crate) fn code(&mut self, name: &str, c: &Code) -> Result<(), CdaError> {
        self.empty(name, &code_attrs(c))
    }

    fn templates(&mut self, roots: &[&str]) -> Result<(), CdaError> {
        for r in roots {
            self.empty("templateId", &[("root", r)])?;
        }
        Ok(())
    }

    fn reference(&mut self, name: &str, target: &str) -> Result<(), CdaError> {
        self.open(name, &[])?;
        self.empty("reference", &[("value", target)])?;
        self.close(name)
    }

    fn effective(&mut self, e: Effective, xsi_ivl: bool) -> Result<(), CdaError> {
        match e {
            Effective::None => Ok(()),
            Effective::At(t) => self.empty("effectiveTime", &[("value", &t.to_hl7())]),
            Effective::NotApplicable => self.empty("effectiveTime", &[("nullFlavor", "NA")]),
            Effective::Interval(lo, hi) => {
                if xsi_ivl {
                    self.open("effectiveTime", &[("xsi:type", "IVL_TS")])?;
                } else {
                    self.open("effectiveTime", &[])?;
                }
                self.empty("low", &[("value", &lo.to_hl7())])?;
                self.empty("high", &[("value", &hi.to_hl7())])?;
                self.close("effectiveTime")
            }
        }
    }

    pub(crate) fn address(&mut self, a: &Address) -> Result<(), CdaError> {
        match &a.use_code {
            Some(u) => self.open("addr", &[("use", u)])?,
            None => self.open("addr", &[])?,
        }
        self.leaf("houseNumber", &[], &a.house_number)?;
        self.leaf("streetName", &[], &a.street_name)?;
        self.leaf("postalCode", &[], &a.postal_code)?;
        self.leaf("city", &[], &a.city)?;
        if let Some(c) = &a.country {
            self.leaf("country", &[], c)?;
        }
        self.close("addr")
    }

    pub(crate) fn telecom(&mut self, t: &Telecom) -> Result<(), CdaError> {
        match &t.use_code {
            Some(u) => self.empty("telecom", &[("value", &t.value), ("use", u)]),
            None => self.empty("telecom", &[("value", &t.value)]),
        }
    }

    pub(crate) fn body(&mut self, body: &Body) -> Result<(), CdaError> {
        self.open("component", &[])?;
        match body {
            Body::NonXml(b) => {
                self.open("nonXMLBody", &[])?;
                self.leaf(
                    "text",
                    &[("mediaType", &b.media_type), ("representation", "B64")],
                    &base64_encode(&b.data),
                )?;
                self.close("nonXMLBody")?;
            }
            Body::Structured(sections) => {
                self.open("structuredBody", &[])?;
                for s in sections {
                    self.section(s)?;
                }
                self.close("structuredBody")?;
            }
        }
        self.close("component")
    }

    fn section(&mut self, s: &Section) -> Result<(), CdaError> {
        self.open("component", &[])?;
        self.open("section", &[])?;
        self.templates(&s.templates)?;
        if let Some(id) = &s.id {
            self.id("id", id)?;
        }
        self.code("code", &s.code)?;
        if let Some(t) = &s.title {
            self.leaf("title", &[], t)?;
        }
        self.narrative(&s.text)?;
        for e in &s.entries {
            match e.type_code {
                Some(tc) => self.open("entry", &[("typeCode", tc)])?,
                None => self.open("entry", &[])?,
            }
            self.templates(&e.templates)?;
            self.statement(&e.statement)?;
            self.close("entry")?;
        }
        for sub in &s.sections {
            self.section(sub)?;
        }
        self.close("section")?;
        self.close("component")
    }

    fn narrative(&mut self, n: &Narrative) -> Result<(), CdaError> {
        match n {
            Narrative::None => Ok(()),
            Narrative::Paragraph(p) => self.leaf("text", &[], p),
            Narrative::Media(id) => {
                self.open("text", &[])?;
                self.empty("renderMultiMedia", &[("referencedObject", id)])?;
                self.close("text")
            }
            Narrative::Table { head, rows } => {
                self.open("text", &[])?;
                self.open("table", &[("border", "0")])?;
                self.open("thead", &[])?;
                self.open("tr", &[])?;
                for h in head {
                    self.leaf("th", &[], h)?;
                }
                self.close("tr")?;
                self.close("thead")?;
                self.open("tbody", &[])?;
                for row in rows {
                    self.open("tr", &[])?;
                    for cell in row {
                        match &cell.id {
                            Some(id) => {
                                self.open("td", &[])?;
                                self.leaf("content", &[("ID", id)], &cell.text)?;
                                self.close("td")?;
                            }
                            None => self.leaf("td", &[], &cell.text)?,
                        }
                    }
                    self.close("tr")?;
                }
                self.close("tbody")?;
                self.close("table")?;
                self.close("text")
            }
        }
    }

    fn statement(&mut self, s: &Statement) -> Result<(), CdaError> {
        match s {
            Statement::Observation(o) => self.observation(o),
            Statement::Act(a) => self.act(a),
            Statement::Organizer(o) => self.organizer(o),
            Statement::Procedure(p) => self.procedure(p),
            Statement::Medication(m) => self.medication(m),
            Statement::Media(m) => {
                self.open(
                    "observationMedia",
                    &[("classCode", "OBS"), ("moodCode", "EVN"), ("ID", &m.xml_id)],
                )?;
                self.leaf(
                    "value",
                    &[("mediaType", &m.media_type), ("representation", "B64")],
                    &base64_encode(&m.data),
                )?;
                self.close("observationMedia")
            }
        }
    }

    fn observation(&mut self, o: &Observation) -> Result<(), CdaError> {
        self.open("observation", &[("classCode", "OBS"), ("moodCode", "EVN")])?;
        self.templates(&o.templates)?;
        if let Some(id) = &o.id {
            self.id("id", id)?;
        }
        match &o.code_text_ref {
            Some(r) => {
                self.open("code", &code_attrs(&o.code))?;
                self.reference("originalText", r)?;
                self.close("code")?;
            }
            None => self.code("code", &o.code)?,
        }
        if let Some(r) = &o.text_ref {
            self.reference("text", r)?;
        }
        self.empty("statusCode", &[("code", o.status)])?;
        self.effective(o.effective, false)?;
        match &o.value {
            None => {}
            Some(Value::Pq { value, unit }) => self.empty(
                "value",
                &[("xsi:type", "PQ"), ("value", value), ("unit", unit)],
            )?,
            Some(Value::Cd(c)) => {
                let mut a = vec![("xsi:type", "CD")];
                a.extend(code_attrs(c));
                self.empty("value", &a)?
            }
            Some(Value::CdText(r)) => {
                self.open("value", &[("xsi:type", "CD")])?;
                self.reference("originalText", r)?;
                self.close("value")?
            }
            Some(Value::Bl(b)) => self.empty(
                "value",
                &[
                    ("xsi:type", "BL"),
                    ("value", if *b { "true" } else { "false" }),
                ],
            )?,
            Some(Value::RealNotApplicable) => {
                self.empty("value", &[("xsi:type", "REAL"), ("nullFlavor", "NA")])?
            }
        }
        if let Some(i) = &o.interpretation {
            self.code("interpretationCode", i)?;
        }
        if let Some(m) = &o.method_ref {
            self.open("methodCode", &[])?;
            self.reference("originalText", m)?;
            self.close("methodCode")?;
        }
        match &o.target_site {
            None => {}
            Some(None) => self.empty("targetSiteCode", &[("nullFlavor", "NASK")])?,
            Some(Some(c)) => self.code("targetSiteCode", c)?,
        }
        if let Some(r) = &o.range {
            self.open("referenceRange", &[("typeCode", "REFV")])?;
            self.open(
                "observationRange",
                &[("classCode", "OBS"), ("moodCode", "EVN.CRT")],
            )?;
            self.open("value", &[("xsi:type", "IVL_PQ")])?;
            self.empty("low", &[("value", &r.low), ("unit", &r.unit)])?;
            self.empty("high", &[("value", &r.high), ("unit", &r.unit)])?;
            self.close("value")?;
            self.empty(
                "interpretationCode",
                &[
                    ("code", "N"),
                    ("displayName", "Normal"),
                    ("codeSystem", crate::model::oids::INTERPRETATION),
                ],
            )?;
            self.close("observationRange")?;
            self.close("referenceRange")?;
        }
        self.close("observation")
    }

    fn act(&mut self, a: &Act) -> Result<(), CdaError> {
        self.open("act", &[("classCode", "ACT"), ("moodCode", "EVN")])?;
        self.templates(&a.templates)?;
        if let Some(id) = &a.id {
            self.id("id", id)?;
        }
        self.code("code", &a.code)?;
        if let Some(r) = &a.text_ref {
            self.reference("text", r)?;
        }
        self.empty("statusCode", &[("code", a.status)])?;
        self.effective(a.effective, false)?;
        if let Some(d) = &a.destination {
            self.open("participant", &[("typeCode", "DST")])?;
            self.id("templateId", &d.structure)?;
            self.open("participantRole", &[("classCode", "SDLOC")])?;
            self.id("id", &d.id)?;
            self.code("code", &d.facility_type)?;
            self.address(&d.addr)?;
            self.telecom(&d.telecom)?;
            self.open("playingEntity", &[("classCode", "ENT")])?;
            self.leaf("name", &[], &d.name)?;
            self.close("playingEntity")?;
            self.close("participantRole")?;
            self.close("participant")?;
        }
        for o in &a.components {
            self.open("entryRelationship", &[("typeCode", "COMP")])?;
            self.observation(o)?;
            self.close("entryRelationship")?;
        }
        self.close("act")
    }

    fn organizer(&mut self, o: &Organizer) -> Result<(), CdaError> {
        self.open(
            "organizer",
            &[("classCode", o.class_code), ("moodCode", "EVN")],
        )?;
        self.templates(&o.templates)?;
        if let Some(id) = &o.id {
            self.id("id", id)?;
        }
        self.code("code", &o.code)?;
        self.empty("statusCode", &[("code", o.status)])?;
        self.effective(o.effective, false)?;
        for c in &o.components {
            self.open("component", &[("typeCode", "COMP")])?;
            self.statement(c)?;
            self.close("component")?;
        }
        self.close("organizer")
    }

    fn procedure(&mut self, p: &Procedure) -> Result<(), CdaError> {
        self.open("procedure", &[("classCode", "PROC"), ("moodCode", "EVN")])?;
        self.templates(&p.templates)?;
        if let Some(id) = &p.id {
            self.id("id", id)?;
        }
        match &p.code {
            Some(c) => self.code("code", c)?,
            None => self.empty("code", &[("nullFlavor", "NA")])?,
        }
        if let Some(r) = &p.text_ref {
            self.reference("text", r)?;
        }
        self.empty("statusCode", &[("code", p.status)])?;
        self.effective(p.effective, false)?;
        self.close("procedure")
    }

    fn medication(&mut self, m: &Medication) -> Result<(), CdaError> {
        self.open(
            "substanceAdministration",
            &[("classCode", "SBADM"), ("moodCode", "EVN")],
        )?;
        self.templates(&m.templates)?;
        if let Some(id) = &m.id {
            self.id("id", id)?;
        }
        self.empty("code", &[("nullFlavor", "NA")])?;
        if let Some(r) = &m.text_ref {
            self.reference("text", r)?;
        }
        self.empty("statusCode", &[("code", "completed")])?;
        self.effective(Effective::Interval(m.period.0, m.period.1), true)?;
        self.empty("effectiveTime", &[("operator", "A")])?;
        self.empty("routeCode", &[("nullFlavor", "NA")])?;
        self.open("consumable", &[])?;
        self.open("manufacturedProduct", &[])?;
        self.templates(&m.product_templates)?;
        self.open("manufacturedMaterial", &[])?;
        match &m.product {
            Some(c) => {
                self.code("code", c)?;
                self.leaf("name", &[], &c.display)?;
            }
            None => {
                self.empty("code", &[("nullFlavor", "UNK")])?;
                self.empty("name", &[("nullFlavor", "UNK")])?;
            }
        }
        self.close("manufacturedMaterial")?;
        self.close("manufacturedProduct")?;
        self.close("consumable")?;
        self.close("substanceAdministration")
    }
}

/// Standard base64 (RFC 4648) without line breaks.
pub(crate) fn base64_encode(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}
