//! Splitting outbound text into messages the iLink API accepts.
//!
//! One outbound text message may hold at most [`MAX_TEXT_CHARS`] characters
//! (Unicode scalar values) and [`MAX_TEXT_BYTES`] UTF-8 bytes, so longer replies
//! are sent as several messages. [`split_text`] picks the cut points so that each
//! message reads well on its own: it prefers paragraph breaks, then line breaks,
//! and keeps a fenced code block whole when the block fits in one message. The
//! chunks are borrowed slices of the input and concatenate back to it exactly.

/// The most characters (Unicode scalar values) one text message may hold, as
/// enforced by the server; longer text must be split.
pub const MAX_TEXT_CHARS: usize = 4000;

/// The most UTF-8 bytes one text message may hold, so text made of wide
/// characters is split even when it is under the character limit.
pub const MAX_TEXT_BYTES: usize = 16384;

/// The size limits one chunk produced by [`split_text`] must respect, so callers
/// and tests can split for other channels or with small limits.
///
/// Both limits apply at once: a configured `max_chars` larger than the default is
/// still capped by `max_bytes`. A limit of 0 is treated as 1 so that splitting
/// always makes progress. Every chunk holds at least one character, so a
/// `max_bytes` below 4 is exceeded by a single character whose UTF-8 encoding is
/// wider than it; that character then forms a chunk of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitLimits {
    /// The most characters (Unicode scalar values) one chunk may hold.
    pub max_chars: usize,
    /// The most UTF-8 bytes one chunk may hold.
    pub max_bytes: usize,
}

impl Default for SplitLimits {
    /// The limits of the iLink API: [`MAX_TEXT_CHARS`] and [`MAX_TEXT_BYTES`].
    fn default() -> Self {
        Self {
            max_chars: MAX_TEXT_CHARS,
            max_bytes: MAX_TEXT_BYTES,
        }
    }
}

/// A fenced code block as a byte range of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    /// Start of the opening fence line.
    start: usize,
    /// End of the closing fence line including its newline, or the end of the
    /// text when the block is unclosed.
    end: usize,
    /// Whether the whole block fits in one chunk by itself.
    fits: bool,
}

/// Whether `line` opens or closes a fence: up to three spaces, then "```".
fn is_fence_line(line: &str) -> bool {
    let trimmed = line.trim_start_matches(' ');
    line.len() - trimmed.len() <= 3 && trimmed.starts_with("```")
}

/// Whether `text[start..end]` fits within the limits by itself.
fn range_fits(text: &str, start: usize, end: usize, max_chars: usize, max_bytes: usize) -> bool {
    end - start <= max_bytes
        && text
            .get(start..end)
            .is_some_and(|slice| slice.chars().nth(max_chars).is_none())
}

/// Finds the fenced code blocks of `text` in order, in one pass.
///
/// A fence line opens a block and the next fence line closes it; a block left
/// open runs to the end of the text.
fn find_blocks(text: &str, max_chars: usize, max_bytes: usize) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<usize> = None;
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let line_end = line_start + line.len();
        if is_fence_line(line) {
            match open.take() {
                None => open = Some(line_start),
                Some(start) => blocks.push(Block {
                    start,
                    end: line_end,
                    fits: range_fits(text, start, line_end, max_chars, max_bytes),
                }),
            }
        }
        line_start = line_end;
    }
    if let Some(start) = open {
        blocks.push(Block {
            start,
            end: text.len(),
            fits: range_fits(text, start, text.len(), max_chars, max_bytes),
        });
    }
    blocks
}

/// The block that `pos` lies strictly inside of, if any.
fn block_around(blocks: &[Block], pos: usize) -> Option<&Block> {
    let after = blocks.partition_point(|b| b.start < pos);
    let block = blocks.get(after.checked_sub(1)?)?;
    (block.end > pos).then_some(block)
}

