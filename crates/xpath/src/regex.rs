//! XPath/XSD regular expressions translated to the `regex` crate's syntax, with a cache.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::{Arc, LazyLock, Mutex};

use regex::Regex;

/// Why a regex or flags could not be translated or compiled.
#[derive(Debug)]
pub(crate) struct RegexError {
    pub(crate) bad_flags: bool,
    pub(crate) reason: String,
}

const NAME_START: &str = ":A-Z_a-z\\u{C0}-\\u{D6}\\u{D8}-\\u{F6}\\u{F8}-\\u{2FF}\\u{370}-\\u{37D}\\u{37F}-\\u{1FFF}\\u{200C}-\\u{200D}\\u{2070}-\\u{218F}\\u{2C00}-\\u{2FEF}\\u{3001}-\\u{D7FF}\\u{F900}-\\u{FDCF}\\u{FDF0}-\\u{FFFD}\\u{10000}-\\u{EFFFF}";
const NAME_EXTRA: &str = "\\-.0-9\\u{B7}\\u{300}-\\u{36F}\\u{203F}-\\u{2040}";

const BLOCKS: &[(&str, u32, u32)] = &[
    ("BasicLatin", 0x0000, 0x007F),
    ("Latin-1Supplement", 0x0080, 0x00FF),
    ("LatinExtended-A", 0x0100, 0x017F),
    ("LatinExtended-B", 0x0180, 0x024F),
    ("IPAExtensions", 0x0250, 0x02AF),
    ("SpacingModifierLetters", 0x02B0, 0x02FF),
    ("CombiningDiacriticalMarks", 0x0300, 0x036F),
    ("Greek", 0x0370, 0x03FF),
    ("GreekandCoptic", 0x0370, 0x03FF),
    ("Cyrillic", 0x0400, 0x04FF),
    ("Armenian", 0x0530, 0x058F),
    ("Hebrew", 0x0590, 0x05FF),
    ("Arabic", 0x0600, 0x06FF),
    ("LatinExtendedAdditional", 0x1E00, 0x1EFF),
    ("GreekExtended", 0x1F00, 0x1FFF),
    ("GeneralPunctuation", 0x2000, 0x206F),
    ("SuperscriptsandSubscripts", 0x2070, 0x209F),
    ("CurrencySymbols", 0x20A0, 0x20CF),
    ("LetterlikeSymbols", 0x2100, 0x214F),
    ("NumberForms", 0x2150, 0x218F),
    ("Arrows", 0x2190, 0x21FF),
    ("MathematicalOperators", 0x2200, 0x22FF),
    ("BoxDrawing", 0x2500, 0x257F),
    ("GeometricShapes", 0x25A0, 0x25FF),
    ("MiscellaneousSymbols", 0x2600, 0x26FF),
    ("Dingbats", 0x2700, 0x27BF),
    ("CJKSymbolsandPunctuation", 0x3000, 0x303F),
    ("Hiragana", 0x3040, 0x309F),
    ("Katakana", 0x30A0, 0x30FF),
    ("CJKUnifiedIdeographs", 0x4E00, 0x9FFF),
    ("PrivateUse", 0xE000, 0xF8FF),
    ("AlphabeticPresentationForms", 0xFB00, 0xFB4F),
    ("HalfwidthandFullwidthForms", 0xFF00, 0xFFEF),
    ("Specials", 0xFFF0, 0xFFFF),
];

fn fail(reason: impl Into<String>) -> RegexError {
    RegexError {
        bad_flags: false,
        reason: reason.into(),
    }
}

