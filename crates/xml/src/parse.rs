//! One pass over the input's tokens into the arena, with namespace resolution, limits and
//! XML 1.0 checks quick-xml leaves to the caller. The tokens come from the own tokenizer
//! ([`fast`]) for the common well-formed document, else from quick-xml's events (the reference
//! reading, which reports every error).

use crate::hash::FxMap;
use std::borrow::Cow;
use std::sync::{LazyLock, OnceLock};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::Limits;
use crate::document::{Document, NONE, NodeData, NodeKind, NsBinding, XML_NAMESPACE};
use crate::error::{ParseError, ParseErrorKind};
use crate::intern::{ExpandedName, Name};

mod by_name;
mod chars;
mod declaration;
mod encoding;
mod fast;
mod qnames;

const XMLNS_NAMESPACE: &str = "http://www.w3.org/2000/xmlns/";

/// Longest whitespace-only text whose value is shared (see `Builder::shared_space`).
const MAX_SHARED_SPACE: usize = 256;

struct Frame<'a> {
    node: u32,
    last_child: u32,
    raw_name: Cow<'a, str>,
    scope: u32,
}

struct RawAttr<'a> {
    key: Cow<'a, str>,
    value: Cow<'a, str>,
    offset: usize,
    /// Where the value lies in the input, when it is borrowed from it.
    value_at: Option<usize>,
    /// Whether the value is its own normalised value ([`plain_attribute`]).
    plain: bool,
}

impl RawAttr<'_> {
    /// The offset errors inside the value are relative to.
    fn value_offset(&self) -> usize {
        self.value_at.unwrap_or(self.offset)
    }
}

struct Builder<'a> {
    input: &'a [u8],
    /// The whole input as text (byte order mark included): offsets into it are the offsets
    /// of the document.
    whole: &'a str,
    body: &'a str,
    base: usize,
    limits: &'a Limits,
    doc: Document,
    stack: Vec<Frame<'a>>,
    names: FxMap<&'a str, Name>,
    /// Qualified names as written, split and interned: `(prefix, local)`, for those the
    /// thread's cache ([`qnames::QnameCache`]) does not keep.
    qnames: FxMap<&'a str, (Name, Name)>,
    /// The thread's qualified names as written, split and interned.
    qname_cache: qnames::QnameCache,
    /// Namespace URIs of the declarations (unescaped, so not borrowed from the input).
    uris: FxMap<String, Name>,
    /// The elements by name, in document order, gathered as they are read: the document's
    /// name index ([`Document::elements_named`]) without a second pass over every node.
    by_name: by_name::NameIndex,
    /// The `xml` prefix, bound everywhere to [`XML_NAMESPACE`].
    xml_prefix: Name,
    last_text: u32,
    /// Whether the value of `last_text` is borrowed or shared, so not alone at the end of
    /// `text` where further chunks can join it.
    last_text_shared: bool,
    /// Whitespace-only text as written (indentation of a CRLF file) and where its normalised
    /// value lies in `text`.
    spaces: FxMap<&'a str, (u32, u32)>,
    root_seen: bool,
    attrs: Vec<RawAttr<'a>>,
    /// Scratch space for a namespace URI that needs normalising.
    scratch: String,
    /// Drop whitespace-only text nodes (`xsl:strip-space elements="*"`).
    strip_space: bool,
    /// Whitespace chunks of a text node not yet known to be whitespace-only.
    pending_space: Vec<(Cow<'a, str>, usize, TextKind)>,
    /// The encoding the input was read in, when not UTF-8 (the declaration must name it).
    read_as: Option<encoding::Encoding>,
}

type Failure = (ParseErrorKind, usize);

/// Parses `input` (see [`Document::parse`]); `strip_space` drops whitespace-only text nodes.
///
/// The own tokenizer ([`fast`]) reads the common well-formed document; on anything it does not
/// handle it gives up and quick-xml reads the input again from the start, so that errors and
/// their positions are quick-xml's reading's.
pub(crate) fn parse(
    input: &[u8],
    limits: &Limits,
    strip_space: bool,
) -> Result<Document, ParseError> {
    parse_with(input, limits, strip_space, true)
}

/// Parses `input` with quick-xml alone: the reference the own tokenizer is checked against.
#[cfg(test)]
pub(crate) fn parse_with_quick_xml(
    input: &[u8],
    limits: &Limits,
    strip_space: bool,
) -> Result<Document, ParseError> {
    parse_with(input, limits, strip_space, false)
}

/// What the own tokenizer alone reads of `input`: `None` where it gives up.
#[cfg(test)]
pub(crate) fn parse_with_own_tokenizer(
    input: &[u8],
    limits: &Limits,
    strip_space: bool,
) -> Option<Document> {
    too_large(input, limits.max_bytes).ok()?;
    let (whole, base) = prelude(input).ok()?;
    let mut b = Builder::new(input, whole, base, limits, strip_space);
    fast::run(&mut b).ok()?;
    Some(b.into_document())
}

fn parse_with(
    input: &[u8],
    limits: &Limits,
    strip_space: bool,
    own_tokenizer: bool,
) -> Result<Document, ParseError> {
    // The limit is on the bytes given, checked before another encoding is turned into UTF-8
    // (at most twice as long: a Latin-1 letter takes two bytes in UTF-8); the text read is
    // bounded only by what offsets of 32 bits address.
    too_large(input, limits.max_bytes)?;
    let transcoded = encoding::to_utf8(input)?;
    let (input, read_as) = match &transcoded {
        Some((text, e)) => {
            too_large(text, usize::MAX)?;
            (text.as_slice(), Some(*e))
        }
        None => (input, None),
    };
    let (whole, base) = prelude(input)?;
    if own_tokenizer {
        let mut b = Builder::new(input, whole, base, limits, strip_space);
        b.read_as = read_as;
        if fast::run(&mut b).is_ok() {
            return Ok(b.into_document());
        }
    }
    let mut b = Builder::new(input, whole, base, limits, strip_space);
    b.read_as = read_as;
    b.run()
        .map_err(|(kind, offset)| ParseError::at(kind, input, offset))?;
    Ok(b.into_document())
}

/// The checks before tokenizing (the size is checked before): encoding, UTF-8. Returns the
/// input as text and the length of its byte order mark.
fn prelude(input: &[u8]) -> Result<(&str, usize), ParseError> {
    let fail = |kind, offset| ParseError::at(kind, input, offset);
    let base = detect_encoding(input).map_err(|kind| fail(kind, 0))?;
    // Validated once, byte order mark included (it is valid UTF-8): the offset of the first
    // invalid byte is the same as in the body alone. The SIMD check says only whether the
    // input is valid; std's finds where it is not.
    let whole = match simdutf8::basic::from_utf8(input) {
        Ok(whole) => whole,
        Err(_) => std::str::from_utf8(input).map_err(|e| {
            let (kind, offset) = not_utf8(input, base, e.valid_up_to());
            fail(kind, offset)
        })?,
    };
    // The two non-characters UTF-8 encodes and XML's `Char` excludes, refused with the
    // encoding (control characters are refused where the tokens are read).
    if let Some((at, code)) = chars::first_noncharacter(input) {
        return Err(fail(ParseErrorKind::InvalidChar { code }, at));
    }
    Ok((whole, base))
}

