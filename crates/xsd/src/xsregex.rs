//! Translation of XML Schema 1.0 regular expressions (Appendix F) to the `regex` crate's syntax.
//!
//! XSD patterns are implicitly anchored, have no `^`/`$` metacharacters, and know `\i`, `\c`,
//! `\p{IsBlock}` and character class subtraction (`[a-z-[aeiou]]`), which map to nested classes
//! and the `--` difference operator of the `regex` crate.

/// Why a pattern could not be translated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RegexError(pub(crate) String);

const NAME_START: &str = r"[:A-Z_a-z\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{2FF}\x{370}-\x{37D}\x{37F}-\x{1FFF}\x{200C}-\x{200D}\x{2070}-\x{218F}\x{2C00}-\x{2FEF}\x{3001}-\x{D7FF}\x{F900}-\x{FDCF}\x{FDF0}-\x{FFFD}\x{10000}-\x{EFFFF}]";
const NAME_CHAR: &str = r"[\-.0-9:A-Z_a-z\x{B7}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{37D}\x{37F}-\x{1FFF}\x{200C}-\x{200D}\x{203F}-\x{2040}\x{2070}-\x{218F}\x{2C00}-\x{2FEF}\x{3001}-\x{D7FF}\x{F900}-\x{FDCF}\x{FDF0}-\x{FFFD}\x{10000}-\x{EFFFF}]";