/// Translates an XPath regex and flags into `regex` syntax.
pub(crate) fn translate(pattern: &str, flags: &str) -> Result<String, RegexError> {
    let mut out = String::new();
    let (mut dot_all, mut extended) = (false, false);
    for f in flags.chars() {
        match f {
            's' => dot_all = true,
            'm' => out.push_str("(?m)"),
            'i' => out.push_str("(?i)"),
            'x' => extended = true,
            other => {
                return Err(RegexError {
                    bad_flags: true,
                    reason: format!("unknown flag '{other}'"),
                });
            }
        }
    }
    let chars: Vec<char> = if extended {
        let mut depth = 0i32;
        pattern
            .chars()
            .filter(|&c| {
                match c {
                    '[' => depth += 1,
                    ']' => depth -= 1,
                    _ => {}
                }
                depth > 0 || !matches!(c, ' ' | '\t' | '\n' | '\r')
            })
            .collect()
    } else {
        pattern.chars().collect()
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                i += 1;
                let Some(&e) = chars.get(i) else {
                    return Err(fail("trailing backslash"));
                };
                if e.is_ascii_digit() {
                    return Err(fail(format!("back-reference \\{e} is not supported")));
                }
                escape(&chars, &mut i, &mut out, false)?;
                continue;
            }
            '[' => {
                i = class(&chars, i, &mut out)?;
                continue;
            }
            '.' => out.push_str(if dot_all { "(?s:.)" } else { "[^\\n\\r]" }),
            '^' => out.push_str("(?:^)"),
            '$' => out.push_str("(?:$)"),
            '{' => {
                let close = chars[i..].iter().position(|&c| c == '}').map(|p| p + i);
                let Some(close) = close else {
                    return Err(fail("'{' without '}'"));
                };
                let body: String = chars[i + 1..close].iter().collect();
                let valid = !body.is_empty()
                    && body.split(',').count() <= 2
                    && body.split(',').next().is_some_and(|s| !s.is_empty())
                    && body.chars().all(|c| c.is_ascii_digit() || c == ',');
                if !valid {
                    return Err(fail(format!("invalid quantifier {{{body}}}")));
                }
                out.push('{');
                out.push_str(&body);
                out.push('}');
                i = close;
            }
            '#' | '&' | '~' | ' ' => {
                let _ = write!(out, "\\{c}");
            }
            '}' | ']' => return Err(fail(format!("unescaped '{c}'"))),
            c => out.push(c),
        }
        i += 1;
    }
    Ok(out)
}

/// Translates the escape at `chars[*i]` (after the backslash) and advances past it.
fn escape(
    chars: &[char],
    i: &mut usize,
    out: &mut String,
    in_class: bool,
) -> Result<(), RegexError> {
    let e = chars[*i];
    *i += 1;
    let (open, close) = if in_class { ("", "") } else { ("[", "]") };
    match e {
        'n' => out.push_str("\\n"),
        'r' => out.push_str("\\r"),
        't' => out.push_str("\\t"),
        '\\' | '|' | '.' | '-' | '^' | '?' | '*' | '+' | '{' | '}' | '(' | ')' | '[' | ']'
        | '$' => {
            out.push('\\');
            out.push(e);
        }
        's' => {
            let _ = write!(out, "{open} \\t\\n\\r{close}");
        }
        'S' if !in_class => out.push_str("[^ \\t\\n\\r]"),
        'd' => out.push_str("\\p{Nd}"),
        'D' => out.push_str("\\P{Nd}"),
        'w' if !in_class => out.push_str("[^\\p{P}\\p{Z}\\p{C}]"),
        'W' => out.push_str(if in_class {
            "\\p{P}\\p{Z}\\p{C}"
        } else {
            "[\\p{P}\\p{Z}\\p{C}]"
        }),
        'i' => {
            let _ = write!(out, "{open}{NAME_START}{close}");
        }
        'c' => {
            let _ = write!(out, "{open}{NAME_START}{NAME_EXTRA}{close}");
        }
        'I' if !in_class => {
            let _ = write!(out, "[^{NAME_START}]");
        }
        'C' if !in_class => {
            let _ = write!(out, "[^{NAME_START}{NAME_EXTRA}]");
        }
        'p' | 'P' => {
            if chars.get(*i) != Some(&'{') {
                return Err(fail(format!("\\{e} without '{{'")));
            }
            let close = chars[*i..]
                .iter()
                .position(|&c| c == '}')
                .map(|p| p + *i)
                .ok_or_else(|| fail("unclosed \\p{"))?;
            let name: String = chars[*i + 1..close].iter().collect();
            *i = close + 1;
            if let Some(block) = name.strip_prefix("Is") {
                let Some(&(_, lo, hi)) = BLOCKS.iter().find(|(b, _, _)| *b == block) else {
                    return Err(fail(format!("unknown block {name}")));
                };
                let neg = if e == 'P' { "^" } else { "" };
                if in_class && e == 'P' {
                    return Err(fail(format!("negated block \\P{{{name}}} inside a class")));
                }
                if in_class {
                    let _ = write!(out, "\\u{{{lo:X}}}-\\u{{{hi:X}}}");
                } else {
                    let _ = write!(out, "[{neg}\\u{{{lo:X}}}-\\u{{{hi:X}}}]");
                }
            } else {
                let known = matches!(
                    name.as_str(),
                    "L" | "Lu"
                        | "Ll"
                        | "Lt"
                        | "Lm"
                        | "Lo"
                        | "M"
                        | "Mn"
                        | "Mc"
                        | "Me"
                        | "N"
                        | "Nd"
                        | "Nl"
                        | "No"
                        | "P"
                        | "Pc"
                        | "Pd"
                        | "Ps"
                        | "Pe"
                        | "Pi"
                        | "Pf"
                        | "Po"
                        | "Z"
                        | "Zs"
                        | "Zl"
                        | "Zp"
                        | "S"
                        | "Sm"
                        | "Sc"
                        | "Sk"
                        | "So"
                        | "C"
                        | "Cc"
                        | "Cf"
                        | "Co"
                        | "Cn"
                );
                if !known {
                    return Err(fail(format!("unknown category \\p{{{name}}}")));
                }
                let _ = write!(out, "\\{e}{{{name}}}");
            }
        }
        other => return Err(fail(format!("unknown escape \\{other}"))),
    }
    Ok(())
}