/// Refuses an input over `max_bytes` (and over what offsets of 32 bits can address).
fn too_large(input: &[u8], max_bytes: usize) -> Result<(), ParseError> {
    let max_bytes = max_bytes.min(u32::MAX as usize - 1);
    if input.len() > max_bytes {
        return Err(ParseError::at(
            ParseErrorKind::TooLarge {
                size: input.len(),
                limit: max_bytes,
            },
            input,
            0,
        ));
    }
    Ok(())
}

/// Why `input` (its byte order mark `base` bytes long) is refused, its first `valid` bytes
/// being UTF-8 and the next not: an XML declaration read whole before that byte says why
/// first (a declared encoding other than UTF-8, ISO-8859-1 say, above all), else the byte.
#[cold]
fn not_utf8(input: &[u8], base: usize, valid: usize) -> Failure {
    let text = input
        .get(..valid)
        .and_then(|b| std::str::from_utf8(b).ok())
        .unwrap_or_default();
    let body = text.get(base..).unwrap_or_default();
    // Where the tokenizers see a declaration: `<?xml` then whitespace or `?>`, up to `?>`.
    let declaration = body.strip_prefix("<?xml").and_then(|rest| {
        let end = "<?xml".len() + rest.find("?>")? + 2;
        let next = rest.as_bytes().first().copied();
        matches!(next, Some(b' ' | b'\t' | b'\n' | b'\r' | b'?')).then_some(end)
    });
    if let Some(end) = declaration
        && let Err(failure) = check_declaration(&body[..end], base, None)
    {
        return failure;
    }
    (ParseErrorKind::InvalidUtf8, valid)
}

fn detect_encoding(input: &[u8]) -> Result<usize, ParseErrorKind> {
    let utf16 = || ParseErrorKind::UnsupportedEncoding {
        encoding: "UTF-16".into(),
    };
    match input {
        [0xEF, 0xBB, 0xBF, ..] => Ok(3),
        [0xFE, 0xFF, ..] | [0xFF, 0xFE, ..] | [0, b'<', ..] | [b'<', 0, ..] => Err(utf16()),
        _ => Ok(0),
    }
}

/// The byte offset of `part` inside `whole`, when `part` borrows from it.
fn offset_in(whole: &str, part: &str) -> Option<usize> {
    let off = (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
    (off <= whole.len() && off + part.len() <= whole.len()).then_some(off)
}

fn reborrow<'a>(whole: &'a str, part: &str) -> Cow<'a, str> {
    match offset_in(whole, part) {
        Some(off) => Cow::Borrowed(&whole[off..off + part.len()]),
        None => Cow::Owned(part.to_owned()),
    }
}

