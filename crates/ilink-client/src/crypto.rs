//! Media crypto for the WeChat CDN: AES-128-ECB with PKCS#7 padding, the three
//! forms in which media keys arrive, and the MD5 digests the upload API asks for.
//!
//! # Cipher
//!
//! Every file stored on the CDN is encrypted with AES-128 in ECB mode and PKCS#7
//! padding. Padding is always added, 1 to 16 bytes, so a file of `n` bytes
//! becomes [`padded_size`]`(n) = (n / 16 + 1) * 16` bytes of ciphertext. When
//! decrypting, malformed padding is reported as [`CryptoError::BadPadding`]; the
//! functions never hand back garbage plaintext.
//!
//! There are one-shot functions ([`encrypt`], [`decrypt`], and the in-place
//! [`encrypt_in_place`] / [`decrypt_in_place`]) and streaming ones
//! ([`Encryptor`], [`Decryptor`]) for data that arrives in chunks. All of them
//! hand whole runs of blocks to the `aes` crate at once, so on x86 CPUs with
//! AES-NI (detected at run time) eight blocks are processed in parallel.
//!
//! # Keys
//!
//! A media key ([`AesKey`]) is 16 raw bytes. The iLink API carries it in one of
//! three forms:
//!
//! * `image_item.aeskey`: 32 hex characters, the raw key in hex (upper or lower
//!   case) — parsed by [`AesKey::from_hex`];
//! * `media.aes_key`: base64 of the 16 raw bytes; or
//! * `media.aes_key`: base64 of the 32 hex characters of the key — both
//!   `media.aes_key` forms are parsed by [`AesKey::from_media_field`].
//!
//! [`parse_key`] picks the right field of a message item. When uploading, the key
//! is sent as `aeskey: <32 lowercase hex>` ([`AesKey::to_hex`]) and the message
//! item carries `aes_key: base64(<the 32 hex characters>)`
//! ([`AesKey::to_media_field`]).
//!
//! Neither the key's `Debug` output nor any error message contains key material.
//!
//! # MD5
//!
//! [`md5_hex`] and the streaming [`Md5Hasher`] give lowercase hex digests.

use std::fmt;

use aes::cipher::consts::U16;
use aes::cipher::inout::InOutBuf;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use aes::{Aes128Dec, Aes128Enc, Block};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use md5::{Digest as _, Md5};

/// Length of an AES-128 key in bytes.
pub const KEY_LEN: usize = 16;

/// Length of an AES block in bytes; ciphertext lengths are multiples of it.
pub const BLOCK_LEN: usize = 16;

/// Number of hex characters in the text form of a key.
const HEX_KEY_LEN: usize = 2 * KEY_LEN;

/// Size of the ciphertext for a plaintext of `raw_size` bytes:
/// `ceil((raw_size + 1) / 16) * 16`, i.e. the plaintext plus 1 to 16 bytes of
/// PKCS#7 padding.
///
/// Saturates at the largest multiple of 16 that fits in a `u64` instead of
/// overflowing (only reachable for sizes no real file has).
#[must_use]
pub const fn padded_size(raw_size: u64) -> u64 {
    // `BLOCK_LEN` is 16, so the cast is lossless.
    const B: u64 = BLOCK_LEN as u64;
    match (raw_size / B + 1).checked_mul(B) {
        Some(size) => size,
        None => u64::MAX / B * B,
    }
}

// ---------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------

/// A 16-byte AES-128 media key.
///
/// Its `Debug` output is `AesKey(****)`: the key itself is never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct AesKey([u8; KEY_LEN]);

impl AesKey {
    /// Wraps 16 raw key bytes.
    #[must_use]
    pub const fn new(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// Generates a fresh key from the thread-local cryptographically secure RNG,
    /// as needed for each upload.
    #[must_use]
    pub fn random() -> Self {
        use rand::Rng as _;
        let mut bytes = [0u8; KEY_LEN];
        rand::rng().fill(&mut bytes);
        Self(bytes)
    }

    /// The raw key bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The key as 32 lowercase hex characters: the `aeskey` field of an upload
    /// request and the form used by `image_item.aeskey`.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The key as the `media.aes_key` field of an outgoing message item: standard
    /// base64 (with padding) of the 32 lowercase hex characters of the key.
    #[must_use]
    pub fn to_media_field(&self) -> String {
        STANDARD.encode(self.to_hex())
    }

    /// Parses the `image_item.aeskey` form: exactly 32 hex characters, upper or
    /// lower case, with no surrounding whitespace.
    ///
    /// # Errors
    ///
    /// [`KeyError::BadHex`] if the text is not 32 characters long,
    /// [`KeyError::NonHex`] if it contains a character that is not a hex digit.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        if text.len() != HEX_KEY_LEN {
            return Err(KeyError::BadHex {
                len: text.chars().count(),
            });
        }
        let mut bytes = [0u8; KEY_LEN];
        match hex::decode_to_slice(text, &mut bytes) {
            Ok(()) => Ok(Self(bytes)),
            Err(hex::FromHexError::InvalidHexCharacter { index, .. }) => {
                Err(KeyError::NonHex { index })
            }
            Err(_) => Err(KeyError::BadHex {
                len: text.chars().count(),
            }),
        }
    }

    /// Parses the `media.aes_key` form: base64 of either the 16 raw key bytes or
    /// the 32 hex characters of the key (hex in either case).
    ///
    /// The standard base64 alphabet (`+`, `/`) is tried first, then the URL-safe
    /// one (`-`, `_`); either may be given with or without `=` padding.
    /// Whitespace is not accepted.
    ///
    /// # Errors
    ///
    /// [`KeyError::BadBase64`] if the text is not base64,
    /// [`KeyError::BadDecodedLength`] if it decodes to anything but 16 or 32
    /// bytes, and [`KeyError::BadDecodedHex`] if it decodes to 32 bytes that are
    /// not hex characters.
    pub fn from_media_field(text: &str) -> Result<Self, KeyError> {
        let decoded = BASE64_STANDARD_LENIENT
            .decode(text)
            .or_else(|_| BASE64_URL_SAFE_LENIENT.decode(text))
            .map_err(|_| KeyError::BadBase64)?;
        if let Ok(bytes) = <[u8; KEY_LEN]>::try_from(decoded.as_slice()) {
            return Ok(Self(bytes));
        }
        if decoded.len() == HEX_KEY_LEN {
            let mut bytes = [0u8; KEY_LEN];
            return match hex::decode_to_slice(&decoded, &mut bytes) {
                Ok(()) => Ok(Self(bytes)),
                Err(_) => Err(KeyError::BadDecodedHex),
            };
        }
        Err(KeyError::BadDecodedLength { len: decoded.len() })
    }
}

