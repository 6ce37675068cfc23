//! A small, valid, one-page PDF 1.4 written from scratch: the human-readable copy that N1
//! documents carry and that CR-BIO carries in its "Copie du document" section.
//!
//! Text uses the standard Helvetica font with WinAnsiEncoding, so no font is embedded and the
//! output depends only on its inputs (no dates or ids are made up here).

use crate::time::Timestamp;

/// Lines longer than this are wrapped (Helvetica 10 pt on an A4 page with 50 pt margins).
const WRAP: usize = 95;
/// Lines that fit on the page after the title block.
const MAX_LINES: usize = 54;

/// The text of a PDF page: a title and body lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdfText {
    /// Title, printed in bold and set as the document's /Title.
    pub title: String,
    /// Body lines, wrapped at about 95 characters; lines past the page end are dropped with a note.
    pub lines: Vec<String>,
    /// /CreationDate, when given.
    pub created: Option<Timestamp>,
}

/// Encode to Windows-1252 for a PDF literal string, escaping `(`, `)` and `\`.
fn win_ansi_literal(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 2);
    out.push(b'(');
    for c in text.chars() {
        let b = match c {
            '(' | ')' | '\\' => {
                out.push(b'\\');
                c as u8
            }
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            'Œ' => 0x8c,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '–' => 0x96,
            '—' => 0x97,
            'œ' => 0x9c,
            'Ÿ' => 0x9f,
            _ => b'?',
        };
        out.push(b);
    }
    out.push(b')');
    out
}

/// UTF-16BE hex string with BOM, for the document information dictionary.
fn utf16_hex(text: &str) -> String {
    let mut s = String::from("<FEFF");
    for u in text.encode_utf16() {
        s.push_str(&format!("{u:04X}"));
    }
    s.push('>');
    s
}

fn wrap(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for word in line.split(' ') {
        let needed = if cur.is_empty() {
            word.chars().count()
        } else {
            cur.chars().count() + 1 + word.chars().count()
        };
        if needed > WRAP && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    out.push(cur);
    out
}

fn content_stream(text: &PdfText) -> Vec<u8> {
    let mut c = Vec::new();
    c.extend_from_slice(b"BT\n/F2 16 Tf\n50 790 Td\n18 TL\n");
    for (i, part) in wrap(&text.title).iter().enumerate() {
        if i > 0 {
            c.extend_from_slice(b"T*\n");
        }
        c.extend_from_slice(&win_ansi_literal(part));
        c.extend_from_slice(b" Tj\n");
    }
    c.extend_from_slice(b"/F1 10 Tf\n13 TL\nT*\nT*\n");
    let mut wrapped: Vec<String> = text.lines.iter().flat_map(|l| wrap(l)).collect();
    if wrapped.len() > MAX_LINES {
        wrapped.truncate(MAX_LINES - 1);
        wrapped.push("[…] (suite tronquée dans cette copie)".into());
    }
    for line in &wrapped {
        c.extend_from_slice(&win_ansi_literal(line));
        c.extend_from_slice(b" Tj T*\n");
    }
    c.extend_from_slice(b"ET\n");
    c
}

fn pdf_date(t: Timestamp) -> String {
    let hl7 = t.to_hl7();
    // YYYYMMDDhhmmss+hhmm -> D:YYYYMMDDhhmmss+hh'mm'
    format!(
        "D:{}{}{}'{}'",
        &hl7[..14],
        &hl7[14..15],
        &hl7[15..17],
        &hl7[17..19]
    )
}

/// Render the page as PDF bytes.
pub fn render_pdf(text: &PdfText) -> Vec<u8> {
    let content = content_stream(text);
    let mut info = format!("<< /Title {} /Producer (segur)", utf16_hex(&text.title));
    if let Some(t) = text.created {
        info.push_str(&format!(" /CreationDate ({})", pdf_date(t)));
    }
    info.push_str(" >>");

    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>".to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".to_vec(),
    ];
    let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
    stream.extend_from_slice(&content);
    stream.extend_from_slice(b"endstream");
    objects.push(stream);
    objects.push(info.into_bytes());

    let mut out: Vec<u8> = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref_at = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info {} 0 R >>\nstartxref\n{xref_at}\n%%EOF\n",
            objects.len() + 1,
            objects.len()
        )
        .as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PdfText {
        PdfText {
            title: "Compte rendu d'examens biologiques (é)".into(),
            lines: vec!["Patient : DUPONT Jean".into(), "x ".repeat(200)],
            created: Some(Timestamp::paris(2025, 1, 2, 3, 4, 5)),
        }
    }

    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }

    #[test]
    fn xref_offsets_point_at_objects() {
        let pdf = render_pdf(&sample());
        let tail_at = find(&pdf, b"startxref\n").expect("startxref") + b"startxref\n".len();
        let tail = std::str::from_utf8(&pdf[tail_at..]).expect("ascii trailer");
        let startxref: usize = tail
            .lines()
            .next()
            .expect("offset")
            .parse()
            .expect("number");
        let xref = std::str::from_utf8(&pdf[startxref..]).expect("ascii xref");
        assert!(xref.starts_with("xref\n0 8\n"), "{xref}");
        for (i, line) in xref.lines().skip(3).take(7).enumerate() {
            let off: usize = line[..10].parse().expect("offset");
            assert!(
                pdf[off..].starts_with(format!("{} 0 obj", i + 1).as_bytes()),
                "object {}",
                i + 1
            );
            assert_eq!(line.len() + 1, 20, "xref entries are 20 bytes");
        }
    }

    #[test]
    fn literal_strings_escape_and_encode() {
        assert_eq!(
            win_ansi_literal("a(b)\\é€"),
            b"(a\\(b\\)\\\\\xE9\x80)".to_vec()
        );
        assert_eq!(
            pdf_date(Timestamp::paris(2025, 1, 2, 3, 4, 5)),
            "D:20250102030405+01'00'"
        );
    }

    #[test]
    fn same_input_same_bytes() {
        assert_eq!(render_pdf(&sample()), render_pdf(&sample()));
    }
}