impl<'a> Builder<'a> {
    fn new(
        input: &'a [u8],
        whole: &'a str,
        base: usize,
        limits: &'a Limits,
        strip_space: bool,
    ) -> Builder<'a> {
        let body = &whole[base..];
        Builder {
            input,
            whole,
            body,
            base,
            limits,
            doc: Document {
                // At least one node per 16 bytes: the densest ANS example has one per 18, so
                // the table is not moved as it grows (a few megabytes copied per pass over
                // them); the slack is given back at the end, its pages never touched.
                nodes: Vec::with_capacity(body.len() / 16),
                text: String::new(),
                scopes: Vec::new(),
                source: whole.into(),
                line_starts: Default::default(),
                by_name: OnceLock::new(),
                child_attributes: Default::default(),
                uri: None,
                serial: crate::document::next_serial(),
            },
            stack: Vec::new(),
            names: FxMap::default(),
            qnames: FxMap::default(),
            qname_cache: qnames::QnameCache::take(),
            uris: FxMap::default(),
            by_name: by_name::NameIndex::with_capacity(body.len() / 64),
            xml_prefix: Name::intern("xml"),
            last_text: NONE,
            last_text_shared: false,
            spaces: FxMap::default(),
            root_seen: false,
            attrs: Vec::new(),
            scratch: String::new(),
            read_as: None,
            strip_space,
            pending_space: Vec::new(),
        }
    }

    /// The document built, its arrays trimmed to size.
    fn into_document(mut self) -> Document {
        crate::document::link_element_siblings(&mut self.doc.nodes);
        // The arrays grew by doubling: give the slack back (documents loaded by the rules live
        // for the whole process).
        self.doc.nodes.shrink_to_fit();
        self.doc.text.shrink_to_fit();
        self.doc.scopes.shrink_to_fit();
        let _ = self.doc.by_name.set(self.by_name.finish());
        self.doc
    }

    /// Reads the body with quick-xml (the reference reading).
    fn run(&mut self) -> Result<(), Failure> {
        let mut reader = Reader::from_str(self.body);
        let config = reader.config_mut();
        config.check_end_names = false;
        config.check_comments = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
        self.begin()?;
        loop {
            let pos = self.base + reader.buffer_position() as usize;
            let event = reader.read_event().map_err(|source| {
                (
                    malformed(source),
                    self.base + reader.error_position() as usize,
                )
            })?;
            let end = self.base + reader.buffer_position() as usize;
            match event {
                Event::Decl(_) => self.declaration(pos, end)?,
                Event::DocType(_) => return Err((ParseErrorKind::Doctype, pos)),
                Event::Start(e) => self.start(&e, pos, end, false)?,
                Event::Empty(e) => self.start(&e, pos, end, true)?,
                Event::End(e) => self.end_tag(e.name().0, pos)?,
                Event::Text(t) => {
                    let raw = t.into_inner();
                    check_cdata_end(&raw, pos)?;
                    self.text(raw, pos, TextKind::Raw)?
                }
                Event::CData(t) => self.text(t.into_inner(), pos, TextKind::CData)?,
                Event::GeneralRef(r) => self.reference(&r, pos)?,
                Event::Comment(c) => self.comment(&c, pos, end)?,
                Event::PI(p) => self.processing_instruction(p.target(), p.content(), pos, end)?,
                Event::Eof => break,
            }
        }
        self.finish()
    }

    /// The document node, the bottom of the element stack.
    fn begin(&mut self) -> Result<(), Failure> {
        self.push_node(
            NodeKind::Document,
            ExpandedName {
                ns: Name::EMPTY,
                local: Name::EMPTY,
            },
            0,
        )?;
        self.stack.push(Frame {
            node: 0,
            last_child: NONE,
            raw_name: Cow::Borrowed(""),
            scope: NONE,
        });
        Ok(())
    }

    /// The end of the input: every element closed, a root element seen.
    fn finish(&mut self) -> Result<(), Failure> {
        let eof = self.input.len();
        if let Some(open) = self.stack.last().filter(|f| f.node != 0) {
            return Err((
                ParseErrorKind::UnclosedElement {
                    name: open.raw_name.clone().into_owned(),
                },
                eof,
            ));
        }
        if !self.root_seen {
            return Err((ParseErrorKind::NoRootElement, eof));
        }
        self.close(0, eof);
        Ok(())
    }

    /// The XML declaration from `pos` to `end` (`<?xml` to `?>`).
    fn declaration(&mut self, pos: usize, end: usize) -> Result<(), Failure> {
        if pos != self.base {
            return Err((ParseErrorKind::MisplacedDeclaration, pos));
        }
        check_declaration(
            self.whole.get(pos..end).unwrap_or_default(),
            pos,
            self.read_as,
        )
    }

    /// An end tag at `pos` naming `found`.
    fn end_tag(&mut self, found: &str, pos: usize) -> Result<(), Failure> {
        let frame = self.stack.pop();
        let Some(frame) = frame.filter(|f| f.node != 0) else {
            check_name(found, pos + 2)?;
            return Err((ParseErrorKind::UnexpectedEndTag { name: found.into() }, pos));
        };
        if frame.raw_name != found {
            // A name that matches the start tag's is a name; one that does not may not be.
            check_name(found, pos + 2)?;
            return Err((
                ParseErrorKind::MismatchedEndTag {
                    expected: frame.raw_name.into_owned(),
                    found: found.into(),
                },
                pos,
            ));
        }
        self.close(frame.node, pos);
        self.end_text();
        Ok(())
    }

    /// An entity or character reference at `pos` (`reference` is what lies between `&` and `;`).
    fn reference(&mut self, reference: &str, pos: usize) -> Result<(), Failure> {
        let mut s = String::new();
        push_reference(reference, &mut s).map_err(|kind| (kind, pos))?;
        self.text(Cow::Owned(s), pos, TextKind::Resolved)
    }

    /// A comment from `pos` to `end`, `content` between `<!--` and `-->`.
    fn comment(&mut self, content: &str, pos: usize, end: usize) -> Result<(), Failure> {
        check_chars(content, pos + "<!--".len())?;
        let n = self.leaf(
            NodeKind::Comment,
            ExpandedName {
                ns: Name::EMPTY,
                local: Name::EMPTY,
            },
            pos,
            end,
        )?;
        self.set_value(n, content, pos)
    }

    /// A processing instruction from `pos` to `end`: its target, then the rest up to `?>`.
    fn processing_instruction(
        &mut self,
        target: &str,
        content: &str,
        pos: usize,
        end: usize,
    ) -> Result<(), Failure> {
        let at = pos + "<?".len();
        check_name(target, at)?;
        if target.eq_ignore_ascii_case("xml") {
            return Err((
                ParseErrorKind::ReservedPiTarget {
                    target: target.into(),
                },
                at,
            ));
        }
        if let Some(colon) = memchr::memchr(b':', target.as_bytes()) {
            return Err((
                ParseErrorKind::ColonInPiTarget {
                    target: target.into(),
                },
                at + colon,
            ));
        }
        check_chars(content, at + target.len())?;
        let target = self.intern(target);
        let name = ExpandedName {
            ns: Name::EMPTY,
            local: target,
        };
        let n = self.leaf(NodeKind::ProcessingInstruction, name, pos, end)?;
        self.set_value(n, content.trim_start(), pos)
    }

    /// Markup ends the current text node; held-back whitespace (see `strip_space`) is dropped.
    fn end_text(&mut self) {
        self.last_text = NONE;
        self.last_text_shared = false;
        self.pending_space.clear();
    }

    fn intern(&mut self, s: &str) -> Name {
        // The empty prefix of every unprefixed name is a static "", not a slice of the input.
        if s.is_empty() {
            return Name::EMPTY;
        }
        if let Some(off) = offset_in(self.whole, s) {
            let key = &self.whole[off..off + s.len()];
            *self.names.entry(key).or_insert_with(|| Name::intern(key))
        } else {
            Name::intern(s)
        }
    }

    /// The prefix and local name of a qualified name as written, interned once per document;
    /// `None` for a name that is not a `QName` (see [`chars::qname_error`]), checked as it is
    /// first split (the tables keep only qualified names).
    #[inline]
    fn qname(&mut self, raw: &str) -> Option<(Name, Name)> {
        if let Some(off) = offset_in(self.whole, raw)
            && let Some(key) = qnames::key(self.whole.as_bytes(), off, raw.len())
            && let Some(parts) = self.qname_cache.get(&key, raw.len())
        {
            return Some(parts);
        }
        self.new_qname(raw)
    }

    /// [`Builder::qname`] for a name the thread's table does not keep: checked, split,
    /// interned and kept.
    #[cold]
    #[inline(never)]
    fn new_qname(&mut self, raw: &str) -> Option<(Name, Name)> {
        let split = |raw: &str| {
            if chars::qname_error(raw).is_some() {
                return None;
            }
            let (prefix, local) = split_qname(raw);
            Some((Name::intern(prefix), Name::intern(local)))
        };
        let Some(off) = offset_in(self.whole, raw) else {
            return split(raw);
        };
        if let Some(key) = qnames::key(self.whole.as_bytes(), off, raw.len()) {
            let parts = split(raw)?;
            self.qname_cache.insert(key, raw.len(), parts);
            return Some(parts);
        }
        let key = &self.whole[off..off + raw.len()];
        if let Some(&parts) = self.qnames.get(key) {
            return Some(parts);
        }
        let parts = split(key)?;
        self.qnames.insert(key, parts);
        Some(parts)
    }

    fn push_node(
        &mut self,
        kind: NodeKind,
        name: ExpandedName,
        offset: usize,
    ) -> Result<u32, Failure> {
        let parent = self.stack.last().map_or(NONE, |f| f.node);
        self.push_linked(kind, name, offset, parent, NONE)
    }

    /// Appends a node under `parent` after its sibling `prev` (or [`NONE`]): its index.
    #[inline]
    fn push_linked(
        &mut self,
        kind: NodeKind,
        name: ExpandedName,
        offset: usize,
        parent: u32,
        prev: u32,
    ) -> Result<u32, Failure> {
        let index = self.doc.nodes.len();
        if index >= self.limits.max_nodes.min(NONE as usize - 1) {
            return Err((
                ParseErrorKind::TooManyNodes {
                    limit: self.limits.max_nodes,
                },
                offset,
            ));
        }
        let index = index as u32;
        self.doc.nodes.push(NodeData {
            kind,
            parent,
            next: NONE,
            prev,
            next_element: NONE,
            attr_end: index + 1,
            subtree_end: index + 1,
            name,
            prefix: Name::EMPTY,
            in_source: false,
            value_start: 0,
            value_len: 0,
            offset: offset as u32,
            tag_end: offset as u32,
            close: offset as u32,
            scope: NONE,
        });
        Ok(index)
    }

    /// Appends a child of the current element and links it to its previous sibling.
    fn push_child(
        &mut self,
        kind: NodeKind,
        name: ExpandedName,
        offset: usize,
    ) -> Result<u32, Failure> {
        let (parent, prev) = self
            .stack
            .last()
            .map_or((NONE, NONE), |f| (f.node, f.last_child));
        let n = self.push_linked(kind, name, offset, parent, prev)?;
        if let Some(frame) = self.stack.last_mut() {
            frame.last_child = n;
        }
        if let Some(p) = self.doc.nodes.get_mut(prev as usize) {
            p.next = n;
        }
        Ok(n)
    }

    fn leaf(
        &mut self,
        kind: NodeKind,
        name: ExpandedName,
        pos: usize,
        end: usize,
    ) -> Result<u32, Failure> {
        self.end_text();
        let n = self.push_child(kind, name, pos)?;
        self.doc.nodes[n as usize].tag_end = end as u32;
        Ok(n)
    }

    /// Sets the value of a comment or processing instruction: no references there, only line ends.
    fn set_value(&mut self, n: u32, value: &str, pos: usize) -> Result<(), Failure> {
        if memchr::memchr(b'\r', value.as_bytes()).is_none()
            && let Some(at) = offset_in(self.whole, value)
        {
            return self.borrow_value(n, at, value.len(), pos);
        }
        let start = self.doc.text.len();
        let mut rest = value;
        while let Some(i) = rest.find('\r') {
            self.doc.text.push_str(&rest[..i]);
            self.doc.text.push('\n');
            rest = rest[i + 1..].strip_prefix('\n').unwrap_or(&rest[i + 1..]);
        }
        self.doc.text.push_str(rest);
        self.finish_value(n, start, pos)
    }

    /// Sets the value of `n` to `len` bytes of the source at `at` (no normalisation needed).
    fn borrow_value(&mut self, n: u32, at: usize, len: usize, pos: usize) -> Result<(), Failure> {
        self.place_value(n, true, at, len, pos)
    }

    /// Sets the value of `n` to what `text` holds from `start` on.
    fn finish_value(&mut self, n: u32, start: usize, pos: usize) -> Result<(), Failure> {
        let len = self.doc.text.len() - start;
        self.place_value(n, false, start, len, pos)
    }

    /// Sets the value of `n` to `len` bytes at `start` of the source or of `text`, within the
    /// text length limit.
    fn place_value(
        &mut self,
        n: u32,
        in_source: bool,
        start: usize,
        len: usize,
        pos: usize,
    ) -> Result<(), Failure> {
        if len > self.limits.max_text_len {
            return Err((
                ParseErrorKind::TextTooLong {
                    limit: self.limits.max_text_len,
                },
                pos,
            ));
        }
        let d = &mut self.doc.nodes[n as usize];
        d.in_source = in_source;
        d.value_start = start as u32;
        d.value_len = len as u32;
        Ok(())
    }

    fn text(&mut self, raw: Cow<'a, str>, pos: usize, kind: TextKind) -> Result<(), Failure> {
        if let (Cow::Borrowed(s), TextKind::Raw, NONE) = (&raw, kind, self.last_text)
            && !self.strip_space
            && self.stack.len() > 1
            && s.len() <= MAX_SHARED_SPACE
            // Indentation of a CRLF file starts with its CR; whitespace that does not (rare)
            // is normalised into a value of its own, the same value.
            && s.as_bytes().first() == Some(&b'\r')
            && s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            return self.shared_space(s, pos);
        }
        if self.stack.len() <= 1 {
            if kind == TextKind::Raw
                && raw
                    .bytes()
                    .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            {
                return Ok(());
            }
            return Err((ParseErrorKind::ContentOutsideRoot, pos));
        }
        if self.strip_space
            && self.last_text == NONE
            && raw
                .bytes()
                .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            // Whitespace so far: kept back until something else joins the text node.
            self.pending_space.push((raw, pos, kind));
            return Ok(());
        }
        if !self.pending_space.is_empty() {
            for (chunk, at, k) in std::mem::take(&mut self.pending_space) {
                self.append_text_chunk(&chunk, at, k)?;
            }
        }
        self.append_text_chunk(&raw, pos, kind)
    }

    /// Appends a chunk of character data to the current text node (created if needed). A
    /// text node of one chunk that needs no normalisation is borrowed from the source.
    fn append_text_chunk(&mut self, raw: &str, pos: usize, kind: TextKind) -> Result<(), Failure> {
        if self.last_text == NONE
            && kind != TextKind::Resolved
            && plain_text(raw.as_bytes())
            && let Some(at) = offset_in(self.whole, raw)
        {
            let n = self.push_text_node(pos)?;
            self.last_text = n;
            self.last_text_shared = true;
            return self.borrow_value(n, at, raw.len(), pos);
        }
        let n = if self.last_text != NONE {
            let n = self.last_text;
            if self.last_text_shared {
                // A second chunk joins a borrowed or shared value: it is copied to the end
                // of the text first.
                self.last_text_shared = false;
                let d = &self.doc.nodes[n as usize];
                let (start, end) = (
                    d.value_start as usize,
                    d.value_start as usize + d.value_len as usize,
                );
                let at = self.doc.text.len();
                if d.in_source {
                    self.doc.text.push_str(&self.whole[start..end]);
                } else {
                    self.doc.text.extend_from_within(start..end);
                }
                let d = &mut self.doc.nodes[n as usize];
                d.in_source = false;
                d.value_start = at as u32;
            }
            n
        } else {
            let n = self.push_text_node(pos)?;
            self.doc.nodes[n as usize].value_start = self.doc.text.len() as u32;
            self.last_text = n;
            n
        };
        // Normalising never lengthens a chunk: room for all of it at once, so that a long text
        // (a base64 PDF with CRLF line ends) is not moved as it is copied line by line.
        self.doc.text.reserve(raw.len());
        match kind {
            TextKind::Resolved => self.doc.text.push_str(raw),
            TextKind::Raw => {
                append_text(&mut self.doc.text, raw, false).map_err(|(k, o)| (k, pos + o))?
            }
            TextKind::CData => append_char_data(&mut self.doc.text, raw, false)
                .map_err(|(k, o)| (k, pos + "<![CDATA[".len() + o))?,
        }
        let d = &mut self.doc.nodes[n as usize];
        d.value_len = (self.doc.text.len() - d.value_start as usize) as u32;
        if d.value_len as usize > self.limits.max_text_len {
            return Err((
                ParseErrorKind::TextTooLong {
                    limit: self.limits.max_text_len,
                },
                pos,
            ));
        }
        Ok(())
    }

    /// Reads the attributes of a start tag into `attrs`. Attributes written as well-formed XML
    /// writes them are scanned here (see [`scan_attribute`]); a tag with anything else is read
    /// again from its start by quick-xml's iterator, which gives the same attributes and errors
    /// as before there was a scanner.
    fn read_attributes(&mut self, e: &BytesStart<'_>, pos: usize) -> Result<(), Failure> {
        self.attrs.clear();
        let raw = e.attributes_raw();
        let Some(base) = offset_in(self.whole, raw) else {
            return self.read_attributes_with_quick_xml(e, pos);
        };
        let whole = self.whole;
        let bytes = raw.as_bytes();
        let mut from = 0;
        loop {
            let (key, value) = match scan_attribute(bytes, from) {
                AttrScan::End => return Ok(()),
                AttrScan::Other => return self.read_attributes_with_quick_xml(e, pos),
                AttrScan::Attr { key, value } => (key, value),
            };
            // The tag text starts with whitespace (the element name takes everything up to
            // it): an attribute read just where the one before ends has none before it.
            let joined = key.start == from;
            from = value.end + 1;
            let key_at = base + key.start;
            let key = &whole[key_at..base + key.end];
            if joined {
                return Err(no_space_before(key, key_at));
            }
            check_name(key, key_at)?;
            // The checks of the quick-xml reading below, in the same order.
            if self.attrs.iter().any(|p| *p.key == *key) {
                return Err(self.attribute_error(e, pos));
            }
            if self.attrs.len() >= self.limits.max_attributes_per_element {
                return Err(self.too_many_attributes(pos));
            }
            let value_at = base + value.start;
            let value = &whole[value_at..base + value.end];
            self.attrs.push(RawAttr {
                key: Cow::Borrowed(key),
                value: Cow::Borrowed(value),
                offset: key_at,
                value_at: Some(value_at),
                plain: plain_attribute(value),
            });
        }
    }

    /// Reads the attributes of a start tag with quick-xml's iterator.
    #[cold]
    fn read_attributes_with_quick_xml(
        &mut self,
        e: &BytesStart<'_>,
        pos: usize,
    ) -> Result<(), Failure> {
        self.attrs.clear();
        // quick-xml's duplicate check allocates per start tag: names are compared here, and
        // the first anomaly sends the tag through the checked reading for its exact error.
        for attr in e.attributes().with_checks(false) {
            let attr = match attr {
                Ok(a) if !self.attrs.iter().any(|p| *p.key == *a.key.0) => a,
                _ => return Err(self.attribute_error(e, pos)),
            };
            if self.attrs.len() >= self.limits.max_attributes_per_element {
                return Err(self.too_many_attributes(pos));
            }
            let key_at = offset_in(self.whole, attr.key.0);
            if let Some(at) = key_at
                && !matches!(
                    at.checked_sub(1).map(|i| self.input[i]),
                    Some(b' ' | b'\t' | b'\n' | b'\r')
                )
            {
                return Err(no_space_before(attr.key.0, at));
            }
            check_name(attr.key.0, key_at.unwrap_or(pos))?;
            let key = match key_at {
                Some(o) => Cow::Borrowed(&self.whole[o..o + attr.key.0.len()]),
                None => Cow::Owned(attr.key.0.to_owned()),
            };
            let value_at = offset_in(self.whole, &attr.value);
            let value = match (value_at, attr.value) {
                (Some(o), v) => Cow::Borrowed(&self.whole[o..o + v.len()]),
                (None, v) => Cow::Owned(v.into_owned()),
            };
            let plain = plain_attribute(&value);
            self.attrs.push(RawAttr {
                key,
                value,
                offset: key_at.unwrap_or(pos),
                value_at,
                plain,
            });
        }
        Ok(())
    }

    /// The first error of a start tag's attributes, read with quick-xml's checks.
    #[cold]
    fn attribute_error(&self, e: &BytesStart<'_>, pos: usize) -> Failure {
        for (count, attr) in e.attributes().with_checks(true).enumerate() {
            let failure = match attr {
                Err(quick_xml::events::attributes::AttrError::Duplicated(at, _)) => {
                    let rest = e.get(at..).unwrap_or("");
                    let name = rest
                        .split(['=', ' ', '\t', '\n', '\r'])
                        .next()
                        .unwrap_or(rest);
                    (
                        ParseErrorKind::DuplicateAttribute { name: name.into() },
                        pos + 1 + at,
                    )
                }
                Err(other) => (
                    ParseErrorKind::Malformed {
                        source: other.into(),
                    },
                    pos,
                ),
                Ok(_) if count >= self.limits.max_attributes_per_element => {
                    self.too_many_attributes(pos)
                }
                Ok(_) => continue,
            };
            return failure;
        }
        // Unreachable: the unchecked reading found an anomaly the checked one reports.
        (
            ParseErrorKind::Malformed {
                source: quick_xml::Error::Syntax(quick_xml::errors::SyntaxError::UnclosedTag),
            },
            pos,
        )
    }

    fn too_many_attributes(&self, pos: usize) -> Failure {
        (
            ParseErrorKind::TooManyAttributes {
                limit: self.limits.max_attributes_per_element,
            },
            pos,
        )
    }

    /// A new text node (no name) at `pos`: its index.
    fn push_text_node(&mut self, pos: usize) -> Result<u32, Failure> {
        self.push_child(
            NodeKind::Text,
            ExpandedName {
                ns: Name::EMPTY,
                local: Name::EMPTY,
            },
            pos,
        )
    }

    /// A text node of whitespace alone (CR among it): its normalised value is stored once per
    /// document and shared by every such node.
    fn shared_space(&mut self, raw: &'a str, pos: usize) -> Result<(), Failure> {
        let n = self.push_text_node(pos)?;
        self.last_text = n;
        self.last_text_shared = true;
        let (start, len) = match self.spaces.get(raw) {
            Some(&value) => value,
            None => {
                // Whitespace has no reference nor forbidden character: only line ends change.
                let start = self.doc.text.len();
                let mut bytes = raw.bytes().peekable();
                while let Some(b) = bytes.next() {
                    if b == b'\r' {
                        bytes.next_if_eq(&b'\n');
                        self.doc.text.push('\n');
                    } else {
                        self.doc.text.push(char::from(b));
                    }
                }
                let value = (start as u32, (self.doc.text.len() - start) as u32);
                self.spaces.insert(raw, value);
                value
            }
        };
        if len as usize > self.limits.max_text_len {
            return Err((
                ParseErrorKind::TextTooLong {
                    limit: self.limits.max_text_len,
                },
                pos,
            ));
        }
        let d = &mut self.doc.nodes[n as usize];
        d.value_start = start;
        d.value_len = len;
        Ok(())
    }

    /// A start tag read by quick-xml.
    fn start(
        &mut self,
        e: &BytesStart<'_>,
        pos: usize,
        end: usize,
        empty: bool,
    ) -> Result<(), Failure> {
        check_name(e.name().0, pos + 1)?;
        self.open(pos)?;
        let raw_name = reborrow(self.whole, e.name().0);
        self.read_attributes(e, pos)?;
        self.element(raw_name, pos, end, empty)
    }

    /// The checks of a start tag at `pos` before its attributes are read.
    fn open(&mut self, pos: usize) -> Result<(), Failure> {
        self.end_text();
        if self.stack.len() > self.limits.max_depth {
            return Err((
                ParseErrorKind::TooDeep {
                    limit: self.limits.max_depth,
                },
                pos,
            ));
        }
        if self.stack.len() == 1 {
            if self.root_seen {
                return Err((ParseErrorKind::ContentOutsideRoot, pos));
            }
            self.root_seen = true;
        }
        Ok(())
    }

    /// The element of a start tag from `pos` to `end` named `raw_name`, its attributes read
    /// into `attrs`; `empty` for `<name/>`.
    fn element(
        &mut self,
        raw_name: Cow<'a, str>,
        pos: usize,
        end: usize,
        empty: bool,
    ) -> Result<(), Failure> {
        let (prefix_name, local) = self
            .qname(&raw_name)
            .ok_or_else(|| invalid_qname(&raw_name, pos + 1))?;
        let parent_scope = self.stack.last().map_or(NONE, |f| f.scope);
        let mut scope = parent_scope;
        let attrs = std::mem::take(&mut self.attrs);
        for a in &attrs {
            let prefix = if a.key == "xmlns" {
                ""
            } else if let Some(p) = a.key.strip_prefix("xmlns:") {
                if chars::qname_error(&a.key).is_some() {
                    return Err(invalid_qname(&a.key, a.offset));
                }
                p
            } else {
                continue;
            };
            let mut scratch = std::mem::take(&mut self.scratch);
            let uri: &str = if a.plain {
                &a.value
            } else {
                scratch.clear();
                append_text(&mut scratch, &a.value, true)
                    .map_err(|(k, o)| (k, a.value_offset() + o))?;
                &scratch
            };
            let bad = (!prefix.is_empty() && uri.is_empty())
                || prefix == "xmlns"
                || (prefix == "xml") != (uri == XML_NAMESPACE)
                || uri == XMLNS_NAMESPACE;
            if bad {
                return Err((
                    ParseErrorKind::InvalidNamespaceDeclaration {
                        name: a.key.to_string(),
                        uri: uri.to_owned(),
                    },
                    a.offset,
                ));
            }
            let uri = match self.uris.get(uri) {
                Some(&name) => name,
                None => {
                    let name = Name::intern(uri);
                    self.uris.insert(uri.to_owned(), name);
                    name
                }
            };
            self.scratch = scratch;
            let binding = NsBinding {
                prefix: self.intern(prefix),
                uri,
                parent: scope,
            };
            scope = self.doc.scopes.len() as u32;
            self.doc.scopes.push(binding);
        }

        let ns = self.resolve(scope, prefix_name, true).ok_or_else(|| {
            (
                ParseErrorKind::UndeclaredPrefix {
                    prefix: split_qname(&raw_name).0.into(),
                },
                pos,
            )
        })?;
        let name = ExpandedName { ns, local };
        let n = self.push_child(NodeKind::Element, name, pos)?;
        self.by_name.add(name, n);
        {
            let d = &mut self.doc.nodes[n as usize];
            d.prefix = prefix_name;
            d.tag_end = end as u32;
            d.scope = scope;
        }
        self.stack.push(Frame {
            node: n,
            last_child: NONE,
            raw_name,
            scope,
        });

        for a in &attrs {
            if a.key == "xmlns" || a.key.starts_with("xmlns:") {
                continue;
            }
            let (prefix_name, local) = self
                .qname(&a.key)
                .ok_or_else(|| invalid_qname(&a.key, a.offset))?;
            let ns = if prefix_name.is_empty() {
                Name::EMPTY
            } else {
                self.resolve(scope, prefix_name, false).ok_or_else(|| {
                    (
                        ParseErrorKind::UndeclaredPrefix {
                            prefix: split_qname(&a.key).0.into(),
                        },
                        a.offset,
                    )
                })?
            };
            let name = ExpandedName { ns, local };
            let first_attr = n + 1;
            let duplicate = (first_attr..self.doc.nodes.len() as u32)
                .any(|i| self.doc.nodes[i as usize].name == name);
            if duplicate {
                return Err((
                    ParseErrorKind::DuplicateAttribute {
                        name: a.key.to_string(),
                    },
                    a.offset,
                ));
            }
            let at = self.push_node(NodeKind::Attribute, name, a.offset)?;
            let borrowed = a.value_at.filter(|_| a.plain);
            let start = self.doc.text.len();
            if borrowed.is_none() {
                append_text(&mut self.doc.text, &a.value, true)
                    .map_err(|(k, o)| (k, a.value_offset() + o))?;
            }
            let d = &mut self.doc.nodes[at as usize];
            d.prefix = prefix_name;
            d.tag_end = end as u32;
            match borrowed {
                Some(value_at) => self.borrow_value(at, value_at, a.value.len(), a.offset)?,
                None => self.finish_value(at, start, a.offset)?,
            }
        }
        self.attrs = attrs;
        let attr_end = self.doc.nodes.len() as u32;
        self.doc.nodes[n as usize].attr_end = attr_end;
        if empty {
            self.stack.pop();
            self.close(n, pos);
        }
        Ok(())
    }

    fn resolve(&self, scope: u32, p: Name, element: bool) -> Option<Name> {
        if p == self.xml_prefix {
            static XML: LazyLock<Name> = LazyLock::new(|| Name::intern(XML_NAMESPACE));
            return Some(*XML);
        }
        let mut i = scope;
        while let Some(b) = self.doc.scopes.get(i as usize) {
            if b.prefix == p {
                return Some(b.uri);
            }
            i = b.parent;
        }
        // Unprefixed element names with no default namespace are in no namespace.
        (p.is_empty() && element).then_some(Name::EMPTY)
    }

    fn close(&mut self, n: u32, close_offset: usize) {
        let end = self.doc.nodes.len() as u32;
        let d = &mut self.doc.nodes[n as usize];
        d.subtree_end = end;
        d.close = close_offset as u32;
    }
}

