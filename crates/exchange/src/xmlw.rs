//! A small XML writer into a `String`: elements, attributes and text, escaped.

use quick_xml::escape::escape;

/// Builds XML text; every `start` must be matched by an `end`.
#[derive(Debug, Default)]
pub(crate) struct XmlOut {
    buf: String,
    stack: Vec<String>,
    open: bool,
    indent: bool,
}

impl XmlOut {
    /// A writer with the XML declaration, indented output.
    pub(crate) fn new() -> Self {
        Self {
            buf: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            indent: true,
            ..Self::default()
        }
    }

    /// A writer without declaration nor indentation (for fragments).
    pub(crate) fn fragment() -> Self {
        Self::default()
    }

    fn close_tag(&mut self) {
        if self.open {
            self.buf.push('>');
            self.open = false;
        }
    }

    fn newline(&mut self) {
        if self.indent {
            if !self.buf.is_empty() && !self.buf.ends_with('\n') {
                self.buf.push('\n');
            }
            for _ in 0..self.stack.len() {
                self.buf.push_str("  ");
            }
        }
    }

    /// Open `<name`.
    pub(crate) fn start(&mut self, name: &str) -> &mut Self {
        self.close_tag();
        self.newline();
        self.buf.push('<');
        self.buf.push_str(name);
        self.stack.push(name.to_string());
        self.open = true;
        self
    }

    /// An attribute of the element just opened.
    pub(crate) fn attr(&mut self, name: &str, value: &str) -> &mut Self {
        self.buf.push(' ');
        self.buf.push_str(name);
        self.buf.push_str("=\"");
        self.buf.push_str(&escape(value));
        self.buf.push('"');
        self
    }

    /// Text content.
    pub(crate) fn text(&mut self, text: &str) -> &mut Self {
        self.close_tag();
        self.buf.push_str(&escape(text));
        self
    }

    /// Markup written as it is (a fragment built by another writer).
    pub(crate) fn raw(&mut self, xml: &str) -> &mut Self {
        self.close_tag();
        self.newline();
        self.buf.push_str(xml);
        self
    }

    /// Close the innermost element.
    pub(crate) fn end(&mut self) -> &mut Self {
        let Some(name) = self.stack.pop() else {
            return self;
        };
        if self.open {
            self.buf.push_str("/>");
            self.open = false;
        } else {
            if self.indent && self.buf.ends_with('>') {
                self.newline();
            }
            self.buf.push_str("</");
            self.buf.push_str(&name);
            self.buf.push('>');
        }
        self
    }

    /// `<name attrs…>text</name>`.
    pub(crate) fn leaf(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) -> &mut Self {
        self.start(name);
        for (k, v) in attrs {
            self.attr(k, v);
        }
        if !text.is_empty() {
            self.text(text);
        }
        self.end()
    }

    /// The text, every element closed.
    pub(crate) fn finish(mut self) -> String {
        while !self.stack.is_empty() {
            self.end();
        }
        if self.indent {
            self.buf.push('\n');
        }
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_nests() {
        let mut w = XmlOut::fragment();
        w.start("a")
            .attr("x", "1<2\"")
            .start("b")
            .text("R&D")
            .end()
            .leaf("c", &[], "");
        assert_eq!(w.finish(), "<a x=\"1&lt;2&quot;\"><b>R&amp;D</b><c/></a>");
    }
}