/// Translates the class starting at `chars[start] == '['`; returns the index after it.
fn class(chars: &[char], start: usize, out: &mut String) -> Result<usize, RegexError> {
    let mut i = start + 1;
    out.push('[');
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(fail("unclosed '['"));
        };
        match c {
            ']' if !first => {
                out.push(']');
                return Ok(i + 1);
            }
            '-' if chars.get(i + 1) == Some(&'[') => {
                out.push_str("--");
                i = class(chars, i + 1, out)?;
                if chars.get(i) != Some(&']') {
                    return Err(fail("a subtraction must end its class"));
                }
                out.push(']');
                return Ok(i + 1);
            }
            '\\' => {
                i += 1;
                if chars.get(i).is_none() {
                    return Err(fail("trailing backslash"));
                }
                match chars[i] {
                    'S' | 'w' | 'I' | 'C' => {
                        // Negated classes nest in a class as a subclass.
                        let mut sub = String::new();
                        escape(chars, &mut i, &mut sub, false)?;
                        out.push_str(&sub);
                    }
                    _ => escape(chars, &mut i, out, true)?,
                }
                first = false;
                continue;
            }
            '[' => return Err(fail("unescaped '[' inside a class")),
            '-' if first || chars.get(i + 1) == Some(&']') => out.push_str("\\-"),
            '&' | '~' => {
                let _ = write!(out, "\\{c}");
            }
            c => out.push(c),
        }
        first = false;
        i += 1;
    }
}

type RegexCache = Mutex<HashMap<(String, String), Arc<Regex>>>;

static CACHE: LazyLock<RegexCache> = LazyLock::new(|| Mutex::new(HashMap::new()));
const CACHE_LIMIT: usize = 4096;

/// Compiles (or fetches from the process-wide cache) an XPath regex.
pub(crate) fn compile(pattern: &str, flags: &str) -> Result<Arc<Regex>, RegexError> {
    let key = (pattern.to_owned(), flags.to_owned());
    if let Some(re) = CACHE.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(re.clone());
    }
    let translated = translate(pattern, flags)?;
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