/// Unicode blocks named by XSD 1.0 (`\p{IsBasicLatin}` …), as code point ranges.
const BLOCKS: &[(&str, u32, u32)] = &[
    ("BasicLatin", 0x0000, 0x007F),
    ("Latin-1Supplement", 0x0080, 0x00FF),
    ("LatinExtended-A", 0x0100, 0x017F),
    ("LatinExtended-B", 0x0180, 0x024F),
    ("IPAExtensions", 0x0250, 0x02AF),
    ("SpacingModifierLetters", 0x02B0, 0x02FF),
    ("CombiningDiacriticalMarks", 0x0300, 0x036F),
    ("Greek", 0x0370, 0x03FF),
    ("Cyrillic", 0x0400, 0x04FF),
    ("Armenian", 0x0530, 0x058F),
    ("Hebrew", 0x0590, 0x05FF),
    ("Arabic", 0x0600, 0x06FF),
    ("Syriac", 0x0700, 0x074F),
    ("Thaana", 0x0780, 0x07BF),
    ("Devanagari", 0x0900, 0x097F),
    ("Bengali", 0x0980, 0x09FF),
    ("Gurmukhi", 0x0A00, 0x0A7F),
    ("Gujarati", 0x0A80, 0x0AFF),
    ("Oriya", 0x0B00, 0x0B7F),
    ("Tamil", 0x0B80, 0x0BFF),
    ("Telugu", 0x0C00, 0x0C7F),
    ("Kannada", 0x0C80, 0x0CFF),
    ("Malayalam", 0x0D00, 0x0D7F),
    ("Sinhala", 0x0D80, 0x0DFF),
    ("Thai", 0x0E00, 0x0E7F),
    ("Lao", 0x0E80, 0x0EFF),
    ("Tibetan", 0x0F00, 0x0FFF),
    ("Myanmar", 0x1000, 0x109F),
    ("Georgian", 0x10A0, 0x10FF),
    ("HangulJamo", 0x1100, 0x11FF),
    ("Ethiopic", 0x1200, 0x137F),
    ("Cherokee", 0x13A0, 0x13FF),
    ("UnifiedCanadianAboriginalSyllabics", 0x1400, 0x167F),
    ("Ogham", 0x1680, 0x169F),
    ("Runic", 0x16A0, 0x16FF),
    ("Khmer", 0x1780, 0x17FF),
    ("Mongolian", 0x1800, 0x18AF),
    ("LatinExtendedAdditional", 0x1E00, 0x1EFF),
    ("GreekExtended", 0x1F00, 0x1FFF),
    ("GeneralPunctuation", 0x2000, 0x206F),
    ("SuperscriptsandSubscripts", 0x2070, 0x209F),
    ("CurrencySymbols", 0x20A0, 0x20CF),
    ("CombiningMarksforSymbols", 0x20D0, 0x20FF),
    ("LetterlikeSymbols", 0x2100, 0x214F),
    ("NumberForms", 0x2150, 0x218F),
    ("Arrows", 0x2190, 0x21FF),
    ("MathematicalOperators", 0x2200, 0x22FF),
    ("MiscellaneousTechnical", 0x2300, 0x23FF),
    ("ControlPictures", 0x2400, 0x243F),
    ("OpticalCharacterRecognition", 0x2440, 0x245F),
    ("EnclosedAlphanumerics", 0x2460, 0x24FF),
    ("BoxDrawing", 0x2500, 0x257F),
    ("BlockElements", 0x2580, 0x259F),
    ("GeometricShapes", 0x25A0, 0x25FF),
    ("MiscellaneousSymbols", 0x2600, 0x26FF),
    ("Dingbats", 0x2700, 0x27BF),
    ("BraillePatterns", 0x2800, 0x28FF),
    ("CJKRadicalsSupplement", 0x2E80, 0x2EFF),
    ("KangxiRadicals", 0x2F00, 0x2FDF),
    ("IdeographicDescriptionCharacters", 0x2FF0, 0x2FFF),
    ("CJKSymbolsandPunctuation", 0x3000, 0x303F),
    ("Hiragana", 0x3040, 0x309F),
    ("Katakana", 0x30A0, 0x30FF),
    ("Bopomofo", 0x3100, 0x312F),
    ("HangulCompatibilityJamo", 0x3130, 0x318F),
    ("Kanbun", 0x3190, 0x319F),
    ("BopomofoExtended", 0x31A0, 0x31BF),
    ("EnclosedCJKLettersandMonths", 0x3200, 0x32FF),
    ("CJKCompatibility", 0x3300, 0x33FF),
    ("CJKUnifiedIdeographsExtensionA", 0x3400, 0x4DB5),
    ("CJKUnifiedIdeographs", 0x4E00, 0x9FFF),
    ("YiSyllables", 0xA000, 0xA48F),
    ("YiRadicals", 0xA490, 0xA4CF),
    ("HangulSyllables", 0xAC00, 0xD7A3),
    ("PrivateUse", 0xE000, 0xF8FF),
    ("CJKCompatibilityIdeographs", 0xF900, 0xFAFF),
    ("AlphabeticPresentationForms", 0xFB00, 0xFB4F),
    ("ArabicPresentationForms-A", 0xFB50, 0xFDFF),
    ("CombiningHalfMarks", 0xFE20, 0xFE2F),
    ("CJKCompatibilityForms", 0xFE30, 0xFE4F),
    ("SmallFormVariants", 0xFE50, 0xFE6F),
    ("ArabicPresentationForms-B", 0xFE70, 0xFEFE),
    ("Specials", 0xFEFF, 0xFEFF),
    ("HalfwidthandFullwidthForms", 0xFF00, 0xFFEF),
    ("Specials", 0xFFF0, 0xFFFD),
    ("OldItalic", 0x10300, 0x1032F),
    ("Gothic", 0x10330, 0x1034F),
    ("Deseret", 0x10400, 0x1044F),
    ("ByzantineMusicalSymbols", 0x1D000, 0x1D0FF),
    ("MusicalSymbols", 0x1D100, 0x1D1FF),
    ("MathematicalAlphanumericSymbols", 0x1D400, 0x1D7FF),
    ("CJKUnifiedIdeographsExtensionB", 0x20000, 0x2A6D6),
    ("CJKCompatibilityIdeographsSupplement", 0x2F800, 0x2FA1F),
    ("Tags", 0xE0000, 0xE007F),
];

const CATEGORIES: &[&str] = &[
    "L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No", "P", "Pc",
    "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Z", "Zs", "Zl", "Zp", "S", "Sm", "Sc", "Sk", "So", "C",
    "Cc", "Cf", "Co", "Cn",
];

