//! AES-128-ECB with PKCS#7 and MD5, as the CDN uses them. The mock's own small
//! copy: its library never uses `ilink-client`, so the two sides of the wire
//! are checked against each other rather than sharing one reading of the spec.

use aes::cipher::{BlockDecrypt as _, BlockEncrypt as _, KeyInit as _};
use aes::{Aes128, Block};
use md5::{Digest as _, Md5};

/// Ciphertext size of `raw` plaintext bytes: PKCS#7 always pads.
pub(crate) fn padded_size(raw: u64) -> u64 {
    (raw / 16 + 1) * 16
}

/// Encrypts with PKCS#7 padding.
pub(crate) fn encrypt(key: &[u8; 16], plain: &[u8]) -> Vec<u8> {
    let cipher = Aes128::new(key.into());
    let pad = 16 - plain.len() % 16;
    let mut out = Vec::with_capacity(plain.len() + pad);
    out.extend_from_slice(plain);
    out.resize(plain.len() + pad, pad as u8);
    let mut blocks: Vec<Block> = out
        .chunks_exact(16)
        .map(|c| *Block::from_slice(c))
        .collect();
    cipher.encrypt_blocks(&mut blocks);
    blocks.iter().flat_map(|b| b.iter().copied()).collect()
}

/// Decrypts and strips PKCS#7 padding; `None` when the length or padding is wrong.
pub(crate) fn decrypt(key: &[u8; 16], data: &[u8]) -> Option<Vec<u8>> {
    if data.is_empty() || data.len() % 16 != 0 {
        return None;
    }
    let cipher = Aes128::new(key.into());
    let mut blocks: Vec<Block> = data
        .chunks_exact(16)
        .map(|c| *Block::from_slice(c))
        .collect();
    cipher.decrypt_blocks(&mut blocks);
    let mut out: Vec<u8> = blocks.iter().flat_map(|b| b.iter().copied()).collect();
    let pad = usize::from(*out.last()?);
    if pad == 0
        || pad > 16
        || out[out.len() - pad..]
            .iter()
            .any(|&b| usize::from(b) != pad)
    {
        return None;
    }
    out.truncate(out.len() - pad);
    Some(out)
}

/// Lower-case hex MD5.
pub(crate) fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

/// A key from the forms a message can carry it in: 32 hex characters, or
/// base64 of the 16 raw bytes or of the 32 hex characters.
pub(crate) fn parse_key(text: &str) -> Option<[u8; 16]> {
    use base64::Engine as _;
    let from_hex = |t: &[u8]| -> Option<[u8; 16]> {
        let bytes = hex::decode(t).ok()?;
        bytes.try_into().ok()
    };
    if text.len() == 32 {
        if let Some(k) = from_hex(text.as_bytes()) {
            return Some(k);
        }
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()?;
    match decoded.len() {
        16 => decoded.try_into().ok(),
        32 => from_hex(&decoded),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_nist_block() {
        let key: [u8; 16] = hex::decode("2b7e151628aed2a6abf7158809cf4f3c")
            .ok()
            .and_then(|k| k.try_into().ok())
            .expect("key");
        let plain = hex::decode("6bc1bee22e409f96e93d7e117393172a").expect("plain");
        let ct = encrypt(&key, &plain);
        assert_eq!(hex::encode(&ct[..16]), "3ad77bb40d7a3660a89ecaf32466ef97");
        assert_eq!(ct.len(), 32);
        for n in [0usize, 1, 15, 16, 17, 1000] {
            let data = vec![7u8; n];
            let ct = encrypt(&key, &data);
            assert_eq!(ct.len() as u64, padded_size(n as u64));
            assert_eq!(decrypt(&key, &ct), Some(data));
        }
        assert_eq!(decrypt(&key, &[0u8; 15]), None);
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    }
}
