//! Items of a FHIRPath collection: nodes of the JSON resource (with the path they were reached
//! by) and System values (Boolean, String, Integer, Decimal, Date/DateTime/Time, Quantity).

use std::cmp::Ordering;
use std::fmt;
use std::rc::Rc;

use serde_json::Value;

use crate::decimal::Decimal;
use crate::temporal::{Temporal, TemporalKind};

/// A collection, FHIRPath's only kind of value: ordered, possibly empty.
pub type Collection<'a> = Vec<Item<'a>>;

/// One step of the path that reached a node: `identifier[0]`, linked to its parent.
#[derive(Debug)]
pub struct PathSeg<'a> {
    parent: Option<Rc<PathSeg<'a>>>,
    name: &'a str,
    index: Option<usize>,
}

/// Where a node came from, printed as a FHIR element path: `Patient.identifier[0].system`.
#[derive(Clone, Debug)]
pub struct Location<'a>(Rc<PathSeg<'a>>);

impl<'a> Location<'a> {
    /// A root location (a resource type, or any name the caller gives its focus).
    pub fn root(name: &'a str) -> Self {
        Location(Rc::new(PathSeg {
            parent: None,
            name,
            index: None,
        }))
    }

    /// A child step.
    pub fn child(&self, name: &'a str, index: Option<usize>) -> Self {
        Location(Rc::new(PathSeg {
            parent: Some(self.0.clone()),
            name,
            index,
        }))
    }
}

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut segs = Vec::new();
        let mut cur = Some(&self.0);
        while let Some(s) = cur {
            segs.push(s);
            cur = s.parent.as_ref();
        }
        for (i, s) in segs.iter().rev().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            f.write_str(s.name)?;
            if let Some(ix) = s.index {
                write!(f, "[{ix}]")?;
            }
        }
        Ok(())
    }
}

/// A node of the JSON resource: an object (complex element or resource) or a primitive with
/// its `_name` companion (which holds the primitive's `id` and `extension`).
#[derive(Clone, Debug)]
pub struct Node<'a> {
    /// The JSON value; None for a primitive that only has its `_name` companion.
    pub value: Option<&'a Value>,
    /// The `_name` companion of a primitive.
    pub companion: Option<&'a Value>,
    /// The FHIR type, when known (from a model, a choice suffix or `resourceType`).
    pub fhir_type: Option<&'a str>,
    /// How the node was reached.
    pub location: Option<Location<'a>>,
}

impl<'a> Node<'a> {
    /// A resource or any JSON value as a root node: its type is its `resourceType` and its
    /// path starts with it.
    pub fn root(value: &'a Value) -> Self {
        let rt = value.get("resourceType").and_then(Value::as_str);
        Node {
            value: Some(value),
            companion: None,
            fhir_type: rt,
            location: rt.map(Location::root),
        }
    }

    /// Is this a primitive (or a primitive with only extensions)?
    pub fn is_primitive(&self) -> bool {
        !matches!(self.value, Some(Value::Object(_)) | Some(Value::Array(_)))
    }

    /// The FHIR type: the known one, else inferred from the JSON.
    pub fn type_name(&self) -> Option<&'a str> {
        if self.fhir_type.is_some() {
            return self.fhir_type;
        }
        match self.value? {
            Value::Bool(_) => Some("boolean"),
            Value::Number(n) if n.is_i64() || n.is_u64() => Some("integer"),
            Value::Number(_) => Some("decimal"),
            Value::String(_) => Some("string"),
            Value::Object(m) => m.get("resourceType").and_then(Value::as_str),
            _ => None,
        }
    }
}

/// A Quantity: a decimal value and a unit (UCUM code, or a calendar keyword such as `week`).
#[derive(Clone, Debug)]
pub struct Quantity {
    /// The value.
    pub value: Decimal,
    /// The unit; `1` when none was given.
    pub unit: Rc<str>,
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if is_calendar_unit(&self.unit) {
            write!(f, "{} {}", self.value, self.unit)
        } else {
            write!(f, "{} '{}'", self.value, self.unit)
        }
    }
}