/// Translates an XSD pattern to an anchored `regex` crate pattern.
pub(crate) fn translate(xsd: &str) -> Result<String, RegexError> {
    let chars: Vec<char> = xsd.chars().collect();
    let mut p = Parser {
        s: &chars,
        i: 0,
        depth: 0,
    };
    let mut out = String::with_capacity(xsd.len() * 2 + 8);
    out.push_str(r"\A(?:");
    p.reg_exp(&mut out)?;
    if p.i != chars.len() {
        return Err(RegexError(format!(
            "unexpected '{}' at {}",
            chars[p.i], p.i
        )));
    }
    out.push_str(r")\z");
    Ok(out)
}

struct Parser<'a> {
    s: &'a [char],
    i: usize,
    depth: u32,
}

fn lit(c: char, out: &mut String) {
    if c.is_ascii_alphanumeric() {
        out.push(c);
    } else {
        out.push_str(&format!("\\x{{{:X}}}", c as u32));
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn err<T>(&self, what: &str) -> Result<T, RegexError> {
        Err(RegexError(format!("{what} at {}", self.i)))
    }

    fn reg_exp(&mut self, out: &mut String) -> Result<(), RegexError> {
        self.depth += 1;
        if self.depth > 200 {
            return self.err("nesting too deep");
        }
        self.branch(out)?;
        while self.peek() == Some('|') {
            self.i += 1;
            out.push('|');
            self.branch(out)?;
        }
        self.depth -= 1;
        Ok(())
    }

    fn branch(&mut self, out: &mut String) -> Result<(), RegexError> {
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            self.atom(out)?;
            self.quantifier(out)?;
        }
        Ok(())
    }

    fn quantifier(&mut self, out: &mut String) -> Result<(), RegexError> {
        match self.peek() {
            Some(c @ ('?' | '*' | '+')) => {
                self.i += 1;
                out.push(c);
            }
            Some('{') => {
                self.i += 1;
                let start = self.i;
                while let Some(c) = self.peek() {
                    if c == '}' {
                        break;
                    }
                    if !(c.is_ascii_digit() || c == ',') {
                        return self.err("bad quantifier");
                    }
                    self.i += 1;
                }
                if self.peek() != Some('}') {
                    return self.err("unterminated quantifier");
                }
                let q: String = self.s[start..self.i].iter().collect();
                self.i += 1;
                let mut parts = q.splitn(2, ',');
                let lo = parts.next().unwrap_or("");
                if lo.is_empty() {
                    return self.err("quantifier without minimum");
                }
                let hi = parts.next();
                let lo_n: u32 = lo
                    .parse()
                    .map_err(|_| RegexError("quantifier too large".into()))?;
                if let Some(h) = hi.filter(|h| !h.is_empty()) {
                    let hi_n: u32 = h
                        .parse()
                        .map_err(|_| RegexError("quantifier too large".into()))?;
                    if hi_n < lo_n {
                        return self.err("quantifier max below min");
                    }
                }
                out.push('{');
                out.push_str(&q);
                out.push('}');
            }
            _ => {}
        }
        Ok(())
    }

    fn atom(&mut self, out: &mut String) -> Result<(), RegexError> {
        let Some(c) = self.peek() else {
            return self.err("unexpected end");
        };
        match c {
            '(' => {
                self.i += 1;
                out.push_str("(?:");
                self.reg_exp(out)?;
                if self.peek() != Some(')') {
                    return self.err("missing ')'");
                }
                self.i += 1;
                out.push(')');
            }
            '[' => {
                self.i += 1;
                self.char_class_expr(out)?;
            }
            '.' => {
                self.i += 1;
                out.push_str(r"[^\n\r]");
            }
            '\\' => {
                self.i += 1;
                self.escape(out)?;
            }
            '?' | '*' | '+' | '{' | '}' | ')' | ']' => return self.err("unexpected metacharacter"),
            _ => {
                self.i += 1;
                lit(c, out);
            }
        }
        Ok(())
    }

    /// After a backslash: writes a class or a literal.
    fn escape(&mut self, out: &mut String) -> Result<(), RegexError> {
        let Some(c) = self.peek() else {
            return self.err("dangling backslash");
        };
        self.i += 1;
        match c {
            'n' => out.push_str(r"\n"),
            'r' => out.push_str(r"\r"),
            't' => out.push_str(r"\t"),
            '\\' | '|' | '.' | '?' | '*' | '+' | '(' | ')' | '{' | '}' | '-' | '[' | ']' | '^' => {
                lit(c, out)
            }
            's' => out.push_str(r"[\x20\t\n\r]"),
            'S' => out.push_str(r"[^\x20\t\n\r]"),
            'i' => out.push_str(NAME_START),
            'I' => {
                out.push_str("[^");
                out.push_str(NAME_START);
                out.push(']');
            }
            'c' => out.push_str(NAME_CHAR),
            'C' => {
                out.push_str("[^");
                out.push_str(NAME_CHAR);
                out.push(']');
            }
            'd' => out.push_str(r"\p{Nd}"),
            'D' => out.push_str(r"\P{Nd}"),
            'w' => out.push_str(r"[^\p{P}\p{Z}\p{C}]"),
            'W' => out.push_str(r"[\p{P}\p{Z}\p{C}]"),
            'p' | 'P' => {
                let class = self.property()?;
                if c == 'P' {
                    out.push_str("[^");
                    out.push_str(&class);
                    out.push(']');
                } else {
                    out.push_str(&class);
                }
            }
            _ => return self.err("unknown escape"),
        }
        Ok(())
    }

    /// `{Name}` after `\p`: a bracketed class.
    fn property(&mut self) -> Result<String, RegexError> {
        if self.peek() != Some('{') {
            return self.err("expected '{'");
        }
        self.i += 1;
        let start = self.i;
        while self.peek().is_some_and(|c| c != '}') {
            self.i += 1;
        }
        if self.peek() != Some('}') {
            return self.err("unterminated property");
        }
        let name: String = self.s[start..self.i].iter().collect();
        self.i += 1;
        if let Some(block) = name.strip_prefix("Is") {
            let ranges: Vec<_> = BLOCKS.iter().filter(|b| b.0 == block).collect();
            if ranges.is_empty() {
                return Err(RegexError(format!("unknown block \\p{{{name}}}")));
            }
            let mut s = String::from("[");
            for (_, a, b) in ranges {
                s.push_str(&format!("\\x{{{a:X}}}-\\x{{{b:X}}}"));
            }
            s.push(']');
            Ok(s)
        } else if CATEGORIES.contains(&name.as_str()) {
            Ok(format!("[\\p{{{name}}}]"))
        } else {
            Err(RegexError(format!("unknown property \\p{{{name}}}")))
        }
    }

    /// After `[`: group, optional subtraction, then `]`.
    fn char_class_expr(&mut self, out: &mut String) -> Result<(), RegexError> {
        self.depth += 1;
        if self.depth > 200 {
            return self.err("nesting too deep");
        }
        let negated = if self.peek() == Some('^') {
            self.i += 1;
            true
        } else {
            false
        };
        let mut items = String::new();
        let mut first = true;
        let mut subtraction: Option<String> = None;
        loop {
            let Some(c) = self.peek() else {
                return self.err("unterminated class");
            };
            if c == ']' && !first {
                self.i += 1;
                break;
            }
            if c == '-' && self.s.get(self.i + 1) == Some(&'[') && !first {
                self.i += 2;
                let mut sub = String::new();
                self.char_class_expr(&mut sub)?;
                subtraction = Some(sub);
                if self.peek() != Some(']') {
                    return self.err("subtraction must end the class");
                }
                self.i += 1;
                break;
            }
            if c == '[' {
                return self.err("'[' must be escaped in a class");
            }
            first = false;
            // one char or escape, maybe a range
            let start = self.class_atom(&mut items)?;
            if let Some(lo) = start
                && self.peek() == Some('-')
                && self
                    .s
                    .get(self.i + 1)
                    .is_some_and(|&n| n != ']' && n != '[')
            {
                self.i += 1;
                let mut tmp = String::new();
                let Some(hi) = self.class_atom(&mut tmp)? else {
                    return self.err("range end must be a single character");
                };
                if hi < lo {
                    return self.err("range out of order");
                }
                // replace the single literal pushed for `lo` by the range
                let mut l = String::new();
                lit(lo, &mut l);
                items.truncate(items.len() - l.len());
                items.push_str(&l);
                items.push('-');
                lit(hi, &mut items);
            }
        }
        if items.is_empty() {
            return self.err("empty class");
        }
        let base = if negated {
            format!("[^{items}]")
        } else {
            format!("[{items}]")
        };
        match subtraction {
            Some(sub) => {
                out.push('[');
                out.push_str(&base);
                out.push_str("--");
                out.push_str(&sub);
                out.push(']');
            }
            None => out.push_str(&base),
        }
        self.depth -= 1;
        Ok(())
    }

    /// One class item; returns the character when it is a single character (a range bound).
    fn class_atom(&mut self, items: &mut String) -> Result<Option<char>, RegexError> {
        let Some(c) = self.peek() else {
            return self.err("unterminated class");
        };
        self.i += 1;
        if c != '\\' {
            lit(c, items);
            return Ok(Some(c));
        }
        let Some(e) = self.peek() else {
            return self.err("dangling backslash");
        };
        let single = match e {
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            '\\' | '|' | '.' | '?' | '*' | '+' | '(' | ')' | '{' | '}' | '-' | '[' | ']' | '^' => {
                Some(e)
            }
            _ => None,
        };
        if let Some(ch) = single {
            self.i += 1;
            lit(ch, items);
            return Ok(Some(ch));
        }
        // multi-character escape: nested class
        let mut tmp = String::new();
        self.escape(&mut tmp)?;
        if tmp.starts_with('[') {
            items.push_str(&tmp);
        } else {
            items.push('[');
            items.push_str(&tmp);
            items.push(']');
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::translate;

    fn m(p: &str, s: &str) -> bool {
        regex::Regex::new(&translate(p).unwrap())
            .unwrap()
            .is_match(s)
    }

    #[test]
    fn cda_patterns() {
        let ts = r"[0-9]{1,8}|([0-9]{9,14}|[0-9]{14,14}\.[0-9]+)([+\-][0-9]{1,4})?";
        assert!(m(ts, "20210401"));
        assert!(m(ts, "20210401120000+0100"));
        assert!(!m(ts, "2021-04-01"));
        assert!(!m(ts, "inconnu"));
        assert!(m(r"[^\s]+", "text/plain"));
        assert!(!m(r"[^\s]+", ""));
        assert!(!m(r"[^\s]+", "a b"));
        assert!(m(r"[0-2](\.(0|[1-9][0-9]*))*", "1.2.250.1"));
        assert!(!m(r"[0-2](\.(0|[1-9][0-9]*))*", "1.2.04"));
        assert!(m("true|false", "true"));
        assert!(!m("true|false", "truefalse"));
    }

    #[test]
    fn xsd_specifics() {
        assert!(m(r"[a-z-[aeiou]]+", "bcd"));
        assert!(!m(r"[a-z-[aeiou]]+", "bad"));
        assert!(m(r"\i\c*", "xsl:value-of"));
        assert!(!m(r"\i\c*", "1abc"));
        assert!(m(r"\p{IsBasicLatin}+", "abc"));
        assert!(!m(r"\p{IsBasicLatin}+", "é"));
        assert!(m(r"a^b$", "a^b$"));
        assert!(m(r"[\s\d]+", " 1 2"));
        assert!(m(r"[+\-]?\d", "-1"));
        assert!(m(r"[-a]+", "-a"));
        assert!(m(r"[a-]+", "-a"));
        assert!(translate("(a").is_err());
        assert!(translate("a{2,1}").is_err());
        assert!(translate(r"\p{IsNoSuchBlock}").is_err());
    }
}