impl From<[u8; KEY_LEN]> for AesKey {
    fn from(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }
}

impl fmt::Debug for AesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AesKey(****)")
    }
}

/// Standard alphabet, padding optional.
const BASE64_STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// URL-safe alphabet, padding optional.
const BASE64_URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Picks and parses the media key of a message item.
///
/// A non-empty `image_hex` (the `image_item.aeskey` field) wins; otherwise a
/// non-empty `media_field` (the `media.aes_key` field) is used; if both are
/// absent or empty the media is not encrypted and `Ok(None)` is returned.
///
/// The chosen field must be valid: a malformed `image_hex` is an error even if
/// `media_field` holds a good key, so corrupt data is not silently papered over.
///
/// # Errors
///
/// Whatever [`AesKey::from_hex`] or [`AesKey::from_media_field`] return for the
/// chosen field.
pub fn parse_key(
    image_hex: Option<&str>,
    media_field: Option<&str>,
) -> Result<Option<AesKey>, KeyError> {
    if let Some(text) = image_hex.filter(|s| !s.is_empty()) {
        return AesKey::from_hex(text).map(Some);
    }
    if let Some(text) = media_field.filter(|s| !s.is_empty()) {
        return AesKey::from_media_field(text).map(Some);
    }
    Ok(None)
}

/// Why a media key could not be parsed. Messages never contain key material.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// `image_item.aeskey` has the wrong length.
    #[error("image aeskey must be 32 hex characters, got {len} characters")]
    BadHex {
        /// Number of characters received.
        len: usize,
    },
    /// `image_item.aeskey` has 32 characters but not all are hex digits.
    #[error("image aeskey must be 32 hex characters, found a non-hex character at byte {index}")]
    NonHex {
        /// Byte offset of the first offending character.
        index: usize,
    },
    /// `media.aes_key` is not base64 (standard or URL-safe).
    #[error("aes_key is not valid base64")]
    BadBase64,
    /// `media.aes_key` decodes to a length that is neither a raw nor a hex key.
    #[error("aes_key decodes to {len} bytes; expected 16 raw bytes or 32 hex characters")]
    BadDecodedLength {
        /// Number of decoded bytes.
        len: usize,
    },
    /// `media.aes_key` decodes to 32 bytes that are not hex characters.
    #[error("aes_key decodes to 32 bytes that are not hex characters")]
    BadDecodedHex,
}

// ---------------------------------------------------------------------------
// Cipher
// ---------------------------------------------------------------------------

/// Why ciphertext could not be decrypted (or a buffer could not be processed
/// block by block).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoError {
    /// The data is not a whole number of 16-byte blocks.
    #[error("ciphertext length {len} is not a multiple of 16 bytes")]
    NotBlockAligned {
        /// Length of the data in bytes.
        len: u64,
    },
    /// The PKCS#7 padding of the last block is malformed (wrong key or corrupt
    /// data).
    #[error("bad PKCS#7 padding after decryption (wrong key or corrupt data)")]
    BadPadding,
    /// The ciphertext is empty; valid ciphertext is at least one block.
    #[error("ciphertext is empty")]
    Empty,
}

