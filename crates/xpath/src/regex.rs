//! XPath regular expressions compiled through [`segur_xml::xsregex`], with a cache, and
//! `fn:replace` replacement strings.

use std::collections::HashMap;

use segur_xml::hash::FxMap;
use std::borrow::Cow;
use std::sync::{Arc, LazyLock, Mutex};

use regex::Regex;
use segur_xml::xsregex::{Dialect, Flags, translate};

/// Why a regex or flags could not be translated or compiled.
#[derive(Debug)]
pub(crate) struct RegexError {
    pub(crate) bad_flags: bool,
    pub(crate) reason: String,
}

fn fail(reason: impl Into<String>) -> RegexError {
    RegexError {
        bad_flags: false,
        reason: reason.into(),
    }
}

/// A compiled XPath regular expression.
#[derive(Debug)]
pub(crate) struct XRegex {
    re: Regex,
    /// Whether it matches the empty string (`fn:replace` and `fn:tokenize` refuse such a
    /// pattern, FORX0003): worked out once, not on every call.
    pub(crate) matches_empty: bool,
}

impl std::ops::Deref for XRegex {
    type Target = Regex;

    fn deref(&self) -> &Regex {
        &self.re
    }
}

type RegexCache = Mutex<HashMap<(String, String), Arc<XRegex>>>;

static CACHE: LazyLock<RegexCache> = LazyLock::new(|| Mutex::new(HashMap::new()));
const CACHE_LIMIT: usize = 4096;

/// A thread's key buffer and its regexes.
type LocalCache = std::cell::RefCell<(String, FxMap<Box<str>, Arc<XRegex>>)>;

thread_local! {
    /// Each thread's recent regexes, keyed by `flags NUL pattern`, in front of the shared
    /// cache: a pattern held in a variable (`matches(@root, $OIDpattern)`, on every II element)
    /// is then found without taking a lock or allocating a key.
    static LOCAL: LocalCache = std::cell::RefCell::new((String::new(), FxMap::default()));
}

/// Compiles (or fetches from the thread's or the process-wide cache) an XPath regex.
pub(crate) fn compile(pattern: &str, flags: &str) -> Result<Arc<XRegex>, RegexError> {
    LOCAL.with(|local| {
        let (key, map) = &mut *local.borrow_mut();
        key.clear();
        key.push_str(flags);
        key.push('\0');
        key.push_str(pattern);
        if let Some(re) = map.get(key.as_str()) {
            return Ok(re.clone());
        }
        let re = compile_shared(pattern, flags)?;
        if map.len() >= CACHE_LIMIT {
            map.clear();
        }
        map.insert(Box::from(key.as_str()), re.clone());
        Ok(re)
    })
}

fn compile_shared(pattern: &str, flags: &str) -> Result<Arc<XRegex>, RegexError> {
    let key = (pattern.to_owned(), flags.to_owned());
    if let Some(re) = CACHE.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(re.clone());
    }
    let flags = Flags::parse(flags).map_err(|e| RegexError {
        bad_flags: true,
        reason: e.to_string(),
    })?;
    let translated = translate(pattern, Dialect::XPath(flags)).map_err(|e| fail(e.to_string()))?;
    let re = regex::RegexBuilder::new(&translated)
        .size_limit(1 << 22)
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let re = Arc::new(XRegex {
        matches_empty: re.is_match(""),
        re,
    });
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= CACHE_LIMIT {
        cache.clear();
    }
    cache.insert(key, re.clone());
    Ok(re)
}

/// An XPath replacement string (`$N` group references, `\$` and `\\` escapes), parsed once.
#[derive(Debug, PartialEq)]
pub(crate) struct Replacement(Vec<Part>);

#[derive(Debug, PartialEq)]
enum Part {
    Text(String),
    /// A group's match; group 0 is the whole match.
    Group(usize),
}

impl Replacement {
    /// Parses `s` for a pattern with `groups` capturing groups; `None` when it is malformed
    /// (FORX0004). `$N` takes as many digits as make a group number no greater than `groups`,
    /// and stands for nothing when even its first digit names a group past `groups`.
    pub(crate) fn parse(s: &str, groups: usize) -> Option<Replacement> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next()? {
                    c @ ('\\' | '$') => text.push(c),
                    _ => return None,
                },
                '$' => {
                    let mut n: Option<usize> = None;
                    while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                        let candidate = n.map_or(Some(d as usize), |n| {
                            n.checked_mul(10)?.checked_add(d as usize)
                        });
                        match (n, candidate) {
                            (Some(_), Some(c)) if c > groups => break,
                            (Some(_), None) => break,
                            _ => {}
                        }
                        n = candidate;
                        chars.next();
                    }
                    let g = n?;
                    if g <= groups {
                        if !text.is_empty() {
                            parts.push(Part::Text(std::mem::take(&mut text)));
                        }
                        parts.push(Part::Group(g));
                    }
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Some(Replacement(parts))
    }

    /// `input` with every match of `re` replaced (`re` does not match the empty string);
    /// borrowed when nothing matches.
    pub(crate) fn replace_all<'s>(&self, re: &Regex, input: &'s str) -> Cow<'s, str> {
        let mut locations = re.capture_locations();
        let mut out = String::new();
        let mut last = 0;
        let mut at = 0;
        while at <= input.len() {
            let Some(m) = re.captures_read_at(&mut locations, input, at) else {
                break;
            };
            out.push_str(&input[last..m.start()]);
            for part in &self.0 {
                match part {
                    Part::Text(t) => out.push_str(t),
                    Part::Group(g) => {
                        if let Some((from, to)) = locations.get(*g) {
                            out.push_str(&input[from..to]);
                        }
                    }
                }
            }
            last = m.end();
            // A pattern that matches the empty string is refused before it gets here; should
            // one still match empty, the search moves on by a character.
            at = match input[m.end()..].chars().next() {
                _ if m.end() > m.start() => m.end(),
                Some(c) => m.end() + c.len_utf8(),
                None => input.len() + 1,
            };
        }
        if at == 0 {
            // No match.
            return Cow::Borrowed(input);
        }
        out.push_str(&input[last..]);
        Cow::Owned(out)
    }
}

/// [`Replacement::parse`], kept per thread by text and group count (the replacement is nearly
/// always a literal: `replace($ts, '^-?([^+-]+)([+-].*)?', '$1')` on every timestamp).
pub(crate) fn replacement(s: &str, groups: usize) -> Option<Arc<Replacement>> {
    type Parsed = FxMap<Box<str>, Vec<(usize, Option<Arc<Replacement>>)>>;
    thread_local! {
        static PARSED: std::cell::RefCell<Parsed> = std::cell::RefCell::new(FxMap::default());
    }
    PARSED.with(|parsed| {
        let mut parsed = parsed.borrow_mut();
        if let Some((_, known)) = parsed
            .get(s)
            .and_then(|v| v.iter().find(|(g, _)| *g == groups))
        {
            return known.clone();
        }
        let made = Replacement::parse(s, groups).map(Arc::new);
        if parsed.len() >= CACHE_LIMIT {
            parsed.clear();
        }
        parsed
            .entry(Box::from(s))
            .or_default()
            .push((groups, made.clone()));
        made
    })
}