/// Calendar duration keywords (`1 year`, `2 days`).
pub fn is_calendar_unit(u: &str) -> bool {
    matches!(
        u,
        "year"
            | "years"
            | "month"
            | "months"
            | "week"
            | "weeks"
            | "day"
            | "days"
            | "hour"
            | "hours"
            | "minute"
            | "minutes"
            | "second"
            | "seconds"
            | "millisecond"
            | "milliseconds"
    )
}

/// One item of a collection.
#[derive(Clone, Debug)]
pub enum Item<'a> {
    /// A node of the input JSON.
    Node(Node<'a>),
    /// System.Boolean
    Boolean(bool),
    /// System.Integer
    Integer(i64),
    /// System.Decimal
    Decimal(Decimal),
    /// System.String
    String(Rc<str>),
    /// System.Date, System.DateTime or System.Time
    Temporal(Temporal),
    /// System.Quantity
    Quantity(Quantity),
    /// The result of `type()`: a namespace and a name.
    Type {
        /// `System` or `FHIR`.
        namespace: &'static str,
        /// The type name.
        name: Rc<str>,
    },
}

impl<'a> Item<'a> {
    /// A String item.
    pub fn string(s: &str) -> Self {
        Item::String(Rc::from(s))
    }

    /// Where the item came from, for a node of the input.
    pub fn location(&self) -> Option<&Location<'a>> {
        match self {
            Item::Node(n) => n.location.as_ref(),
            _ => None,
        }
    }

    /// The JSON value of a node.
    pub fn json(&self) -> Option<&'a Value> {
        match self {
            Item::Node(n) => n.value,
            _ => None,
        }
    }

    /// The item as a System value: primitives of the input become Boolean, Integer, Decimal,
    /// String or (by their FHIR type) Date/DateTime/Time, quantities become Quantity; other
    /// nodes stay nodes.
    pub fn to_system(&self) -> Item<'a> {
        let Item::Node(n) = self else {
            return self.clone();
        };
        let Some(v) = n.value else {
            return self.clone();
        };
        match v {
            Value::Bool(b) => Item::Boolean(*b),
            Value::Number(num) => {
                if n.fhir_type != Some("decimal")
                    && let Some(i) = num.as_i64()
                {
                    return Item::Integer(i);
                }
                match Decimal::parse(&num.to_string()) {
                    Some(d) => Item::Decimal(d),
                    None => self.clone(),
                }
            }
            Value::String(s) => {
                let parsed = match n.fhir_type {
                    Some("date") => Temporal::parse_date(s),
                    Some("dateTime") | Some("instant") => Temporal::parse_datetime(s),
                    Some("time") => Temporal::parse_time(s),
                    _ => None,
                };
                match parsed {
                    Some(t) => Item::Temporal(t),
                    None => Item::String(Rc::from(s.as_str())),
                }
            }
            Value::Object(_) if is_quantity_type(n.fhir_type) => match node_quantity(v) {
                Some(q) => Item::Quantity(q),
                None => self.clone(),
            },
            _ => self.clone(),
        }
    }

    /// The string value of a String item or a string primitive node.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Item::String(s) => Some(s),
            Item::Node(Node {
                value: Some(Value::String(s)),
                ..
            }) => Some(s),
            _ => None,
        }
    }

    /// The System type name (`Boolean`, `String`…) or FHIR type name of the item.
    pub fn type_info(&self) -> (&'static str, Rc<str>) {
        match self {
            Item::Node(n) => ("FHIR", Rc::from(n.type_name().unwrap_or("Element"))),
            Item::Boolean(_) => ("System", Rc::from("Boolean")),
            Item::Integer(_) => ("System", Rc::from("Integer")),
            Item::Decimal(_) => ("System", Rc::from("Decimal")),
            Item::String(_) => ("System", Rc::from("String")),
            Item::Temporal(t) => (
                "System",
                Rc::from(match t.kind {
                    TemporalKind::Date => "Date",
                    TemporalKind::DateTime => "DateTime",
                    TemporalKind::Time => "Time",
                }),
            ),
            Item::Quantity(_) => ("System", Rc::from("Quantity")),
            Item::Type { .. } => ("System", Rc::from("TypeInfo")),
        }
    }
}