/// `len` as a `u64` (lossless on every supported platform; saturates otherwise).
fn len_u64(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

/// Encrypts the whole blocks of `buf` in place with one call into the cipher
/// (eight blocks at a time with AES-NI). Bytes past the last whole block are
/// left untouched; callers pass block-aligned buffers.
#[inline]
fn encrypt_blocks_with(cipher: &Aes128Enc, buf: &mut [u8]) {
    let (blocks, _tail) = InOutBuf::from(buf).into_chunks::<U16>();
    cipher.encrypt_blocks_inout(blocks);
}

/// Decrypts the whole blocks of `buf` in place; see [`encrypt_blocks_with`].
#[inline]
fn decrypt_blocks_with(cipher: &Aes128Dec, buf: &mut [u8]) {
    let (blocks, _tail) = InOutBuf::from(buf).into_chunks::<U16>();
    cipher.decrypt_blocks_inout(blocks);
}

/// The streaming types zero-extend their output by this many bytes at a time
/// and have the cipher write the stripe straight from the input. The stripe
/// is still in L1 cache when the cipher overwrites it; on 64 MiB streams this
/// measured ~20% faster than copying a whole chunk and encrypting it in place.
const STRIPE: usize = 512;

/// Source of the zero-extension (a `memcpy` from here is fast even in
/// unoptimised builds, unlike `Vec::resize`).
static ZEROS: [u8; STRIPE] = [0; STRIPE];

/// Appends `blocks` (block-aligned) to `out`, transformed by `cipher_blocks`
/// (an ECB encryption or decryption of a run of blocks).
fn append_processed(
    blocks: &[u8],
    out: &mut Vec<u8>,
    cipher_blocks: impl Fn(InOutBuf<'_, '_, Block>),
) {
    out.reserve(blocks.len());
    for stripe in blocks.chunks(STRIPE) {
        let start = out.len();
        out.extend_from_slice(&ZEROS[..stripe.len()]);
        if let Ok(buf) = InOutBuf::new(stripe, &mut out[start..]) {
            cipher_blocks(buf.into_chunks::<U16>().0);
        } else {
            // Unreachable (the lengths are equal); stay correct regardless.
            out.truncate(start);
            out.extend_from_slice(stripe);
            cipher_blocks(InOutBuf::from(&mut out[start..]).into_chunks::<U16>().0);
        }
    }
}

/// The number of PKCS#7 padding bytes at the end of `last_block`, if valid.
fn padding_len(last_block: &[u8]) -> Result<usize, CryptoError> {
    let Some(&pad) = last_block.last() else {
        return Err(CryptoError::BadPadding);
    };
    let pad_len = usize::from(pad);
    if pad_len == 0 || pad_len > BLOCK_LEN || pad_len > last_block.len() {
        return Err(CryptoError::BadPadding);
    }
    let start = last_block.len() - pad_len;
    // Fold instead of short-circuiting so the check does not branch per byte.
    let mismatch = last_block[start..]
        .iter()
        .fold(0u8, |acc, &b| acc | (b ^ pad));
    if mismatch == 0 {
        Ok(pad_len)
    } else {
        Err(CryptoError::BadPadding)
    }
}

fn check_aligned(len: usize) -> Result<(), CryptoError> {
    if len % BLOCK_LEN == 0 {
        Ok(())
    } else {
        Err(CryptoError::NotBlockAligned { len: len_u64(len) })
    }
}

/// Raw AES-128-ECB encryption of `buf` in place, without padding.
///
/// An empty buffer is a no-op.
///
/// # Errors
///
/// [`CryptoError::NotBlockAligned`] (leaving `buf` untouched) if `buf.len()` is
/// not a multiple of 16.
pub fn encrypt_blocks_in_place(key: &AesKey, buf: &mut [u8]) -> Result<(), CryptoError> {
    check_aligned(buf.len())?;
    encrypt_blocks_with(&Aes128Enc::new(&key.0.into()), buf);
    Ok(())
}

/// Raw AES-128-ECB decryption of `buf` in place, without removing padding.
///
/// An empty buffer is a no-op.
///
/// # Errors
///
/// [`CryptoError::NotBlockAligned`] (leaving `buf` untouched) if `buf.len()` is
/// not a multiple of 16.
pub fn decrypt_blocks_in_place(key: &AesKey, buf: &mut [u8]) -> Result<(), CryptoError> {
    check_aligned(buf.len())?;
    decrypt_blocks_with(&Aes128Dec::new(&key.0.into()), buf);
    Ok(())
}

/// Pads `buf` with PKCS#7 and encrypts it in place; afterwards
/// `buf.len() == padded_size(original length)`. Reuses `buf`'s allocation when
/// it has room for the padding.
pub fn encrypt_in_place(key: &AesKey, buf: &mut Vec<u8>) {
    let tail = buf.len() % BLOCK_LEN;
    // 1..=16 bytes of padding, so the cast below is lossless.
    let pad = BLOCK_LEN - tail;
    buf.resize(buf.len() + pad, pad as u8);
    encrypt_blocks_with(&Aes128Enc::new(&key.0.into()), buf);
}

/// Encrypts `plain` with AES-128-ECB and PKCS#7 padding. The result is
/// [`padded_size`]`(plain.len())` bytes long.
#[must_use]
pub fn encrypt(key: &AesKey, plain: &[u8]) -> Vec<u8> {
    let whole = plain.len() - plain.len() % BLOCK_LEN;
    let mut out = Vec::with_capacity(whole.saturating_add(BLOCK_LEN));
    let mut enc = Encryptor::new(key);
    enc.update(plain, &mut out);
    enc.finish(&mut out);
    out
}

/// Decrypts `buf` in place and strips the PKCS#7 padding, truncating `buf` to
/// the plaintext.
///
/// # Errors
///
/// * [`CryptoError::Empty`] or [`CryptoError::NotBlockAligned`]: `buf` is left
///   untouched.
/// * [`CryptoError::BadPadding`]: `buf` is cleared, so no garbage plaintext is
///   left behind.
pub fn decrypt_in_place(key: &AesKey, buf: &mut Vec<u8>) -> Result<(), CryptoError> {
    if buf.is_empty() {
        return Err(CryptoError::Empty);
    }
    check_aligned(buf.len())?;
    decrypt_blocks_with(&Aes128Dec::new(&key.0.into()), buf);
    let last_block = &buf[buf.len() - BLOCK_LEN..];
    match padding_len(last_block) {
        Ok(pad_len) => {
            buf.truncate(buf.len() - pad_len);
            Ok(())
        }
        Err(err) => {
            buf.clear();
            Err(err)
        }
    }
}

/// Decrypts AES-128-ECB ciphertext and strips the PKCS#7 padding.
///
/// # Errors
///
/// [`CryptoError::Empty`] for empty input, [`CryptoError::NotBlockAligned`] if
/// the length is not a multiple of 16, [`CryptoError::BadPadding`] if the
/// decrypted padding is malformed (wrong key or corrupt data).
pub fn decrypt(key: &AesKey, cipher: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if cipher.is_empty() {
        return Err(CryptoError::Empty);
    }
    check_aligned(cipher.len())?;
    let mut out = Vec::with_capacity(cipher.len());
    let mut dec = Decryptor::new(key);
    dec.update(cipher, &mut out);
    // On error `out`, holding all but the last block's plaintext, is dropped.
    dec.finish(&mut out)?;
    Ok(out)
}

/// Streaming AES-128-ECB encryption with PKCS#7 padding.
///
/// Feed plaintext with [`update`](Self::update) in chunks of any size; each call
/// appends the ciphertext of every whole block available so far to `out`
/// (the cipher reads the input and writes into `out` directly, in cache-sized
/// stripes). [`finish`](Self::finish) appends the final
/// padded block. The concatenated output equals [`encrypt`] of the concatenated
/// input.
pub struct Encryptor {
    cipher: Aes128Enc,
    /// Plaintext bytes not yet encrypted; only `buf[..buf_len]` is meaningful.
    buf: [u8; BLOCK_LEN],
    /// Always less than 16 between calls.
    buf_len: usize,
    bytes_in: u64,
}

impl Encryptor {
    /// Starts encrypting with `key`.
    #[must_use]
    pub fn new(key: &AesKey) -> Self {
        Self {
            cipher: Aes128Enc::new(&key.0.into()),
            buf: [0; BLOCK_LEN],
            buf_len: 0,
            bytes_in: 0,
        }
    }

    /// Plaintext bytes fed in so far.
    #[must_use]
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in
    }

    /// Size the whole ciphertext will have once [`finish`](Self::finish) is
    /// called, given the input so far.
    #[must_use]
    pub fn final_size(&self) -> u64 {
        padded_size(self.bytes_in)
    }

    /// Encrypts as much of `input` as makes whole blocks (together with any
    /// bytes held from earlier calls) and appends the ciphertext to `out`. Up to
    /// 15 trailing bytes are held until the next call or `finish`.
    pub fn update(&mut self, input: &[u8], out: &mut Vec<u8>) {
        self.bytes_in = self.bytes_in.saturating_add(len_u64(input.len()));
        let mut input = input;
        if self.buf_len > 0 {
            let take = (BLOCK_LEN - self.buf_len).min(input.len());
            let (head, rest) = input.split_at(take);
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(head);
            self.buf_len += take;
            input = rest;
            if self.buf_len < BLOCK_LEN {
                return;
            }
            let mut block = Block::from(self.buf);
            self.cipher.encrypt_block(&mut block);
            out.extend_from_slice(&block);
            self.buf_len = 0;
        }
        let whole = input.len() - input.len() % BLOCK_LEN;
        let (blocks, tail) = input.split_at(whole);
        append_processed(blocks, out, |b| self.cipher.encrypt_blocks_inout(b));
        self.buf[..tail.len()].copy_from_slice(tail);
        self.buf_len = tail.len();
    }

    /// Pads the held bytes and appends the final ciphertext block to `out`.
    pub fn finish(mut self, out: &mut Vec<u8>) {
        // 1..=16 bytes of padding, so the cast below is lossless.
        let pad = BLOCK_LEN - self.buf_len;
        self.buf[self.buf_len..].fill(pad as u8);
        let mut block = Block::from(self.buf);
        self.cipher.encrypt_block(&mut block);
        out.extend_from_slice(&block);
    }
}

