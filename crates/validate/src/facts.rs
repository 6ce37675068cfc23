//! What the engine reads from a parsed document before running rules: its processing
//! instructions and templateIds (to choose the schematrons) and the facts segur's own rules
//! check.

use segur_xml::{Document, ExpandedName, Name, NodeId, NodeKind};

use crate::own_rules::{Facts, Located, NonXmlText, PatientId, Place};

/// The HL7 v3 namespace of CDA.
pub const HL7: &str = "urn:hl7-org:v3";

/// The facts of one document.
#[derive(Debug, Clone, Default)]
pub struct DocFacts<'d> {
    /// Processing instructions at the top level, as (target, data).
    pub pis: Vec<(String, String)>,
    /// Every `ClinicalDocument/templateId` (`@root`, `@extension`).
    pub template_ids: Vec<(Option<String>, Option<String>)>,
    /// What segur's own rules look at.
    pub own: Facts<'d>,
}

fn child(doc: &Document, parent: NodeId, local: &str) -> Option<NodeId> {
    doc.element_children(parent)
        .find(|&c| doc.namespace_uri(c) == HL7 && doc.local_name(c) == local)
}

fn path(doc: &Document, from: NodeId, steps: &[&str]) -> Option<NodeId> {
    steps.iter().try_fold(from, |n, s| child(doc, n, s))
}

fn attr(doc: &Document, e: NodeId, name: &str) -> Option<String> {
    doc.attribute_value(e, "", name).map(str::to_string)
}

/// Every HL7 `ClinicalDocument` element, wherever it is, in document order: read from the
/// document's index of elements by name (the rules use it too), and none at all when the
/// name was never interned (no document of the process has it).
fn clinical_documents(doc: &Document) -> &[u32] {
    match (Name::lookup(HL7), Name::lookup("ClinicalDocument")) {
        (Some(ns), Some(local)) => doc.elements_named(ExpandedName { ns, local }),
        _ => &[],
    }
}

/// Read the facts of `doc`.
pub fn read(doc: &Document) -> DocFacts<'_> {
    let mut facts = DocFacts::default();
    for c in doc.children(doc.root()) {
        if doc.kind(c) == NodeKind::ProcessingInstruction {
            facts
                .pis
                .push((doc.local_name(c).to_string(), doc.value(c).to_string()));
        }
    }
    let clinical = clinical_documents(doc);
    for &cd in clinical {
        let cd = NodeId::from_index(cd);
        for t in doc
            .element_children(cd)
            .filter(|&t| doc.namespace_uri(t) == HL7 && doc.local_name(t) == "templateId")
        {
            facts
                .template_ids
                .push((attr(doc, t, "root"), attr(doc, t, "extension")));
        }
    }
    let Some(cd) = clinical.first().map(|&i| NodeId::from_index(i)) else {
        return facts;
    };
    let own = &mut facts.own;
    if let Some(t) = child(doc, cd, "typeId") {
        own.type_id = Some(Located {
            value: (
                attr(doc, t, "root").unwrap_or_default(),
                attr(doc, t, "extension").unwrap_or_default(),
            ),
            location: Place::Node(doc, t),
        });
    }
    if let Some(role) = path(doc, cd, &["recordTarget", "patientRole"]) {
        for id in doc
            .element_children(role)
            .filter(|&c| doc.namespace_uri(c) == HL7 && doc.local_name(c) == "id")
        {
            own.patient_ids.push(Located {
                value: PatientId {
                    root: attr(doc, id, "root").unwrap_or_default(),
                    extension: attr(doc, id, "extension"),
                },
                location: Place::Node(doc, id),
            });
        }
        if let Some(patient) = child(doc, role, "patient") {
            if let Some(g) = child(doc, patient, "administrativeGenderCode")
                && let Some(code) = attr(doc, g, "code")
            {
                own.gender = Some(Located {
                    value: code,
                    location: Place::Node(doc, g),
                });
            }
            if let Some(b) = child(doc, patient, "birthTime")
                && let Some(v) = attr(doc, b, "value")
            {
                own.birth_time = Some(Located {
                    value: v,
                    location: Place::Node(doc, b),
                });
            }
            if let Some(county) = path(doc, patient, &["birthplace", "place", "addr", "county"]) {
                own.county = Some(Located {
                    value: doc.string_value(county).into_owned(),
                    location: Place::Node(doc, county),
                });
            }
        }
    }
    if let Some(text) = path(doc, cd, &["component", "nonXMLBody", "text"]) {
        own.non_xml = Some(Located {
            value: NonXmlText {
                media_type: attr(doc, text, "mediaType"),
                representation: attr(doc, text, "representation"),
                content: doc.string_value(text),
            },
            location: Place::Node(doc, text),
        });
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;
    use segur_xml::Limits;

    #[test]
    fn reads_the_ans_n1_example() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/ans/testcontenucda/ExemplesCDA/DOC_NON_STRUCTURE_CDA-R2-N1.xml"
        );
        let bytes = std::fs::read(path).expect("read example");
        let doc = Document::parse(&bytes, &Limits::default()).expect("parse");
        let f = read(&doc);
        assert_eq!(f.pis.iter().filter(|(t, _)| t == "oxygen").count(), 5);
        assert_eq!(f.template_ids.len(), 3);
        assert_eq!(f.own.patient_ids[0].value.root, "1.2.250.1.213.1.4.10");
        assert_eq!(
            f.own.patient_ids[0].value.extension.as_deref(),
            Some("279035121518989")
        );
        assert_eq!(
            f.own.county.as_ref().map(|c| c.value.as_str()),
            Some("51215")
        );
        let body = f.own.non_xml.as_ref().expect("N1 body");
        assert_eq!(body.value.media_type.as_deref(), Some("application/pdf"));
        assert!(body.location.location().line.is_some_and(|l| l > 300));
        assert!(
            crate::own_rules::check(&f.own).is_empty(),
            "{:?}",
            crate::own_rules::check(&f.own)
        );
    }

    /// Any HL7 ClinicalDocument counts, wherever it is and in document order; one in another
    /// namespace does not.
    #[test]
    fn clinical_documents_are_found_at_any_depth_in_document_order() {
        let xml = br#"<?go here?><wrap xmlns:h="urn:hl7-org:v3">
            <ClinicalDocument><templateId root="no-namespace"/></ClinicalDocument>
            <inner><h:ClinicalDocument><h:typeId root="T" extension="E"/>
                <h:templateId root="1"/><h:templateId root="2" extension="x"/>
            </h:ClinicalDocument></inner>
            <h:ClinicalDocument><h:templateId root="3"/></h:ClinicalDocument>
        </wrap>"#;
        let doc = Document::parse(xml, &Limits::default()).expect("parse");
        let f = read(&doc);
        assert_eq!(f.pis, [("go".to_string(), "here".to_string())]);
        let roots: Vec<_> = f
            .template_ids
            .iter()
            .map(|(r, e)| (r.as_deref(), e.as_deref()))
            .collect();
        assert_eq!(
            roots,
            [(Some("1"), None), (Some("2"), Some("x")), (Some("3"), None)]
        );
        let type_id = f.own.type_id.expect("typeId of the first one");
        assert_eq!(type_id.value, ("T".to_string(), "E".to_string()));

        let none = Document::parse(b"<ClinicalDocument xmlns='urn:other'/>", &Limits::default())
            .expect("parse");
        let f = read(&none);
        assert!(f.template_ids.is_empty() && f.own.type_id.is_none());
    }
}