pub(crate) fn is_quantity_type(t: Option<&str>) -> bool {
    matches!(
        t,
        Some(
            "Quantity"
                | "Age"
                | "Duration"
                | "Distance"
                | "Count"
                | "SimpleQuantity"
                | "MoneyQuantity"
        )
    )
}

/// Reads a FHIR Quantity object: the UCUM `code` when the system is UCUM, else `unit`.
pub(crate) fn node_quantity(v: &Value) -> Option<Quantity> {
    let value = v.get("value")?;
    let value = Decimal::parse(&value.as_number()?.to_string())?;
    let ucum = v.get("system").and_then(Value::as_str) == Some("http://unitsofmeasure.org");
    let unit = match (
        v.get("code").and_then(Value::as_str),
        v.get("unit").and_then(Value::as_str),
    ) {
        (Some(code), _) if ucum => code,
        (_, Some(unit)) => unit,
        (Some(code), None) => code,
        (None, None) => "1",
    };
    Some(Quantity {
        value,
        unit: Rc::from(unit),
    })
}

/// Conversion factor and dimension of the UCUM units this engine can compare (a small table:
/// mass, length, volume, time, and the calendar keywords for seconds and below).
fn unit_factor(unit: &str) -> Option<(&'static str, Decimal)> {
    let d = |s: &str| Decimal::parse(s);
    Some(match unit {
        "g" => ("g", d("1")?),
        "kg" => ("g", d("1000")?),
        "mg" => ("g", d("0.001")?),
        "ug" => ("g", d("0.000001")?),
        "m" => ("m", d("1")?),
        "km" => ("m", d("1000")?),
        "cm" => ("m", d("0.01")?),
        "mm" => ("m", d("0.001")?),
        "[in_i]" => ("m", d("0.0254")?),
        "[lb_av]" => ("g", d("453.59237")?),
        "L" | "l" => ("L", d("1")?),
        "dL" => ("L", d("0.1")?),
        "mL" | "ml" => ("L", d("0.001")?),
        "s" | "second" | "seconds" => ("s", d("1")?),
        "ms" | "millisecond" | "milliseconds" => ("s", d("0.001")?),
        "min" | "minute" | "minutes" => ("s", d("60")?),
        "h" | "hour" | "hours" => ("s", d("3600")?),
        "d" | "day" | "days" => ("s", d("86400")?),
        "wk" | "week" | "weeks" => ("s", d("604800")?),
        "1" => ("1", d("1")?),
        "%" => ("1", d("0.01")?),
        _ => return None,
    })
}

/// The value of `q` expressed in `unit`, when both are known and of the same dimension.
pub(crate) fn convert_quantity(q: &Quantity, unit: &str) -> Option<Decimal> {
    if *q.unit == *unit {
        return Some(q.value);
    }
    let (dim_a, fa) = unit_factor(&q.unit)?;
    let (dim_b, fb) = unit_factor(unit)?;
    if dim_a != dim_b {
        return None;
    }
    q.value.checked_mul(fa)?.checked_div(fb)
}

fn calendar_rank(u: &str) -> Option<u8> {
    Some(match u {
        "year" | "years" => 1,
        "month" | "months" => 2,
        "a" => 11,
        "mo" => 12,
        _ => return None,
    })
}

/// Compares two quantities; None when their units cannot be compared.
pub(crate) fn compare_quantities(a: &Quantity, b: &Quantity) -> Option<Ordering> {
    if a.unit == b.unit {
        return Some(a.value.cmp(&b.value));
    }
    // Years and months are not fixed durations: comparable only with the same keyword
    // (singular or plural).
    if let (Some(ra), Some(rb)) = (calendar_rank(&a.unit), calendar_rank(&b.unit)) {
        return (ra == rb).then(|| a.value.cmp(&b.value));
    }
    if calendar_rank(&a.unit).is_some() || calendar_rank(&b.unit).is_some() {
        return None;
    }
    let bv = convert_quantity(b, &a.unit)?;
    Some(a.value.cmp(&bv))
}
