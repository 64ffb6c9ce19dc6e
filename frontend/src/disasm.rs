//! A bytecode disassembler over the frontend's opcode table.

use std::fmt::Write;

use crate::opcode::{immediate_size, info};

/// One line per instruction: `offset: MNEMONIC [0xIMMEDIATE]`, offsets in hex.
///
/// Bytes that were never an opcode print as `UNKNOWN 0xef`. A PUSH whose data runs past the
/// end of the code prints the bytes that exist and how many were missing, since that is
/// exactly what an attacker-supplied or truncated contract looks like.
pub fn disassemble(code: &[u8]) -> String {
    // Enough digits for the largest offset, but at least four so short listings line up.
    let width = format!("{:x}", code.len().saturating_sub(1)).len().max(4);
    let mut out = String::new();
    let mut pc = 0;
    while pc < code.len() {
        let op = code[pc];
        let _ = write!(out, "{pc:0width$x}: ");
        match info(op) {
            None => {
                let _ = write!(out, "UNKNOWN 0x{op:02x}");
            }
            Some(op_info) => {
                out.push_str(op_info.name);
                let size = immediate_size(op);
                if size > 0 {
                    let data = &code[(pc + 1).min(code.len())..(pc + 1 + size).min(code.len())];
                    if !data.is_empty() {
                        out.push_str(" 0x");
                        for b in data {
                            let _ = write!(out, "{b:02x}");
                        }
                    }
                    if data.len() < size {
                        let _ = write!(out, " (truncated, {} of {size} bytes)", data.len());
                    }
                }
                pc += size;
            }
        }
        out.push('\n');
        pc += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_program() {
        assert_eq!(
            disassemble(&[0x60, 0x01, 0x60, 0x02, 0x01, 0x00]),
            "0000: PUSH1 0x01\n0002: PUSH1 0x02\n0004: ADD\n0005: STOP\n"
        );
    }

    #[test]
    fn empty_code() {
        assert_eq!(disassemble(&[]), "");
    }

    #[test]
    fn push0_and_leading_zeros_kept() {
        assert_eq!(disassemble(&[0x5f, 0x61, 0x00, 0x01]), "0000: PUSH0\n0001: PUSH2 0x0001\n");
    }

    #[test]
    fn unknown_and_invalid() {
        assert_eq!(disassemble(&[0xef, 0xfe]), "0000: UNKNOWN 0xef\n0001: INVALID\n");
    }

    #[test]
    fn truncated_push() {
        assert_eq!(
            disassemble(&[0x7f, 0x12, 0x34]),
            "0000: PUSH32 0x1234 (truncated, 2 of 32 bytes)\n"
        );
        assert_eq!(
            disassemble(&[0x00, 0x61]),
            "0000: STOP\n0001: PUSH2 (truncated, 0 of 2 bytes)\n"
        );
    }

    #[test]
    fn offsets_widen_for_long_code() {
        let code = vec![0x5b; 0x10001];
        let text = disassemble(&code);
        assert!(text.starts_with("00000: JUMPDEST\n"));
        assert!(text.ends_with("10000: JUMPDEST\n"));
    }
}