fn malformed(source: quick_xml::Error) -> ParseErrorKind {
    use quick_xml::errors::IllFormedError;
    match source {
        quick_xml::Error::IllFormed(IllFormedError::UnmatchedEndTag(name)) => {
            ParseErrorKind::UnexpectedEndTag { name }
        }
        quick_xml::Error::IllFormed(IllFormedError::MismatchedEndTag { expected, found }) => {
            ParseErrorKind::MismatchedEndTag { expected, found }
        }
        source => ParseErrorKind::Malformed { source },
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TextKind {
    Raw,
    CData,
    Resolved,
}

/// Refuses the XML declaration `decl` (from `<?xml` to `?>`) found at `at`, unless its
/// characters are allowed, its pseudo-attributes are as XML 1.0 has them (see
/// [`declaration`]) and the encoding it names, if any, is UTF-8 (or US-ASCII, a part of it).
/// A document that names another encoding is refused at its declaration whatever its bytes
/// (pure ASCII too): segur reads UTF-8 documents, as CI-SIS documents are.
/// Checks the XML declaration `decl` at `at`; its encoding must be UTF-8, or the one the input
/// was read in (`read_as`, see [`encoding::to_utf8`]).
fn check_declaration(
    decl: &str,
    at: usize,
    read_as: Option<encoding::Encoding>,
) -> Result<(), Failure> {
    check_chars(decl, at)?;
    let encoding = declaration::read(decl).map_err(|(kind, i)| (kind, at + i))?;
    if let Some(enc) = encoding {
        let ok = match read_as {
            Some(e) => e.accepts(enc),
            // The one name of UTF-8 the chain's parser knows (it refuses `UTF8`).
            None => enc.eq_ignore_ascii_case("UTF-8"),
        };
        if !ok {
            return Err((
                ParseErrorKind::UnsupportedEncoding {
                    encoding: enc.to_owned(),
                },
                at,
            ));
        }
    }
    Ok(())
}

/// Refuses `name`, found at `at`, unless it is an XML `Name`; the error points at its first
/// character out of place.
fn check_name(name: &str, at: usize) -> Result<(), Failure> {
    match chars::name_error(name) {
        None => Ok(()),
        Some(i) => Err((ParseErrorKind::InvalidName { name: name.into() }, at + i)),
    }
}

/// Refuses the control characters XML forbids in `s`, found at `at` (comments, processing
/// instructions, the XML declaration: text and values are checked as they are normalised).
fn check_chars(s: &str, at: usize) -> Result<(), Failure> {
    let bytes = s.as_bytes();
    // Sixteen bytes at a time, each block one vector operation (the last one overlapping the
    // one before): these are short, and their place is looked for only when there is one.
    let block = |b: &[u8; 16]| b.iter().fold(false, |any, &b| any | forbidden_control(b));
    let (blocks, rest) = bytes.as_chunks::<16>();
    let found = blocks.iter().any(block)
        || match bytes.last_chunk::<16>() {
            Some(last) if !rest.is_empty() => block(last),
            Some(_) => false,
            None => rest.iter().any(|&b| forbidden_control(b)),
        };
    if !found {
        return Ok(());
    }
    match bytes.iter().position(|&b| forbidden_control(b)) {
        None => Ok(()),
        Some(i) => Err((
            ParseErrorKind::InvalidChar {
                code: u32::from(bytes[i]),
            },
            at + i,
        )),
    }
}

/// Whether `b` is a control character XML forbids (all below 0x20 but TAB, LF and CR).
fn forbidden_control(b: u8) -> bool {
    (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r')
}

/// The error for `name`, found at `at`, an XML `Name` but no `QName`: at its first character
/// out of place.
#[cold]
fn invalid_qname(name: &str, at: usize) -> Failure {
    let i = chars::qname_error(name).unwrap_or(0);
    (ParseErrorKind::InvalidQName { name: name.into() }, at + i)
}

/// The error for the attribute `name` at `at`, written right after the value before it.
#[cold]
fn no_space_before(name: &str, at: usize) -> Failure {
    (
        ParseErrorKind::NoSpaceBetweenAttributes { name: name.into() },
        at,
    )
}

fn split_qname(raw: &str) -> (&str, &str) {
    raw.split_once(':').unwrap_or(("", raw))
}

/// What [`scan_attribute`] found in a start tag.
#[derive(Debug, PartialEq, Eq)]
enum AttrScan {
    /// Only whitespace is left.
    End,
    /// An attribute: the byte ranges of its name and of its value (inside the quotes).
    Attr {
        key: std::ops::Range<usize>,
        value: std::ops::Range<usize>,
    },
    /// Anything else: an error, which quick-xml's reading reports.
    Other,
}

/// Reads the attribute at `from` in `tag` (a start tag's text after the element name) the way
/// quick-xml's attribute iterator reads it in XML mode, for the shape that iterator accepts:
/// whitespace, a name (its first character, then up to `=` or whitespace), whitespace, `=`,
/// whitespace, then a value in matching quotes. The next attribute is read from just after the closing quote.
fn scan_attribute(tag: &[u8], from: usize) -> AttrScan {
    let space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let skip_space = |mut i: usize| {
        while tag.get(i).is_some_and(|&b| space(b)) {
            i += 1;
        }
        i
    };
    let key_start = skip_space(from);
    if key_start >= tag.len() {
        return AttrScan::End;
    }
    // The first character belongs to the name whatever it is (an `=` too), as in quick-xml.
    let key_end = find_byte(
        tag,
        key_start + 1,
        |w| swar_eq(w, b'=') | swar_below(w, 0x21),
        |b| b == b'=' || space(b),
    );
    let i = skip_space(key_end);
    if tag.get(i) != Some(&b'=') {
        return AttrScan::Other;
    }
    let i = skip_space(i + 1);
    let quote = match tag.get(i) {
        Some(&q @ (b'"' | b'\'')) => q,
        _ => return AttrScan::Other,
    };
    let value_start = i + 1;
    let value_end = find_byte(tag, value_start, |w| swar_eq(w, quote), |b| b == quote);
    if value_end >= tag.len() {
        return AttrScan::Other;
    }
    AttrScan::Attr {
        key: key_start..key_end,
        value: value_start..value_end,
    }
}

/// Ones in the high bit of every byte of a word.
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
/// Ones in the low bit of every byte of a word.
const LOW_BITS: u64 = 0x0101_0101_0101_0101;

/// A word whose lowest set high bit marks the first byte of `w` below `n` (`n` at most 0x80;
/// higher marks may be false, the lowest is exact).
fn swar_below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(LOW_BITS * u64::from(n)) & !w & HIGH_BITS
}

/// A word whose lowest set high bit marks the first byte of `w` equal to `b`.
fn swar_eq(w: u64, b: u8) -> u64 {
    swar_below(w ^ (LOW_BITS * u64::from(b)), 1)
}

/// The index of the first byte at or after `from` where `stop` holds, else `bytes.len()`.
/// Eight bytes at a time: `candidates` marks (as [`swar_below`] does) bytes that may stop the
/// search, with no stopping byte unmarked before the first mark; `stop` decides each.
fn find_byte(
    bytes: &[u8],
    from: usize,
    candidates: impl Fn(u64) -> u64,
    stop: impl Fn(u8) -> bool,
) -> usize {
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let marks = candidates(u64::from_le_bytes(w));
        if marks == 0 {
            i += 8;
            continue;
        }
        let at = i + (marks.trailing_zeros() / 8) as usize;
        if stop(bytes[at]) {
            return at;
        }
        // A candidate that does not stop (a control character in a name): on byte by byte.
        i = at + 1;
    }
    while i < bytes.len() && !stop(bytes[i]) {
        i += 1;
    }
    i
}

/// Whether character data is its own value: no reference, no CR (line ends), no forbidden
/// control character. Blocks are scanned without an early exit, so that they vectorise.
fn plain_text(bytes: &[u8]) -> bool {
    let special = |b: u8| (b == b'&') | ((b < 0x20) & (b != b'\t') & (b != b'\n'));
    bytes
        .chunks(256)
        .all(|block| !block.iter().fold(false, |any, &b| any | special(b)))
}

/// Refuses a `]]>` in `text` (character data at `pos`, outside a CDATA section), unless a
/// forbidden control character before it is to be reported first. The own tokenizer checks
/// as it finds the end of the text (see [`fast`]).
fn check_cdata_end(text: &str, pos: usize) -> Result<(), Failure> {
    let bytes = text.as_bytes();
    let Some(gt) = memchr::memchr_iter(b'>', bytes).find(|&i| i >= 2 && bytes[i - 2..i] == *b"]]")
    else {
        return Ok(());
    };
    let at = gt - 2;
    if let Some(i) = first_forbidden_control(&bytes[..at]) {
        let code = u32::from(bytes[i]);
        return Err((ParseErrorKind::InvalidChar { code }, pos + i));
    }
    Err((ParseErrorKind::CdataEndInText, pos + at))
}

/// Whether an attribute value is its own normalised value: no reference, no whitespace but
/// spaces, no control character, no `<` (refused).
fn plain_attribute(value: &str) -> bool {
    !value.bytes().any(|b| b < 0x20 || b == b'&' || b == b'<')
}

/// The offset of the first control character XML forbids (all below 0x20 but TAB, LF and
/// CR). The scan has no early exit inside a block, so that it compiles to a vector loop: the
/// text of a document is mostly long runs, a base64 PDF above all.
fn first_forbidden_control(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    for block in bytes.chunks(512) {
        if block
            .iter()
            .fold(false, |any, &b| any | forbidden_control(b))
        {
            return block
                .iter()
                .position(|&b| forbidden_control(b))
                .map(|i| at + i);
        }
        at += block.len();
    }
    None
}

/// Appends `raw` with references resolved, line ends normalised and, for attribute values,
/// whitespace normalised (XML 1.0 §2.11, §3.3.3); offsets in errors are relative to `raw`.
fn append_text(
    out: &mut String,
    raw: &str,
    attribute: bool,
) -> Result<(), (ParseErrorKind, usize)> {
    if !attribute {
        return append_char_data(out, raw, true);
    }
    let bytes = raw.as_bytes();
    let mut i = 0;
    let mut run = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b >= 0x20 && b != b'&' && b != b'<' {
            i += 1;
            continue;
        }
        out.push_str(&raw[run..i]);
        match b {
            b'&' => {
                let Some(len) = raw[i + 1..].find(';') else {
                    return Err((ParseErrorKind::BareAmpersand, i));
                };
                let reference = &raw[i + 1..i + 1 + len];
                push_reference(reference, out).map_err(|k| (k, i))?;
                i += len + 2;
            }
            b'\r' => {
                out.push(if attribute { ' ' } else { '\n' });
                i += if bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
            }
            b'\n' | b'\t' => {
                out.push(if attribute { ' ' } else { b as char });
                i += 1;
            }
            b'<' => return Err((ParseErrorKind::LtInAttributeValue, i)),
            _ => return Err((ParseErrorKind::InvalidChar { code: u32::from(b) }, i)),
        }
        run = i;
    }
    out.push_str(&raw[run..]);
    Ok(())
}

