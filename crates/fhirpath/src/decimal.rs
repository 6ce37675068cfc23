//! A fixed-point decimal (`i128` mantissa, base-10 scale) so that `0.1 + 0.2 = 0.3` holds and
//! the precision of a literal (`1.50`) survives, as FHIRPath's Decimal requires.

use std::cmp::Ordering;
use std::fmt;

/// Most digits kept after the point; results of division are rounded to [`DIV_SCALE`].
const MAX_SCALE: u32 = 28;
/// Digits kept after the point by division (FHIRPath implementations use 8).
const DIV_SCALE: u32 = 8;

/// A FHIRPath Decimal: `mantissa × 10^-scale`.
#[derive(Clone, Copy, Debug)]
pub struct Decimal {
    mantissa: i128,
    scale: u32,
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

impl Decimal {
    /// A decimal from its mantissa and scale.
    pub fn new(mantissa: i128, scale: u32) -> Self {
        Decimal { mantissa, scale }
    }

    /// An integer as a decimal of scale 0.
    pub fn from_i64(v: i64) -> Self {
        Decimal::new(i128::from(v), 0)
    }

    /// Parses `-?digits(.digits)?` (also accepts an exponent, as JSON numbers may carry one).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (mant_part, exp) = match s.find(['e', 'E']) {
            // Beyond ±100 the value cannot fit an i128 mantissa anyway (or is zero).
            Some(i) => (
                &s[..i],
                s[i + 1..].parse::<i32>().ok().filter(|e| e.abs() <= 100)?,
            ),
            None => (s, 0),
        };
        let (neg, digits) = match mant_part.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, mant_part.strip_prefix('+').unwrap_or(mant_part)),
        };
        let (int, frac) = match digits.split_once('.') {
            Some((i, f)) => (i, f),
            None => (digits, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut mantissa: i128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            mantissa = mantissa
                .checked_mul(10)?
                .checked_add(i128::from(b - b'0'))?;
        }
        let mut scale = i64::try_from(frac.len()).ok()? - i64::from(exp);
        while scale < 0 {
            mantissa = mantissa.checked_mul(10)?;
            scale += 1;
        }
        let mut d = Decimal::new(
            if neg { -mantissa } else { mantissa },
            u32::try_from(scale).ok()?,
        );
        while d.scale > MAX_SCALE {
            d = d.round_to(MAX_SCALE)?;
        }
        Some(d)
    }

    /// From a float, through its shortest decimal representation.
    pub fn from_f64(v: f64) -> Option<Self> {
        if !v.is_finite() {
            return None;
        }
        let d = Decimal::parse(&format!("{v}"))?;
        // Keep results such as sqrt() within a sensible number of digits.
        if d.scale > 16 {
            d.round_to(16)
        } else {
            Some(d)
        }
    }

    /// The value as a float (for sqrt, ln, exp, power).
    pub fn to_f64(self) -> f64 {
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    /// Digits after the point.
    pub fn scale(self) -> u32 {
        self.scale
    }

    /// The mantissa.
    pub fn mantissa(self) -> i128 {
        self.mantissa
    }

    fn rescale(self, scale: u32) -> Option<i128> {
        if scale >= self.scale {
            self.mantissa.checked_mul(pow10(scale - self.scale)?)
        } else {
            None
        }
    }

    /// Rounds half away from zero to `scale` digits (or pads with zeros).
    pub fn round_to(self, scale: u32) -> Option<Self> {
        if scale >= self.scale {
            return Some(Decimal::new(self.rescale(scale)?, scale));
        }
        let div = pow10(self.scale - scale)?;
        let q = self.mantissa / div;
        let r = self.mantissa % div;
        let q = if r.abs() * 2 >= div {
            q + self.mantissa.signum()
        } else {
            q
        };
        Some(Decimal::new(q, scale))
    }

    /// Truncates toward zero to `scale` digits.
    pub fn truncate_to(self, scale: u32) -> Option<Self> {
        if scale >= self.scale {
            return Some(Decimal::new(self.rescale(scale)?, scale));
        }
        Some(Decimal::new(
            self.mantissa / pow10(self.scale - scale)?,
            scale,
        ))
    }

    /// Largest integer not above the value.
    pub fn floor(self) -> Option<i128> {
        let div = pow10(self.scale)?;
        Some(self.mantissa.div_euclid(div))
    }

    /// Smallest integer not below the value.
    pub fn ceiling(self) -> Option<i128> {
        let div = pow10(self.scale)?;
        let f = self.mantissa.div_euclid(div);
        Some(if self.mantissa.rem_euclid(div) == 0 {
            f
        } else {
            f + 1
        })
    }

    /// The integer part if the value has no fractional part.
    pub fn to_integer_exact(self) -> Option<i64> {
        let div = pow10(self.scale)?;
        if self.mantissa % div != 0 {
            return None;
        }
        i64::try_from(self.mantissa / div).ok()
    }

    /// Drops trailing zeros after the point.
    pub fn normalized(self) -> Self {
        let mut d = self;
        while d.scale > 0 && d.mantissa % 10 == 0 {
            d.mantissa /= 10;
            d.scale -= 1;
        }
        d
    }

    fn align(self, other: Self) -> Option<(i128, i128, u32)> {
        let s = self.scale.max(other.scale);
        Some((self.rescale(s)?, other.rescale(s)?, s))
    }

    /// Exact addition (None on overflow).
    pub fn checked_add(self, other: Self) -> Option<Self> {
        let (a, b, s) = self.align(other)?;
        Some(Decimal::new(a.checked_add(b)?, s))
    }

    /// Exact subtraction (None on overflow).
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        let (a, b, s) = self.align(other)?;
        Some(Decimal::new(a.checked_sub(b)?, s))
    }

    /// Exact multiplication (None on overflow).
    pub fn checked_mul(self, other: Self) -> Option<Self> {
        let d = Decimal::new(
            self.mantissa.checked_mul(other.mantissa)?,
            self.scale + other.scale,
        );
        if d.scale > MAX_SCALE {
            d.round_to(MAX_SCALE)
        } else {
            Some(d)
        }
    }

    /// Division rounded to 8 digits after the point; None for division by zero or overflow.
    pub fn checked_div(self, other: Self) -> Option<Self> {
        if other.mantissa == 0 {
            return None;
        }
        // a/10^sa ÷ b/10^sb = (a × 10^(sb + k)) / (b × 10^sa) × 10^-k, one extra digit to round.
        let k = DIV_SCALE + 1;
        let num = self.mantissa.checked_mul(pow10(other.scale + k)?)?;
        let den = other.mantissa.checked_mul(pow10(self.scale)?)?;
        let q = Decimal::new(num / den, k);
        Some(q.round_to(DIV_SCALE)?.normalized())
    }

    /// Truncated division (`div`).
    pub fn checked_div_trunc(self, other: Self) -> Option<i128> {
        let (a, b, _) = self.align(other)?;
        if b == 0 { None } else { Some(a / b) }
    }

    /// Remainder of truncated division (`mod`).
    pub fn checked_rem(self, other: Self) -> Option<Self> {
        let (a, b, s) = self.align(other)?;
        if b == 0 {
            None
        } else {
            Some(Decimal::new(a % b, s))
        }
    }

    /// Negation.
    pub fn negate(self) -> Self {
        Decimal::new(-self.mantissa, self.scale)
    }

    /// Absolute value.
    pub fn abs(self) -> Self {
        Decimal::new(self.mantissa.abs(), self.scale)
    }

    /// Is the value zero?
    pub fn is_zero(self) -> bool {
        self.mantissa == 0
    }

    /// Number of significant digits after the point as written (precision of the literal).
    pub fn precision(self) -> u32 {
        self.scale
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Decimal {}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        match self.align(*other) {
            Some((a, b, _)) => a.cmp(&b),
            None => self.to_f64().total_cmp(&other.to_f64()),
        }
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.mantissa < 0;
        let digits = self.mantissa.unsigned_abs().to_string();
        let scale = self.scale as usize;
        if neg {
            f.write_str("-")?;
        }
        if scale == 0 {
            return f.write_str(&digits);
        }
        if digits.len() > scale {
            let (i, d) = digits.split_at(digits.len() - scale);
            write!(f, "{i}.{d}")
        } else {
            write!(f, "0.{}{digits}", "0".repeat(scale - digits.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Decimal;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).expect("decimal")
    }

    #[test]
    fn exact_arithmetic_and_display() {
        assert_eq!(d("0.1").checked_add(d("0.2")), Some(d("0.3")));
        assert_eq!(d("1.50").to_string(), "1.50");
        assert_eq!(d("-0.05").to_string(), "-0.05");
        assert_eq!(
            d("1.2").checked_div(d("1.8")).map(|x| x.to_string()),
            Some("0.66666667".into())
        );
        assert_eq!(d("1").checked_div(d("0")), None);
        assert_eq!(d("-1.56").truncate_to(0), Some(d("-1")));
        assert_eq!(d("-1.5").floor(), Some(-2));
        assert_eq!(d("1.1").ceiling(), Some(2));
        assert_eq!(d("3.14159").round_to(3), Some(d("3.142")));
        assert_eq!(d("1e3"), d("1000"));
    }
}