/// Whether `pos` lies strictly inside a block that fits in one chunk.
fn inside_fitting_block(blocks: &[Block], pos: usize) -> bool {
    block_around(blocks, pos).is_some_and(|b| b.fits)
}

/// The length in bytes of the longest prefix of `rest` within both limits,
/// ending on a char boundary; at least one char when `rest` is not empty.
fn hard_cut_len(rest: &str, max_chars: usize, max_bytes: usize) -> usize {
    let mut end = 0;
    for (count, (i, c)) in rest.char_indices().enumerate() {
        if count >= max_chars {
            break;
        }
        let next = i + c.len_utf8();
        if next > max_bytes {
            if count == 0 {
                end = next;
            }
            break;
        }
        end = next;
    }
    end
}

/// Chooses where the chunk starting at `start` ends, given its hard cut `hard`
/// (which is before the end of the text). See [`split_text`] for the rules.
fn choose_cut(text: &str, start: usize, hard: usize, blocks: &[Block]) -> usize {
    if let Some(block) = block_around(blocks, hard) {
        if block.fits && block.start > start {
            return block.start;
        }
    }
    let window = text.as_bytes().get(start..hard).unwrap_or_default();
    let mut paragraph = None;
    let mut line = None;
    let mut run = 0;
    for (offset, &b) in window.iter().enumerate() {
        if b != b'\n' {
            run = 0;
            continue;
        }
        run += 1;
        // '\n' never occurs inside a multi-byte UTF-8 sequence, so this is a
        // char boundary.
        let pos = start + offset + 1;
        if inside_fitting_block(blocks, pos) {
            continue;
        }
        line = Some(pos);
        if run >= 2 {
            paragraph = Some(pos);
        }
    }
    paragraph.or(line).unwrap_or(hard)
}

