//! The reporter's receipt code: 16 random digits, shown once, stored only as a keyed hash.

use crate::random::Random;
use std::fmt;

/// A receipt code. Its `Display` groups the digits for reading (`1234-5678-9012-3456`);
/// `Debug` never shows them, so a code cannot end up in a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct ReceiptCode([u8; 16]);

impl ReceiptCode {
    /// A fresh random code (rejection sampling keeps the digits uniform).
    pub fn generate(random: &dyn Random) -> Self {
        let mut digits = [0u8; 16];
        let mut filled = 0;
        let mut pool = [0u8; 32];
        while filled < digits.len() {
            random.fill(&mut pool);
            for &b in &pool {
                if b < 250 && filled < digits.len() {
                    digits[filled] = b % 10;
                    filled += 1;
                }
            }
        }
        ReceiptCode(digits)
    }

    /// A code derived from 16 bytes of key material (e.g. an HMAC), used to
    /// reproduce the same code for an idempotent retry without storing it.
    pub fn derive(material: &[u8; 16]) -> Self {
        let mut value = u128::from_le_bytes(*material) % 10u128.pow(16);
        let mut digits = [0u8; 16];
        for d in digits.iter_mut().rev() {
            *d = (value % 10) as u8;
            value /= 10;
        }
        ReceiptCode(digits)
    }

    /// Parses what a person typed: 16 digits, spaces and dashes ignored.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut digits = [0u8; 16];
        let mut count = 0;
        for c in text.chars() {
            match c {
                ' ' | '-' => continue,
                '0'..='9' if count < 16 => {
                    digits[count] = c as u8 - b'0';
                    count += 1;
                }
                '0'..='9' => return Err("must have exactly 16 digits".into()),
                _ => return Err("must contain only digits (spaces and dashes are ignored)".into()),
            }
        }
        if count != 16 {
            return Err("must have exactly 16 digits".into());
        }
        Ok(ReceiptCode(digits))
    }

    /// The 16 digits without grouping: the canonical form that is hashed.
    pub fn canonical(&self) -> String {
        self.0.iter().map(|d| char::from(b'0' + d)).collect()
    }
}

impl fmt::Display for ReceiptCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let canonical = self.canonical();
        for (i, group) in canonical.as_bytes().chunks(4).enumerate() {
            if i > 0 {
                f.write_str("-")?;
            }
            f.write_str(std::str::from_utf8(group).expect("digits are ASCII"))?;
        }
        Ok(())
    }
}

impl fmt::Debug for ReceiptCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReceiptCode(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn a_code_is_sixteen_digits_grouped_by_four() {
        let code = ReceiptCode::generate(&SeededRandom::new(3));
        let shown = code.to_string();
        assert_eq!(shown.len(), 19);
        assert_eq!(shown.matches('-').count(), 3);
        assert_eq!(ReceiptCode::parse(&shown).unwrap(), code);
        assert_eq!(ReceiptCode::parse(&code.canonical()).unwrap(), code);
    }

    #[test]
    fn parse_refuses_what_is_not_sixteen_digits() {
        assert!(ReceiptCode::parse("1234").is_err());
        assert!(ReceiptCode::parse("1234 5678 9012 3456 7").is_err());
        assert!(ReceiptCode::parse("1234-5678-9012-345x").is_err());
        assert!(ReceiptCode::parse("").is_err());
    }

    #[test]
    fn debug_never_shows_the_digits() {
        let code = ReceiptCode::parse("1111222233334444").unwrap();
        assert!(!format!("{code:?}").contains("1111"));
    }

    #[test]
    fn derived_codes_are_stable() {
        let m = [9u8; 16];
        assert_eq!(ReceiptCode::derive(&m), ReceiptCode::derive(&m));
        assert_ne!(ReceiptCode::derive(&m), ReceiptCode::derive(&[8u8; 16]));
    }
}