/// Character data appended to `out`: references resolved (not in a CDATA section, whose `&`
/// is a `&`), line ends normalised, forbidden control characters refused. Only references
/// and CRs change anything: memchr finds them, and everything between is copied as one run.
fn append_char_data(
    out: &mut String,
    raw: &str,
    references: bool,
) -> Result<(), (ParseErrorKind, usize)> {
    let bytes = raw.as_bytes();
    let end = first_forbidden_control(bytes).unwrap_or(bytes.len());
    let amp = if references { b'&' } else { b'\r' };
    let mut run = 0;
    for i in memchr::memchr2_iter(amp, b'\r', &bytes[..end]) {
        if i < run {
            continue; // inside a reference already read
        }
        out.push_str(&raw[run..i]);
        if bytes[i] == b'&' {
            let Some(len) = raw[i + 1..].find(';') else {
                return Err((ParseErrorKind::BareAmpersand, i));
            };
            push_reference(&raw[i + 1..i + 1 + len], out).map_err(|k| (k, i))?;
            run = i + len + 2;
        } else {
            out.push('\n');
            run = i + if bytes.get(i + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
        }
    }
    if end < bytes.len() {
        if run < end {
            out.push_str(&raw[run..end]);
        }
        return Err((
            ParseErrorKind::InvalidChar {
                code: u32::from(bytes[end]),
            },
            end,
        ));
    }
    out.push_str(&raw[run..]);
    Ok(())
}

fn push_reference(reference: &str, out: &mut String) -> Result<(), ParseErrorKind> {
    let c = match reference {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => {
            let Some(num) = reference.strip_prefix('#') else {
                let valid = !reference.is_empty()
                    && !reference.contains(|c: char| c.is_whitespace() || c == '&');
                return Err(if valid {
                    ParseErrorKind::UndefinedEntity {
                        name: reference.into(),
                    }
                } else {
                    ParseErrorKind::BareAmpersand
                });
            };
            let code = match num.strip_prefix('x') {
                Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    u32::from_str_radix(hex, 16).ok()
                }
                None if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()) => {
                    num.parse().ok()
                }
                _ => None,
            };
            let invalid = || ParseErrorKind::InvalidCharRef {
                reference: reference.into(),
            };
            let c = code.and_then(char::from_u32).ok_or_else(invalid)?;
            if !is_xml_char(c) {
                return Err(invalid());
            }
            c
        }
    };
    out.push(c);
    Ok(())
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::{AttrScan, scan_attribute};
    use quick_xml::events::BytesStart;
    use std::ops::Range;

    type Spans = (Range<usize>, Range<usize>);

    /// The attributes `scan_attribute` reads in `tag` (text after the name), and whether it
    /// stopped at something it leaves to quick-xml.
    fn scanned(tag: &str) -> (Vec<Spans>, bool) {
        let mut out = Vec::new();
        let mut from = 0;
        loop {
            match scan_attribute(tag.as_bytes(), from) {
                AttrScan::End => return (out, false),
                AttrScan::Other => return (out, true),
                AttrScan::Attr { key, value } => {
                    from = value.end + 1;
                    out.push((key, value));
                }
            }
        }
    }

    /// quick-xml's reading of the same attributes (unchecked for duplicates, as the parser
    /// reads them): spans relative to `tag`, or `None` for an error.
    fn quick_xml(tag: &str) -> Vec<Option<Spans>> {
        let content = format!("t{tag}");
        let start = BytesStart::from_content(content.as_str(), 1);
        let at = |s: &str| s.as_ptr() as usize - content.as_ptr() as usize - 1;
        start
            .attributes()
            .with_checks(false)
            .map(|a| {
                a.ok().map(|a| {
                    let (k, v) = (at(a.key.0), at(&a.value));
                    (k..k + a.key.0.len(), v..v + a.value.len())
                })
            })
            .collect()
    }

    fn agrees(tag: &str) {
        let (mine, other) = scanned(tag);
        let theirs = quick_xml(tag);
        assert!(mine.len() <= theirs.len(), "{tag:?}: {mine:?} {theirs:?}");
        for (m, t) in mine.iter().zip(&theirs) {
            assert_eq!(Some(m), t.as_ref(), "{tag:?}");
        }
        match theirs.get(mine.len()) {
            None => assert!(
                !other,
                "{tag:?}: left to quick-xml, which reads nothing more"
            ),
            // What is left to quick-xml is an error.
            Some(next) => {
                assert!(other, "{tag:?}: quick-xml reads more: {theirs:?}");
                assert!(next.is_none(), "{tag:?} {theirs:?}");
            }
        }
    }

    /// Every tag text of up to 7 characters over the characters that shape attributes reads
    /// as quick-xml reads it.
    #[test]
    fn the_scanner_reads_every_short_tag_as_quick_xml_does() {
        const ALPHABET: &[u8] = b" a=\"'b\n";
        let mut tags = vec![String::new()];
        let mut count = 0;
        for _ in 0..7 {
            tags = tags
                .iter()
                .flat_map(|t| {
                    ALPHABET.iter().map(move |&c| {
                        let mut t = t.clone();
                        t.push(char::from(c));
                        t
                    })
                })
                .collect();
            for t in &tags {
                agrees(t);
                count += 1;
            }
        }
        assert!(count > 900_000);
    }

    /// Longer random tags, so that names and values span the eight-byte steps of the scan,
    /// with control characters (part of a name for quick-xml) and multi-byte characters.
    #[test]
    fn the_scanner_reads_random_long_tags_as_quick_xml_does() {
        const PIECES: &[&str] = &[
            " ",
            "a",
            "bcdefghij",
            "=",
            "\"",
            "'",
            "\n",
            "\t",
            "\r",
            "\u{1}",
            "é",
            " x=\"",
            "\" ",
            " y='",
            "' ",
            "=\"",
            "\u{1f}",
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200_000 {
            let len = next() % 16;
            let tag: String = (0..len)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect();
            agrees(&tag);
        }
    }

    #[test]
    fn the_scanner_reads_long_and_odd_tags_as_quick_xml_does() {
        let tags = [
            " root=\"1.2.250.1.213.1.1.1.1\" extension='x y' xsi:type=\"CD\"",
            "\r\n\tcode = \"A\"\r\n  codeSystem\t=\t'2.16' ",
            " a=\"1\"b='2'",
            " a=\"<&amp;>\" b='\"' c=\"'\"",
            " a=\"1\" =\"2\"",
            " a=\"1\" b",
            " a=\"1\" b=",
            " a=\"1\" b=2",
            " a=\"1\" b=\"2",
            " a=\"1\" b c=\"3\"",
            " é=\"ü\" 名=\"値\"",
            "",
            "   ",
        ];
        for t in tags {
            agrees(t);
        }
        let many: String = (0..2000).map(|i| format!(" a{i}='{i}'")).collect();
        agrees(&many);
    }

    /// The attributes of every start tag of the ANS examples are read by the scanner alone.
    #[test]
    fn every_ans_start_tag_is_read_by_the_scanner() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/ans/testcontenucda/ExemplesCDA");
        let mut tags = 0;
        for entry in std::fs::read_dir(&dir).expect("the ANS examples") {
            let path = entry.expect("an entry").path();
            if path.extension().is_none_or(|e| e != "xml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("UTF-8");
            let mut reader = quick_xml::Reader::from_str(&text);
            loop {
                match reader.read_event().expect("well-formed") {
                    quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                        let raw = e.attributes_raw();
                        assert!(!scanned(raw).1, "{}: {raw:?}", path.display());
                        agrees(raw);
                        tags += 1;
                    }
                    quick_xml::events::Event::Eof => break,
                    _ => {}
                }
            }
        }
        assert!(tags > 100_000, "{tags}");
    }
}
