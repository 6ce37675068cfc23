//! A thin streaming XML writer over quick-xml, with the few shapes CDA needs.

use std::io::Write;

use std::borrow::Cow;

use quick_xml::Writer;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::name::QName;

use crate::CdaError;

/// Streaming writer: elements go straight to the underlying `Write`, nothing is kept.
pub(crate) struct Xml<W: Write> {
    w: Writer<W>,
}

type Attrs<'a> = &'a [(&'a str, &'a str)];

/// Escape an attribute value for double quotes: only what XML requires (`&`, `<`, `"`) and the
/// whitespace that attribute normalisation would otherwise change. Apostrophes stay readable.
fn escape_attr(v: &str) -> Cow<'_, str> {
    if !v
        .bytes()
        .any(|b| matches!(b, b'&' | b'<' | b'"' | b'\n' | b'\t' | b'\r'))
    {
        return Cow::Borrowed(v);
    }
    let mut out = String::with_capacity(v.len() + 8);
    for c in v.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn start<'a>(name: &'a str, attrs: Attrs<'a>) -> BytesStart<'a> {
    let mut s = BytesStart::new(name);
    for &(k, v) in attrs {
        s.push_attribute(Attribute {
            key: QName(k),
            value: escape_attr(v),
        });
    }
    s
}

/// Character data with `&`, `<`, `>` escaped (apostrophes and quotes stay readable).
fn text(t: &str) -> BytesText<'_> {
    BytesText::from_escaped(quick_xml::escape::partial_escape(t))
}

impl<W: Write> Xml<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self {
            w: Writer::new_with_indent(inner, b' ', 2),
        }
    }

    pub(crate) fn into_inner(self) -> W {
        self.w.into_inner()
    }

    pub(crate) fn decl(&mut self) -> Result<(), CdaError> {
        self.w
            .write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        Ok(())
    }

    /// `<name attrs>`
    pub(crate) fn open(&mut self, name: &str, attrs: Attrs<'_>) -> Result<(), CdaError> {
        self.w.write_event(Event::Start(start(name, attrs)))?;
        Ok(())
    }

    /// `</name>`
    pub(crate) fn close(&mut self, name: &str) -> Result<(), CdaError> {
        self.w.write_event(Event::End(BytesEnd::new(name)))?;
        Ok(())
    }

    /// `<name attrs/>`
    pub(crate) fn empty(&mut self, name: &str, attrs: Attrs<'_>) -> Result<(), CdaError> {
        self.w.write_event(Event::Empty(start(name, attrs)))?;
        Ok(())
    }

    /// `<name attrs>text</name>`, text escaped.
    pub(crate) fn leaf(
        &mut self,
        name: &str,
        attrs: Attrs<'_>,
        content: &str,
    ) -> Result<(), CdaError> {
        self.w.write_event(Event::Start(start(name, attrs)))?;
        self.w.write_event(Event::Text(text(content)))?;
        self.w.write_event(Event::End(BytesEnd::new(name)))?;
        Ok(())
    }

    /// A comment.
    pub(crate) fn comment(&mut self, text: &str) -> Result<(), CdaError> {
        self.w.write_event(Event::Comment(BytesText::new(text)))?;
        Ok(())
    }
}