/// Splits `text` into chunks that each fit in one message, borrowing from it so
/// nothing is copied, added or dropped: `split_text(t, l).concat() == t`.
///
/// Empty input gives no chunks. Every chunk is non-empty and holds at most
/// `limits.max_chars` characters and `limits.max_bytes` bytes (see
/// [`SplitLimits`] for limits of 0 and byte limits below one char's width), and
/// never ends inside a UTF-8 character.
///
/// Each chunk starts where the last one ended. If the rest of the text fits it
/// is the last chunk; otherwise the *hard cut* is the end of the longest prefix
/// of the rest that fits both limits, and the chunk ends at the first of these
/// that applies (a cut always leaves the chunk non-empty):
///
/// 1. If the hard cut falls strictly inside a fenced code block and that whole
///    block fits within the limits by itself, cut right before the block's
///    opening fence line, so the block moves whole to the next chunk.
/// 2. Otherwise cut right after the last run of blank lines (`"\n\n"` or more)
///    before the hard cut that is not strictly inside a block that fits.
/// 3. Otherwise cut right after the last line break (`"\n"`) before the hard cut
///    that is not strictly inside a block that fits.
/// 4. Otherwise cut at the hard cut.
///
/// A fenced code block runs from a line starting with ```` ``` ```` (indented by
/// at most three spaces) through the next such line and its newline, or to the
/// end of the text when no such line follows. A block too large for one chunk is
/// cut like plain text. Run time is linear in the length of `text` (plus a
/// logarithmic factor per line break when it holds code blocks).
pub fn split_text(text: &str, limits: SplitLimits) -> Vec<&str> {
    let max_chars = limits.max_chars.max(1);
    let max_bytes = limits.max_bytes.max(1);
    let mut chunks = Vec::new();
    if text.is_empty() {
        return chunks;
    }
    let blocks = find_blocks(text, max_chars, max_bytes);
    let mut start = 0;
    while let Some(rest) = text.get(start..).filter(|rest| !rest.is_empty()) {
        let hard = start + hard_cut_len(rest, max_chars, max_bytes);
        let cut = if hard >= text.len() {
            text.len()
        } else {
            choose_cut(text, start, hard, &blocks)
        };
        match text.get(start..cut) {
            Some(chunk) if cut > start => chunks.push(chunk),
            // Unreachable: every cut is a char boundary after `start`. Stopping
            // beats looping forever or panicking.
            _ => break,
        }
        start = cut;
    }
    chunks
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn limits(max_chars: usize, max_bytes: usize) -> SplitLimits {
        SplitLimits {
            max_chars,
            max_bytes,
        }
    }

    /// Checks the invariants every split must satisfy and returns the chunks.
    fn check(text: &str, limits: SplitLimits) -> Vec<&str> {
        let chunks = split_text(text, limits);
        assert_eq!(chunks.concat(), text);
        let max_chars = limits.max_chars.max(1);
        let max_bytes = limits.max_bytes.max(1);
        for chunk in &chunks {
            assert!(!chunk.is_empty());
            let chars = chunk.chars().count();
            assert!(chars <= max_chars, "{chars} chars > {max_chars}");
            assert!(
                chunk.len() <= max_bytes || chars == 1,
                "{} bytes > {max_bytes}",
                chunk.len()
            );
        }
        chunks
    }

    #[test]
    fn default_limits_are_the_api_limits() {
        assert_eq!(SplitLimits::default(), limits(4000, 16384));
    }

    #[test]
    fn empty_input_gives_no_chunks() {
        assert!(split_text("", SplitLimits::default()).is_empty());
        assert!(split_text("", limits(0, 0)).is_empty());
    }

    #[test]
    fn short_text_is_unchanged() {
        let text = "Hello\n\nworld\n```\ncode\n```\n";
        assert_eq!(check(text, SplitLimits::default()), vec![text]);
    }

    #[test]
    fn exactly_4000_chars_is_one_chunk() {
        let text = "a".repeat(4000);
        assert_eq!(check(&text, SplitLimits::default()), vec![text.as_str()]);
    }

    #[test]
    fn char_4001_goes_to_a_second_chunk() {
        let text = "a".repeat(4001);
        let chunks = check(&text, SplitLimits::default());
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks.first().unwrap().len(), 4000);
        assert_eq!(*chunks.get(1).unwrap(), "a");
    }

    #[test]
    fn cjk_4000_chars_fit_in_12000_bytes() {
        let text = "中".repeat(4000);
        assert_eq!(text.len(), 12000);
        assert_eq!(check(&text, SplitLimits::default()), vec![text.as_str()]);
        let longer = "中".repeat(4001);
        let chunks = check(&longer, SplitLimits::default());
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks.first().unwrap().chars().count(), 4000);
    }

    #[test]
    fn emoji_4000_chars_fit_in_16000_bytes() {
        let text = "😀".repeat(4000);
        assert_eq!(text.len(), 16000);
        assert_eq!(check(&text, SplitLimits::default()), vec![text.as_str()]);
    }

    #[test]
    fn byte_limit_binds_when_char_limit_is_raised() {
        let text = "😀".repeat(5000);
        let chunks = check(&text, limits(10_000, MAX_TEXT_BYTES));
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks.first().unwrap().len(), 16384);
        assert_eq!(chunks.first().unwrap().chars().count(), 4096);
        assert_eq!(chunks.get(1).unwrap().chars().count(), 904);
    }

    #[test]
    fn byte_limit_never_cuts_inside_a_char() {
        // 'a' then 3-byte chars: a 10-byte limit can hold 1 + 3 * 3 = 10 bytes.
        let text = format!("a{}", "中".repeat(6));
        let chunks = check(&text, limits(100, 10));
        assert_eq!(chunks, vec!["a中中中", "中中中"]);
        // With 9 bytes the fourth char does not fit, so 7 bytes are taken.
        let chunks = check(&text, limits(100, 9));
        assert_eq!(chunks, vec!["a中中", "中中中", "中"]);
    }

    #[test]
    fn paragraph_break_is_preferred_over_line_break() {
        let text = "first para\n\nsecond\nline three is long";
        let chunks = check(text, limits(25, 1000));
        assert_eq!(chunks, vec!["first para\n\n", "second\nline three is long"]);
    }

    #[test]
    fn blank_line_run_is_cut_after_the_whole_run() {
        let text = "one\n\n\n\ntwo three four";
        let chunks = check(text, limits(10, 1000));
        assert_eq!(chunks, vec!["one\n\n\n\n", "two three ", "four"]);
    }

    #[test]
    fn line_break_is_used_without_paragraph_break() {
        let text = "line one\nline two\nline three";
        let chunks = check(text, limits(20, 1000));
        assert_eq!(chunks, vec!["line one\nline two\n", "line three"]);
    }

    #[test]
    fn hard_cut_without_any_break() {
        let text = "abcdefghij";
        assert_eq!(check(text, limits(4, 1000)), vec!["abcd", "efgh", "ij"]);
    }

    #[test]
    fn fitting_code_block_moves_whole_to_next_chunk() {
        let text = "intro line\n```rust\nlet x = 1;\n\nlet y = 2;\n```\nafter";
        let chunks = check(text, limits(38, 1000));
        assert_eq!(
            chunks,
            vec![
                "intro line\n",
                "```rust\nlet x = 1;\n\nlet y = 2;\n```\n",
                "after"
            ]
        );
    }

    #[test]
    fn blank_line_inside_fitting_block_is_not_used() {
        // The hard cut falls after the block, so rule 1 does not apply; the
        // blank line inside the block must not be chosen, so the last usable
        // paragraph break is the one before the block.
        let text = "a\n\n```\nx\n\ny\n```\nzzzzzzzzzzzzzzzzzzzz";
        let chunks = check(text, limits(24, 1000));
        assert_eq!(chunks.first().unwrap(), &"a\n\n");
        assert_eq!(chunks.get(1).unwrap(), &"```\nx\n\ny\n```\n");
        // Without a paragraph break before it, the block's closing line break
        // is the cut.
        let text = "a\n```\nx\n\ny\n```\nzzzzzzzzzzzzzzzzzzzz";
        let chunks = check(text, limits(24, 1000));
        assert_eq!(chunks.first().unwrap(), &"a\n```\nx\n\ny\n```\n");
    }

    #[test]
    fn block_longer_than_a_chunk_is_cut_plainly() {
        let body = "0123456789\n".repeat(10);
        let text = format!("intro\n```\n{body}```\n");
        let chunks = check(&text, limits(30, 1000));
        // The block (118 chars) cannot fit, so cuts land on lines inside it.
        assert!(chunks.len() > 4);
        assert_eq!(chunks.first().unwrap(), &"intro\n```\n0123456789\n");
    }

    #[test]
    fn block_longer_than_a_chunk_without_newlines_is_hard_cut() {
        let text = format!("```\n{}", "x".repeat(50));
        let chunks = check(&text, limits(20, 1000));
        assert_eq!(chunks.first().unwrap(), &"```\n");
        assert_eq!(chunks.get(1).unwrap().len(), 20);
    }

    #[test]
    fn unclosed_fence_runs_to_end() {
        let text = "intro text\n```\ncode\nmore code";
        let chunks = check(text, limits(25, 1000));
        assert_eq!(chunks, vec!["intro text\n", "```\ncode\nmore code"]);
    }

    #[test]
    fn indented_fence_counts_up_to_three_spaces() {
        let text = "intro\n   ```\ncode\n   ```\ntail";
        let chunks = check(text, limits(22, 1000));
        assert_eq!(chunks, vec!["intro\n", "   ```\ncode\n   ```\n", "tail"]);
        // Four spaces is not a fence: the plain line rule applies.
        let text = "intro\n    ```\ncode\n    ```\ntail";
        let chunks = check(text, limits(22, 1000));
        assert_eq!(chunks.first().unwrap(), &"intro\n    ```\ncode\n");
    }

    #[test]
    fn fence_at_text_start_that_fits_is_not_split() {
        let text = "```\nab\n```\nrest of the text";
        let chunks = check(text, limits(12, 1000));
        assert_eq!(chunks.first().unwrap(), &"```\nab\n```\n");
    }

    #[test]
    fn custom_limits_apply() {
        let text = "word ".repeat(100);
        for chunk in check(&text, limits(17, 1000)) {
            assert!(chunk.chars().count() <= 17);
        }
        for chunk in check(&text, limits(1000, 13)) {
            assert!(chunk.len() <= 13);
        }
    }

    #[test]
    fn zero_limits_are_treated_as_one() {
        assert_eq!(check("abc", limits(0, 0)), vec!["a", "b", "c"]);
        assert_eq!(check("abc", limits(0, 100)), vec!["a", "b", "c"]);
    }

    #[test]
    fn char_wider_than_byte_limit_forms_its_own_chunk() {
        assert_eq!(check("a😀b", limits(10, 2)), vec!["a", "😀", "b"]);
    }

    #[test]
    fn one_megabyte_splits_quickly() {
        let unit = "Some prose with 中文 and 😀.\n\n```\nfn main() {}\n```\nline\n";
        let text = unit.repeat(1_000_000 / unit.len() + 1);
        let started = std::time::Instant::now();
        let chunks = check(&text, SplitLimits::default());
        assert!(chunks.len() > 100);
        assert!(started.elapsed().as_secs() < 10);
        let plain = "x".repeat(1 << 20);
        let chunks = check(&plain, limits(7, 16));
        assert_eq!(chunks.len(), (1 << 20) / 7 + 1);
        let newlines = "\n".repeat(1 << 20);
        check(&newlines, SplitLimits::default());
        let fences = "```\n".repeat(1 << 18);
        check(&fences, limits(3, 100));
    }

    /// Strategy for text rich in the characters the splitter cares about.
    fn tricky_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("\n"),
            Just("\n\n"),
            Just("```\n"),
            Just("   ```"),
            Just("```rust\n"),
            Just(" "),
            Just("a"),
            Just("word "),
            Just("é"),
            Just("中"),
            Just("😀"),
        ];
        proptest::collection::vec(piece, 0..300).prop_map(|v| v.concat())
    }

    fn any_text() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), tricky_text()]
    }

    fn small_limits() -> impl Strategy<Value = SplitLimits> {
        (1usize..50, 4usize..200).prop_map(|(c, b)| limits(c, b))
    }

    fn any_limits() -> impl Strategy<Value = SplitLimits> {
        prop_oneof![
            small_limits(),
            (0usize..8, 0usize..8).prop_map(|(c, b)| limits(c, b)),
            Just(SplitLimits::default()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn chunks_respect_limits_and_rebuild_input(text in any_text(), limits in small_limits()) {
            let chunks = split_text(&text, limits);
            prop_assert_eq!(chunks.concat(), text.as_str());
            for chunk in &chunks {
                prop_assert!(!chunk.is_empty());
                prop_assert!(chunk.chars().count() <= limits.max_chars);
                prop_assert!(chunk.len() <= limits.max_bytes);
            }
        }

        #[test]
        fn any_limits_never_stall(text in any_text(), limits in any_limits()) {
            check(&text, limits);
        }

        #[test]
        fn fitting_blocks_are_never_cut(text in tricky_text(), limits in small_limits()) {
            let chunks = split_text(&text, limits);
            let blocks = find_blocks(&text, limits.max_chars, limits.max_bytes);
            let mut pos = 0;
            for chunk in &chunks {
                pos += chunk.len();
                prop_assert!(
                    !inside_fitting_block(&blocks, pos),
                    "cut at {} inside a fitting block", pos
                );
            }
        }
    }
}