impl fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encryptor")
            .field("bytes_in", &self.bytes_in)
            .finish_non_exhaustive()
    }
}

/// Streaming AES-128-ECB decryption that strips PKCS#7 padding.
///
/// Feed ciphertext with [`update`](Self::update) in chunks of any size; each call
/// appends plaintext to `out`, always holding back the last whole block seen
/// (it may carry the padding). [`finish`](Self::finish) checks the total length,
/// decrypts the held block, validates and strips the padding.
///
/// If `finish` fails, the plaintext already appended to `out` must be
/// discarded.
pub struct Decryptor {
    cipher: Aes128Dec,
    /// Ciphertext bytes not yet decrypted; only `held[..held_len]` is
    /// meaningful.
    held: [u8; BLOCK_LEN],
    /// 0 before any input, then always 1..=16.
    held_len: usize,
    bytes_in: u64,
}

impl Decryptor {
    /// Starts decrypting with `key`.
    #[must_use]
    pub fn new(key: &AesKey) -> Self {
        Self {
            cipher: Aes128Dec::new(&key.0.into()),
            held: [0; BLOCK_LEN],
            held_len: 0,
            bytes_in: 0,
        }
    }

    /// Ciphertext bytes fed in so far.
    #[must_use]
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in
    }

    /// Decrypts every block of `input` (together with bytes held from earlier
    /// calls) that is followed by more data, appending the plaintext to `out`.
    /// The last 1 to 16 bytes seen are held back.
    pub fn update(&mut self, input: &[u8], out: &mut Vec<u8>) {
        self.bytes_in = self.bytes_in.saturating_add(len_u64(input.len()));
        if self.held_len + input.len() <= BLOCK_LEN {
            self.held[self.held_len..self.held_len + input.len()].copy_from_slice(input);
            self.held_len += input.len();
            return;
        }
        // More than a block's worth is available, so whatever is held now is
        // followed by more data and can be decrypted.
        let mut input = input;
        if self.held_len > 0 {
            let (head, rest) = input.split_at(BLOCK_LEN - self.held_len);
            self.held[self.held_len..].copy_from_slice(head);
            let mut block = Block::from(self.held);
            self.cipher.decrypt_block(&mut block);
            out.extend_from_slice(&block);
            input = rest;
        }
        // `input` is non-empty here. Decrypt all whole blocks but keep the last
        // 1..=16 bytes back.
        let emit = input.len().saturating_sub(1) / BLOCK_LEN * BLOCK_LEN;
        let (blocks, keep) = input.split_at(emit);
        append_processed(blocks, out, |b| self.cipher.decrypt_blocks_inout(b));
        self.held[..keep.len()].copy_from_slice(keep);
        self.held_len = keep.len();
    }

    /// Decrypts the held last block, validates and strips its padding and
    /// appends the remaining plaintext to `out`.
    ///
    /// # Errors
    ///
    /// [`CryptoError::Empty`] if no ciphertext was fed in,
    /// [`CryptoError::NotBlockAligned`] if the total was not a multiple of 16,
    /// [`CryptoError::BadPadding`] if the padding is malformed. Nothing is
    /// appended to `out` on error.
    pub fn finish(self, out: &mut Vec<u8>) -> Result<(), CryptoError> {
        if self.bytes_in == 0 {
            return Err(CryptoError::Empty);
        }
        if self.bytes_in % len_u64(BLOCK_LEN) != 0 || self.held_len != BLOCK_LEN {
            return Err(CryptoError::NotBlockAligned { len: self.bytes_in });
        }
        let mut block = Block::from(self.held);
        self.cipher.decrypt_block(&mut block);
        let pad_len = padding_len(&block)?;
        out.extend_from_slice(&block[..BLOCK_LEN - pad_len]);
        Ok(())
    }
}

