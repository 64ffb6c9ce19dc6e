//! Reading bytecode given on the command line: hex text, a file (hex text or raw bytecode), or
//! standard input (`-`, the same two forms).

use std::path::{Path, PathBuf};

/// Why hex text could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// `position` counts characters from the start of the text as given (0-based), so it
    /// points at the character even when a `0x` prefix or whitespace came before it.
    #[error("invalid hex character {ch:?} at position {position} (line {line}, column {column})")]
    InvalidChar { ch: char, position: usize, line: usize, column: usize },
    #[error("odd number of hex digits ({digits}); every byte needs two")]
    OddLength { digits: usize },
}

/// Why [`read_code`] failed.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{0}")]
    Hex(HexError),
    #[error("`{arg}` is neither an existing file nor valid hex ({source})")]
    NotFileNorHex { arg: String, source: HexError },
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{} does not hold hex text: {source}", path.display())]
    FileHex { path: PathBuf, source: HexError },
    #[error("cannot read the code from standard input: {0}")]
    Stdin(std::io::Error),
    #[error("standard input does not hold hex text: {0}")]
    StdinHex(HexError),
}

/// Bytecode from `arg`: standard input for `-`, the contents of the file `arg` if one exists,
/// otherwise `arg` itself as hex. Contents that are all printable ASCII and whitespace are hex
/// text (`0x` optional, whitespace and line breaks ignored; a typo is an error); anything else
/// is raw bytecode, as `solc --bin-runtime` output converted with `xxd -r -p` is.
pub fn read_code(arg: &str) -> Result<Vec<u8>, InputError> {
    if arg == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes)
            .map_err(InputError::Stdin)?;
        return code_from_bytes(bytes).map_err(InputError::StdinHex);
    }
    let path = Path::new(arg);
    if path.is_file() {
        let bytes = std::fs::read(path)
            .map_err(|source| InputError::Read { path: path.to_path_buf(), source })?;
        return code_from_bytes(bytes)
            .map_err(|source| InputError::FileHex { path: path.to_path_buf(), source });
    }
    parse_hex(arg).map_err(|source| {
        if looks_like_path(arg) {
            InputError::NotFileNorHex { arg: arg.to_string(), source }
        } else {
            InputError::Hex(source)
        }
    })
}

/// `bytes` as hex text when they are text, else as the code itself.
fn code_from_bytes(bytes: Vec<u8>) -> Result<Vec<u8>, HexError> {
    if bytes.iter().all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace()) {
        // ASCII, so valid UTF-8.
        parse_hex(&String::from_utf8_lossy(&bytes))
    } else {
        Ok(bytes)
    }
}

fn looks_like_path(arg: &str) -> bool {
    arg.contains(['/', '\\', '.'])
}

/// Decodes hex text: an optional `0x`/`0X` prefix after leading whitespace, then hex digits;
/// ASCII whitespace anywhere is ignored so wrapped hex dumps work.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, HexError> {
    let leading = text.len() - text.trim_start().len();
    let rest = &text[leading..];
    let body_start =
        if rest.starts_with("0x") || rest.starts_with("0X") { leading + 2 } else { leading };
    let mut nibbles = Vec::with_capacity(text.len().saturating_sub(body_start));
    let (mut line, mut column) = (1, 1);
    for (position, (offset, ch)) in text.char_indices().enumerate() {
        if offset >= body_start {
            if let Some(n) = ch.to_digit(16) {
                nibbles.push(n as u8);
            } else if !ch.is_ascii_whitespace() {
                return Err(HexError::InvalidChar { ch, position, line, column });
            }
        }
        if ch == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    if nibbles.len() % 2 != 0 {
        return Err(HexError::OddLength { digits: nibbles.len() });
    }
    Ok(nibbles.chunks_exact(2).map(|p| (p[0] << 4) | p[1]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_prefixed() {
        assert_eq!(parse_hex("6001").unwrap(), vec![0x60, 0x01]);
        assert_eq!(parse_hex("0x6001").unwrap(), vec![0x60, 0x01]);
        assert_eq!(parse_hex("0XaBcD").unwrap(), vec![0xab, 0xcd]);
        assert_eq!(parse_hex("").unwrap(), Vec::<u8>::new());
        assert_eq!(parse_hex("0x").unwrap(), Vec::<u8>::new());
        assert_eq!(parse_hex("  0x60 01\n6002\n").unwrap(), vec![0x60, 0x01, 0x60, 0x02]);
    }

    #[test]
    fn bad_character_position() {
        let err = parse_hex("0x60zz").unwrap_err();
        assert_eq!(err, HexError::InvalidChar { ch: 'z', position: 4, line: 1, column: 5 });
        assert!(err.to_string().contains("'z' at position 4"), "{err}");

        let err = parse_hex("6001\n60g2").unwrap_err();
        assert_eq!(err, HexError::InvalidChar { ch: 'g', position: 7, line: 2, column: 3 });
        // A second `0x` is not a prefix.
        assert!(matches!(
            parse_hex("0x0x00"),
            Err(HexError::InvalidChar { ch: 'x', position: 3, .. })
        ));
        // Non-ASCII characters are counted as one position each.
        assert!(matches!(
            parse_hex("ééff"),
            Err(HexError::InvalidChar { ch: 'é', position: 0, .. })
        ));
    }

    #[test]
    fn odd_length() {
        let err = parse_hex("0x600").unwrap_err();
        assert_eq!(err, HexError::OddLength { digits: 3 });
        assert!(err.to_string().contains("odd number of hex digits"));
    }

    #[test]
    fn read_code_from_arg_and_file() {
        assert_eq!(read_code("0x00").unwrap(), vec![0]);
        let err = read_code("zz").unwrap_err();
        assert!(matches!(err, InputError::Hex(_)));
        let err = read_code("no/such/file.hex").unwrap_err();
        assert!(matches!(err, InputError::NotFileNorHex { .. }));
        assert!(err.to_string().contains("neither an existing file"), "{err}");

        let dir = std::env::temp_dir().join(format!("kiln-input-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.hex");
        std::fs::write(&good, "0x6001\n6002\n").unwrap();
        assert_eq!(read_code(good.to_str().unwrap()).unwrap(), vec![0x60, 0x01, 0x60, 0x02]);
        // Text with a typo is an error, not code.
        let bad = dir.join("bad.hex");
        std::fs::write(&bad, "0x6001\n60g2\n").unwrap();
        let err = read_code(bad.to_str().unwrap()).unwrap_err();
        assert!(matches!(err, InputError::FileHex { .. }), "{err}");
        assert!(err.to_string().contains("'g' at position 9"), "{err}");
        // Bytes that are not text are the code itself.
        let binary = dir.join("code.bin");
        std::fs::write(&binary, [0x60, 0x01, 0xff]).unwrap();
        assert_eq!(read_code(binary.to_str().unwrap()).unwrap(), vec![0x60, 0x01, 0xff]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
