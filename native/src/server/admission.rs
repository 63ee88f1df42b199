//! Who may open a websocket to the companion: the rules live in `shared::admission` (pure, table-tested and
//! fuzzed); the companion draws its token here, new at every start.

pub use shared::admission::{Admission, Refusal};

/// A new random token: 128 bits as 32 hex digits.
pub fn new_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_fresh_and_128_bits() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