impl fmt::Debug for Decryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decryptor")
            .field("bytes_in", &self.bytes_in)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------
// MD5
// ---------------------------------------------------------------------------

/// Streaming MD5, for the `rawfilemd5` and similar fields of upload requests.
#[derive(Clone, Default)]
pub struct Md5Hasher {
    inner: Md5,
    bytes_in: u64,
}

impl Md5Hasher {
    /// Starts a new digest.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds `data` into the digest.
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
        self.bytes_in = self.bytes_in.saturating_add(len_u64(data.len()));
    }

    /// Bytes hashed so far.
    #[must_use]
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in
    }

    /// The digest as 32 lowercase hex characters.
    #[must_use]
    pub fn finish_hex(self) -> String {
        hex::encode(self.inner.finalize())
    }
}

impl fmt::Debug for Md5Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Md5Hasher")
            .field("bytes_in", &self.bytes_in)
            .finish_non_exhaustive()
    }
}

/// MD5 of `data` as 32 lowercase hex characters.
#[must_use]
pub fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::RngCore as _;

    const NIST_KEY: &str = "2b7e151628aed2a6abf7158809cf4f3c";
    /// NIST SP 800-38A F.1.1 plaintext (four blocks).
    const NIST_PLAIN: &str = "6bc1bee22e409f96e93d7e117393172a\
                              ae2d8a571e03ac9c9eb76fac45af8e51\
                              30c81c46a35ce411e5fbc1191a0a52ef\
                              f69f2445df4f9b17ad2b417be66c3710";
    /// NIST SP 800-38A F.1.1 ciphertext.
    const NIST_CIPHER: &str = "3ad77bb40d7a3660a89ecaf32466ef97\
                               f5d3d58503b9699de785895a96fdbaaf\
                               43b1cd7f598ece23881b00e3ed030688\
                               7b0c785e27e8ad3f8223207104725dd4";
    /// Encryption of a full padding block (16 × 0x10) under the NIST key, as
    /// produced by `openssl enc -aes-128-ecb`.
    const NIST_PAD_BLOCK: &str = "a254be88e037ddd9d79fb6411c3f9df8";

    fn nist_key() -> AesKey {
        AesKey::from_hex(NIST_KEY).unwrap()
    }

    fn random_bytes(len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        rand::rng().fill_bytes(&mut v);
        v
    }

    /// Splits `data` into chunks whose sizes cycle through `sizes`.
    fn chunks<'a>(data: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
        let mut out = Vec::new();
        let mut rest = data;
        let mut i = 0;
        while !rest.is_empty() {
            let n = sizes[i % sizes.len()].min(rest.len());
            let (head, tail) = rest.split_at(n);
            out.push(head);
            rest = tail;
            i += 1;
        }
        out
    }

    fn stream_encrypt(key: &AesKey, data: &[u8], sizes: &[usize]) -> Vec<u8> {
        let mut enc = Encryptor::new(key);
        let mut out = Vec::new();
        for chunk in chunks(data, sizes) {
            enc.update(chunk, &mut out);
            assert_eq!(out.len() % BLOCK_LEN, 0);
        }
        assert_eq!(enc.bytes_in(), data.len() as u64);
        let expected_len = enc.final_size();
        enc.finish(&mut out);
        assert_eq!(out.len() as u64, expected_len);
        out
    }

    fn stream_decrypt(key: &AesKey, data: &[u8], sizes: &[usize]) -> Result<Vec<u8>, CryptoError> {
        let mut dec = Decryptor::new(key);
        let mut out = Vec::new();
        for chunk in chunks(data, sizes) {
            dec.update(chunk, &mut out);
        }
        dec.finish(&mut out)?;
        Ok(out)
    }

    #[test]
    fn padded_size_formula() {
        assert_eq!(padded_size(0), 16);
        assert_eq!(padded_size(1), 16);
        assert_eq!(padded_size(15), 16);
        assert_eq!(padded_size(16), 32);
        assert_eq!(padded_size(17), 32);
        assert_eq!(padded_size(1_000_000), 1_000_016);
        for n in 0..100u64 {
            assert_eq!(padded_size(n), (n + 1).div_ceil(16) * 16);
        }
        assert_eq!(padded_size(u64::MAX), u64::MAX / 16 * 16);
        assert_eq!(padded_size(u64::MAX - 16), u64::MAX / 16 * 16);
    }

    #[test]
    fn nist_ecb_aes128_raw_blocks() {
        let key = nist_key();
        let plain = hex::decode(NIST_PLAIN).unwrap();
        let cipher = hex::decode(NIST_CIPHER).unwrap();

        // F.1.1 ECB-AES128.Encrypt
        let mut buf = plain.clone();
        encrypt_blocks_in_place(&key, &mut buf).unwrap();
        assert_eq!(hex::encode(&buf), NIST_CIPHER);

        // F.1.2 ECB-AES128.Decrypt
        let mut buf = cipher.clone();
        decrypt_blocks_in_place(&key, &mut buf).unwrap();
        assert_eq!(buf, plain);

        // Each block on its own gives the same result (ECB).
        for (p, c) in plain.chunks(16).zip(cipher.chunks(16)) {
            let mut b = p.to_vec();
            encrypt_blocks_in_place(&key, &mut b).unwrap();
            assert_eq!(b, c);
        }

        let mut empty: [u8; 0] = [];
        encrypt_blocks_in_place(&key, &mut empty).unwrap();
        let mut odd = plain[..17].to_vec();
        assert_eq!(
            encrypt_blocks_in_place(&key, &mut odd),
            Err(CryptoError::NotBlockAligned { len: 17 })
        );
        assert_eq!(odd, plain[..17]);
        assert_eq!(
            decrypt_blocks_in_place(&key, &mut odd),
            Err(CryptoError::NotBlockAligned { len: 17 })
        );
    }

    #[test]
    fn nist_ecb_aes128_padded() {
        let key = nist_key();
        let plain = hex::decode(NIST_PLAIN).unwrap();
        let cipher = encrypt(&key, &plain);
        assert_eq!(cipher.len(), 80);
        assert_eq!(hex::encode(&cipher[..64]), NIST_CIPHER);
        assert_eq!(hex::encode(&cipher[64..]), NIST_PAD_BLOCK);
        // The last block is the raw encryption of a full padding block.
        let mut pad_block = [16u8; 16];
        encrypt_blocks_in_place(&key, &mut pad_block).unwrap();
        assert_eq!(&cipher[64..], &pad_block);

        assert_eq!(decrypt(&key, &cipher).unwrap(), plain);
        assert_eq!(stream_encrypt(&key, &plain, &[7, 16, 33]), cipher);
        assert_eq!(stream_decrypt(&key, &cipher, &[5, 16, 40]).unwrap(), plain);

        // Empty plaintext is one padding block.
        assert_eq!(hex::encode(encrypt(&key, b"")), NIST_PAD_BLOCK);
    }

    #[test]
    fn round_trip_every_length_up_to_64k() {
        // 65537 round trips push ~4 GiB through AES; in an unoptimised test
        // build that is the slowest test, so spread it over the cores.
        let key = AesKey::random();
        let data = random_bytes(65536);
        let enc = Aes128Enc::new(&key.0.into());
        let mut full = data.clone();
        encrypt_blocks_with(&enc, &mut full);
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        std::thread::scope(|scope| {
            for first in 0..workers {
                let (key, data, full) = (&key, &data, &full);
                scope.spawn(move || {
                    for len in (first..=data.len()).step_by(workers) {
                        let plain = &data[..len];
                        let cipher = encrypt(key, plain);
                        assert_eq!(cipher.len() as u64, padded_size(len as u64), "len {len}");
                        // ECB: the whole blocks match those of the encrypted
                        // full buffer.
                        let whole = len / 16 * 16;
                        assert_eq!(cipher[..whole], full[..whole], "len {len}");
                        let back = decrypt(key, &cipher).unwrap();
                        assert_eq!(back, plain, "len {len}");
                    }
                });
            }
        });
    }

    #[test]
    fn in_place_variants() {
        let key = AesKey::random();
        let data = random_bytes(1000);
        let mut buf = data.clone();
        encrypt_in_place(&key, &mut buf);
        assert_eq!(buf, encrypt(&key, &data));
        decrypt_in_place(&key, &mut buf).unwrap();
        assert_eq!(buf, data);

        let mut empty = Vec::new();
        encrypt_in_place(&key, &mut empty);
        assert_eq!(empty.len(), 16);
        decrypt_in_place(&key, &mut empty).unwrap();
        assert!(empty.is_empty());
        assert_eq!(decrypt_in_place(&key, &mut empty), Err(CryptoError::Empty));
    }

    /// Encrypts a 2-block message whose last block is `last` verbatim, i.e.
    /// with whatever (possibly invalid) padding it holds.
    fn with_raw_last_block(key: &AesKey, last: [u8; 16]) -> Vec<u8> {
        let mut buf = random_bytes(16);
        buf.extend_from_slice(&last);
        encrypt_blocks_in_place(key, &mut buf).unwrap();
        buf
    }

    #[test]
    fn bad_padding_is_an_error() {
        let key = AesKey::random();
        let mut zero = [0xAAu8; 16];
        zero[15] = 0;
        let mut seventeen = [17u8; 16];
        seventeen[15] = 17;
        let mut inconsistent = [0xAAu8; 16];
        inconsistent[13..].copy_from_slice(&[2, 3, 3]);
        let mut big = [0xFFu8; 16];
        big[15] = 0xFF;
        let mut almost_full = [16u8; 16];
        almost_full[0] = 15;
        for last in [zero, seventeen, inconsistent, big, almost_full] {
            let cipher = with_raw_last_block(&key, last);
            assert_eq!(decrypt(&key, &cipher), Err(CryptoError::BadPadding));
            let mut buf = cipher.clone();
            assert_eq!(
                decrypt_in_place(&key, &mut buf),
                Err(CryptoError::BadPadding)
            );
            assert!(buf.is_empty(), "no garbage plaintext left behind");
            for sizes in [&[1usize][..], &[16], &[32], &[3, 29]] {
                assert_eq!(
                    stream_decrypt(&key, &cipher, sizes),
                    Err(CryptoError::BadPadding)
                );
            }
        }

        // Valid edge cases: one byte of padding, sixteen bytes of padding.
        let mut one = [0xAAu8; 16];
        one[15] = 1;
        let cipher = with_raw_last_block(&key, one);
        assert_eq!(decrypt(&key, &cipher).unwrap().len(), 31);
        let cipher = with_raw_last_block(&key, [16u8; 16]);
        assert_eq!(decrypt(&key, &cipher).unwrap().len(), 16);

        // A wrong key is caught by the padding check (fixed keys: deterministic).
        let cipher = encrypt(&nist_key(), b"hello world");
        assert_eq!(
            decrypt(&AesKey::new([0x42; 16]), &cipher),
            Err(CryptoError::BadPadding)
        );
    }

    #[test]
    fn unaligned_and_empty_ciphertext() {
        let key = AesKey::random();
        let cipher = encrypt(&key, &random_bytes(40));
        for len in [1usize, 15, 17, 31, 47] {
            assert_eq!(
                decrypt(&key, &cipher[..len]),
                Err(CryptoError::NotBlockAligned { len: len as u64 })
            );
            let mut buf = cipher[..len].to_vec();
            assert_eq!(
                decrypt_in_place(&key, &mut buf),
                Err(CryptoError::NotBlockAligned { len: len as u64 })
            );
            assert_eq!(buf, cipher[..len], "left untouched");
            for sizes in [&[1usize][..], &[16], &[5, 11]] {
                assert_eq!(
                    stream_decrypt(&key, &cipher[..len], sizes),
                    Err(CryptoError::NotBlockAligned { len: len as u64 })
                );
            }
        }
        assert_eq!(decrypt(&key, &[]), Err(CryptoError::Empty));
        assert_eq!(stream_decrypt(&key, &[], &[1]), Err(CryptoError::Empty));
        let mut dec = Decryptor::new(&key);
        let mut out = Vec::new();
        dec.update(&[], &mut out);
        assert_eq!(dec.finish(&mut out), Err(CryptoError::Empty));
        assert!(out.is_empty());
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            CryptoError::NotBlockAligned { len: 17 }.to_string(),
            "ciphertext length 17 is not a multiple of 16 bytes"
        );
        assert!(CryptoError::BadPadding.to_string().contains("padding"));
        assert_eq!(CryptoError::Empty.to_string(), "ciphertext is empty");
    }

    #[test]
    fn key_forms_agree() {
        let key = nist_key();
        assert_eq!(key.as_bytes(), &hex::decode(NIST_KEY).unwrap()[..]);
        assert_eq!(key.to_hex(), NIST_KEY);

        let upper = AesKey::from_hex(&NIST_KEY.to_uppercase()).unwrap();
        assert_eq!(upper, key);

        let raw_b64 = STANDARD.encode(key.as_bytes());
        assert_eq!(raw_b64.len(), 24);
        assert_eq!(AesKey::from_media_field(&raw_b64).unwrap(), key);
        // Without padding.
        assert_eq!(
            AesKey::from_media_field(raw_b64.trim_end_matches('=')).unwrap(),
            key
        );

        let hex_b64 = STANDARD.encode(NIST_KEY);
        assert_eq!(hex_b64, key.to_media_field());
        assert_eq!(AesKey::from_media_field(&hex_b64).unwrap(), key);
        let upper_hex_b64 = STANDARD.encode(NIST_KEY.to_uppercase());
        assert_eq!(AesKey::from_media_field(&upper_hex_b64).unwrap(), key);

        // Round trips of the upload forms.
        for _ in 0..64 {
            let k = AesKey::random();
            assert_eq!(AesKey::from_hex(&k.to_hex()).unwrap(), k);
            assert_eq!(AesKey::from_media_field(&k.to_media_field()).unwrap(), k);
            assert!(k
                .to_hex()
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        }
        assert_eq!(AesKey::new([7; 16]), AesKey::from([7; 16]));
        assert_ne!(AesKey::random(), AesKey::random());
    }

    #[test]
    fn url_safe_media_field() {
        // Find a key whose standard base64 has '+' or '/' in it.
        let key = AesKey::new([0xFB; 16]);
        let std = STANDARD.encode(key.as_bytes());
        assert!(std.contains('+') || std.contains('/'));
        let url = std.replace('+', "-").replace('/', "_");
        assert_eq!(AesKey::from_media_field(&url).unwrap(), key);
        assert_eq!(
            AesKey::from_media_field(url.trim_end_matches('=')).unwrap(),
            key
        );
    }

    #[test]
    fn key_errors_name_the_length_not_the_key() {
        let secret = "00112233445566778899aabbccddeeff";
        // Hex of the wrong length.
        let err = AesKey::from_hex(&secret[..30]).unwrap_err();
        assert_eq!(err, KeyError::BadHex { len: 30 });
        assert_eq!(
            err.to_string(),
            "image aeskey must be 32 hex characters, got 30 characters"
        );
        assert_eq!(
            AesKey::from_hex(&format!("{secret}00")).unwrap_err(),
            KeyError::BadHex { len: 34 }
        );
        // Non-hex character.
        let err = AesKey::from_hex("00112233445566778899aabbccddeefg").unwrap_err();
        assert_eq!(err, KeyError::NonHex { index: 31 });
        assert!(!err.to_string().contains("0011"));
        // Multibyte characters: 32 bytes but fewer characters.
        let err = AesKey::from_hex("ééééééééééééééé00").unwrap_err();
        assert!(matches!(err, KeyError::NonHex { index: 0 }), "{err:?}");
        let err = AesKey::from_hex("éééééééééééééééé0").unwrap_err();
        assert_eq!(err, KeyError::BadHex { len: 17 });

        // Base64 of 20 bytes names 20.
        let err = AesKey::from_media_field(&STANDARD.encode([1u8; 20])).unwrap_err();
        assert_eq!(err, KeyError::BadDecodedLength { len: 20 });
        assert!(err.to_string().contains("20 bytes"), "{err}");
        assert_eq!(
            err.to_string(),
            "aes_key decodes to 20 bytes; expected 16 raw bytes or 32 hex characters"
        );
        // 32 hex characters sent without base64 decode to 24 bytes.
        assert_eq!(
            AesKey::from_media_field(secret).unwrap_err(),
            KeyError::BadDecodedLength { len: 24 }
        );
        // 32 bytes that are not hex.
        let err = AesKey::from_media_field(&STANDARD.encode([b'z'; 32])).unwrap_err();
        assert_eq!(err, KeyError::BadDecodedHex);
        // Not base64 at all.
        for text in ["not base64!", "abc def=", "====", "A"] {
            assert_eq!(
                AesKey::from_media_field(text).unwrap_err(),
                KeyError::BadBase64,
                "{text}"
            );
        }
        // No message carries key material.
        let b64 = STANDARD.encode(secret);
        for e in [
            AesKey::from_hex(&secret[..31]).unwrap_err(),
            AesKey::from_media_field(&b64[..b64.len() - 4]).unwrap_err(),
        ] {
            let msg = e.to_string();
            assert!(
                !msg.contains(&secret[..8]) && !msg.contains(&b64[..8]),
                "{msg}"
            );
        }
    }

    #[test]
    fn debug_hides_key() {
        let key = nist_key();
        let shown = format!(
            "{key:?} {:?} {:?}",
            Encryptor::new(&key),
            Decryptor::new(&key)
        );
        assert!(shown.starts_with("AesKey(****)"), "{shown}");
        assert!(!shown.contains("2b7e") && !shown.contains("43"), "{shown}");
        assert!(!format!("{key:#?}").contains("2b"));
    }

    #[test]
    fn parse_key_preference() {
        let a = AesKey::random();
        let b = AesKey::random();
        let (a_hex, b_media) = (a.to_hex(), b.to_media_field());
        assert_eq!(parse_key(None, None), Ok(None));
        assert_eq!(parse_key(Some(""), Some("")), Ok(None));
        assert_eq!(parse_key(Some(""), None), Ok(None));
        assert_eq!(parse_key(None, Some("")), Ok(None));
        assert_eq!(parse_key(Some(&a_hex), Some(&b_media)), Ok(Some(a.clone())));
        assert_eq!(parse_key(Some(&a_hex), None), Ok(Some(a.clone())));
        assert_eq!(parse_key(Some(""), Some(&b_media)), Ok(Some(b.clone())));
        assert_eq!(parse_key(None, Some(&b_media)), Ok(Some(b.clone())));
        let raw = STANDARD.encode(b.as_bytes());
        assert_eq!(parse_key(None, Some(&raw)), Ok(Some(b)));
        // The chosen field must be valid; no silent fallback.
        assert_eq!(
            parse_key(Some("abc"), Some(&b_media)),
            Err(KeyError::BadHex { len: 3 })
        );
        assert_eq!(parse_key(None, Some("!!")), Err(KeyError::BadBase64));
    }

    #[test]
    fn md5_vectors() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            md5_hex(b"The quick brown fox jumps over the lazy dog"),
            "9e107d9d372bb6826bd81d3542a419d6"
        );
        assert_eq!(
            Md5Hasher::new().finish_hex(),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        let mut h = Md5Hasher::new();
        h.update(b"a");
        h.update(b"");
        h.update(b"bc");
        assert_eq!(h.bytes_in(), 3);
        assert_eq!(h.finish_hex(), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn streaming_block_boundaries() {
        let key = AesKey::random();
        for len in [0usize, 1, 15, 16, 17, 31, 32, 33, 64, 100, 4096] {
            let data = random_bytes(len);
            let cipher = encrypt(&key, &data);
            for sizes in [
                &[1usize][..],
                &[15],
                &[16],
                &[17],
                &[32],
                &[1, 16, 15, 2],
                &[65536],
            ] {
                assert_eq!(
                    stream_encrypt(&key, &data, sizes),
                    cipher,
                    "len {len} {sizes:?}"
                );
                assert_eq!(
                    stream_decrypt(&key, &cipher, sizes).unwrap(),
                    data,
                    "len {len} {sizes:?}"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn prop_streaming_matches_one_shot(
            data in proptest::collection::vec(any::<u8>(), 0..3000),
            enc_sizes in proptest::collection::vec(1usize..80, 1..12),
            dec_sizes in proptest::collection::vec(1usize..80, 1..12),
            empty_updates in any::<bool>(),
            key in any::<[u8; 16]>(),
        ) {
            let key = AesKey::new(key);
            let one_shot = encrypt(&key, &data);
            prop_assert_eq!(one_shot.len() as u64, padded_size(data.len() as u64));

            let mut enc = Encryptor::new(&key);
            let mut streamed = Vec::new();
            for chunk in chunks(&data, &enc_sizes) {
                enc.update(chunk, &mut streamed);
                if empty_updates {
                    enc.update(&[], &mut streamed);
                }
            }
            enc.finish(&mut streamed);
            prop_assert_eq!(&streamed, &one_shot);

            let mut dec = Decryptor::new(&key);
            let mut plain = Vec::new();
            for chunk in chunks(&one_shot, &dec_sizes) {
                dec.update(chunk, &mut plain);
                if empty_updates {
                    dec.update(&[], &mut plain);
                }
                // Exactly the last 1..=16 bytes seen are held back.
                let held = dec.bytes_in() - plain.len() as u64;
                prop_assert!((1..=16).contains(&held), "held {}", held);
            }
            dec.finish(&mut plain).unwrap();
            prop_assert_eq!(&plain, &data);
            prop_assert_eq!(decrypt(&key, &one_shot).unwrap(), data);
        }

        #[test]
        fn prop_md5_streaming_matches_one_shot(
            data in proptest::collection::vec(any::<u8>(), 0..2000),
            sizes in proptest::collection::vec(1usize..200, 1..8),
        ) {
            let mut h = Md5Hasher::new();
            for chunk in chunks(&data, &sizes) {
                h.update(chunk);
            }
            prop_assert_eq!(h.finish_hex(), md5_hex(&data));
        }

        #[test]
        fn prop_key_parsing_never_panics(text in ".{0,64}") {
            let _ = AesKey::from_hex(&text);
            let _ = AesKey::from_media_field(&text);
            let _ = parse_key(Some(&text), Some(&text));
        }

        #[test]
        fn prop_decrypt_garbage_never_panics(
            data in proptest::collection::vec(any::<u8>(), 0..200),
            key in any::<[u8; 16]>(),
        ) {
            let key = AesKey::new(key);
            if let Ok(plain) = decrypt(&key, &data) {
                prop_assert_eq!(padded_size(plain.len() as u64), data.len() as u64);
            }
            let _ = stream_decrypt(&key, &data, &[7]);
        }
    }
}
