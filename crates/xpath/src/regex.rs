//! XPath regular expressions compiled through [`segur_xml::xsregex`], with a cache, and
//! `fn:replace` replacement strings.

use std::collections::HashMap;

use segur_xml::hash::FxMap;
use std::fmt::Write;
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

type RegexCache = Mutex<HashMap<(String, String), Arc<Regex>>>;

static CACHE: LazyLock<RegexCache> = LazyLock::new(|| Mutex::new(HashMap::new()));
const CACHE_LIMIT: usize = 4096;

/// A thread's key buffer and its regexes.
type LocalCache = std::cell::RefCell<(String, FxMap<Box<str>, Arc<Regex>>)>;

thread_local! {
    /// Each thread's recent regexes, keyed by `flags NUL pattern`, in front of the shared
    /// cache: a pattern held in a variable (`matches(@root, $OIDpattern)`, on every II element)
    /// is then found without taking a lock or allocating a key.
    static LOCAL: LocalCache = std::cell::RefCell::new((String::new(), FxMap::default()));
}

/// Compiles (or fetches from the thread's or the process-wide cache) an XPath regex.
pub(crate) fn compile(pattern: &str, flags: &str) -> Result<Arc<Regex>, RegexError> {
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

fn compile_shared(pattern: &str, flags: &str) -> Result<Arc<Regex>, RegexError> {
    let key = (pattern.to_owned(), flags.to_owned());
    if let Some(re) = CACHE.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(re.clone());
    }
    let flags = Flags::parse(flags).map_err(|e| RegexError {
        bad_flags: true,
        reason: e.to_string(),
    })?;
    let translated = translate(pattern, Dialect::XPath(flags)).map_err(|e| fail(e.to_string()))?;
    let re = Arc::new(
        regex::RegexBuilder::new(&translated)
            .size_limit(1 << 22)
            .build()
            .map_err(|e| fail(e.to_string()))?,
    );
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= CACHE_LIMIT {
        cache.clear();
    }
    cache.insert(key, re.clone());
    Ok(re)
}

/// Translates an XPath replacement string (`$1`, `\$`, `\\`) to `regex` syntax.
pub(crate) fn replacement(s: &str, groups: usize) -> Option<String> {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                '\\' => out.push('\\'),
                '$' => out.push_str("$$"),
                _ => return None,
            },
            '$' => {
                let mut n = String::new();
                while let Some(&d) = chars.peek() {
                    if !d.is_ascii_digit() {
                        break;
                    }
                    let candidate = format!("{n}{d}");
                    if !n.is_empty() && candidate.parse::<usize>().ok()? > groups {
                        break;
                    }
                    n = candidate;
                    chars.next();
                }
                if n.is_empty() {
                    return None;
                }
                let g: usize = n.parse().ok()?;
                if g <= groups {
                    let _ = write!(out, "${{{g}}}");
                }
            }
            c => out.push(c),
        }
    }
    Some(out)
}
