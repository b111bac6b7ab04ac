//! The `add-checkpoint` request body, shared by the witness and its client:
//!
//! ```text
//! old <size>\n
//! <base64 consistency proof hash>\n      (0 to 63 lines)
//! \n
//! <checkpoint note>
//! ```

use armistice_merkle::checkpoint::{parse_root, parse_size};
use armistice_merkle::Hash;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use crate::error::WitnessError;
use crate::{NOTE_BYTES_MAX, PROOF_LINES_MAX};

/// A parsed `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpointRequest {
    /// The size of the checkpoint the submitter believes the witness cosigned
    /// last (0 if none).
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, as text (it ends with a newline).
    pub note: String,
}

impl AddCheckpointRequest {
    /// The request body.
    pub fn to_body(&self) -> String {
        let mut body = format!("old {}\n", self.old_size);
        for hash in &self.proof {
            body.push_str(&BASE64.encode(hash));
            body.push('\n');
        }
        body.push('\n');
        body.push_str(&self.note);
        body
    }

    /// Parses a request body strictly: UTF-8, a canonical `old` line, at most
    /// [`PROOF_LINES_MAX`] hashes of 32 bytes, a blank line, then a note of at
    /// most [`NOTE_BYTES_MAX`] bytes (parsed later, as a checkpoint).
    pub fn parse(body: &[u8]) -> Result<Self, WitnessError> {
        let malformed = |what: &str| WitnessError::Malformed(what.to_owned());
        let text = std::str::from_utf8(body).map_err(|_| malformed("the body is not UTF-8"))?;
        let (old_line, mut rest) = text
            .split_once('\n')
            .ok_or_else(|| malformed("no old size line"))?;
        let old_size = old_line
            .strip_prefix("old ")
            .and_then(|size| parse_size(size).ok())
            .ok_or_else(|| malformed("the first line is not `old <size>` in canonical decimal"))?;
        let mut proof = Vec::new();
        loop {
            let (line, tail) = rest
                .split_once('\n')
                .ok_or_else(|| malformed("no blank line before the checkpoint"))?;
            rest = tail;
            if line.is_empty() {
                break;
            }
            if proof.len() == PROOF_LINES_MAX {
                return Err(WitnessError::TooManyProofLines);
            }
            let hash = parse_root(line)
                .map_err(|_| malformed("a consistency proof line is not a base64 hash"))?;
            proof.push(hash);
        }
        if rest.len() > NOTE_BYTES_MAX {
            return Err(WitnessError::NoteTooLarge);
        }
        Ok(AddCheckpointRequest {
            old_size,
            proof,
            note: rest.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example request body of the tlog-witness specification.
    pub(crate) const SPEC_BODY: &str = "old 20852014\n\
        PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\
        jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\
        5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n\
        /6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\
        \n\
        example.com/behind-the-sofa\n\
        20852163\n\
        CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\
        \n\
        \u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
        \u{2014} example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n";

    #[test]
    fn the_spec_example_parses_and_prints_back() {
        let request = AddCheckpointRequest::parse(SPEC_BODY.as_bytes()).unwrap();
        assert_eq!(request.old_size, 20_852_014);
        assert_eq!(request.proof.len(), 4);
        assert!(request
            .note
            .starts_with("example.com/behind-the-sofa\n20852163\n"));
        let note = armistice_merkle::checkpoint::parse_note(&request.note).unwrap();
        assert_eq!(note.checkpoint.size, 20_852_163);
        assert_eq!(note.signatures.len(), 2);
        assert_eq!(request.to_body(), SPEC_BODY);
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let note = "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} o AAAAAAA=\n";
        let hash = "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n";
        for body in [
            format!("old 01\n\n{note}"),
            format!("old -1\n\n{note}"),
            format!("old  1\n\n{note}"),
            format!("Old 1\n\n{note}"),
            format!("old 1\r\n\n{note}"),
            format!("old 1\nAAAA\n\n{note}"),
            format!("old 1\n{hash}{note}"),
            "old 1\n".to_owned(),
            "old 1".to_owned(),
            String::new(),
        ] {
            assert!(
                matches!(
                    AddCheckpointRequest::parse(body.as_bytes()),
                    Err(WitnessError::Malformed(_))
                ),
                "{body:?}"
            );
        }
        let too_many = format!("old 1\n{}\n{note}", hash.repeat(64));
        assert!(matches!(
            AddCheckpointRequest::parse(too_many.as_bytes()),
            Err(WitnessError::TooManyProofLines)
        ));
        let max = format!("old 1\n{}\n{note}", hash.repeat(63));
        assert_eq!(
            AddCheckpointRequest::parse(max.as_bytes())
                .unwrap()
                .proof
                .len(),
            63
        );
        assert!(AddCheckpointRequest::parse(&[0xff, b'\n']).is_err());
        let big = format!("old 0\n\n{}", "a".repeat(NOTE_BYTES_MAX + 1));
        assert!(matches!(
            AddCheckpointRequest::parse(big.as_bytes()),
            Err(WitnessError::NoteTooLarge)
        ));
    }
}
