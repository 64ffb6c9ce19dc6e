//! The IR's text form.

use crate::function::{Function, InstKind, Target, Terminator};
use kiln_frontend::opcode;
use std::fmt::{self, Write};

fn target(t: &Target) -> String {
    match t {
        Target::Block(b) => format!("block{b}"),
        Target::Dynamic(v) => format!("dynamic(v{})", v.0),
        Target::Invalid => "invalid".into(),
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (b, block) in self.blocks.iter().enumerate() {
            if b != 0
                && block.insts.is_empty()
                && block.sections.is_empty()
                && block.term == Terminator::InvalidOpcode
                && !block.is_jumpdest
                && block.resume_index.is_none()
            {
                continue;
            }
            let mut head = format!("block{b} @{:#x}", block.pc);
            if block.is_jumpdest {
                head.push_str(" jumpdest");
            }
            if let Some(r) = block.resume_index {
                let _ = write!(head, " resume{r}");
            }
            writeln!(
                f,
                "{head}: stack_in={} growth={} gas={}",
                block.stack_in,
                block.stack_growth,
                block.gas()
            )?;
            let mut sections = block.sections.iter().peekable();
            for (i, inst) in block.insts.iter().enumerate() {
                while let Some(s) = sections.next_if(|s| s.at == i) {
                    writeln!(f, "    charge {}", s.gas)?;
                }
                let lhs = inst.result.map_or(String::new(), |v| format!("v{} = ", v.0));
                let args: Vec<String> = inst.args.iter().map(|a| format!("v{}", a.0)).collect();
                let rhs = match &inst.kind {
                    InstKind::Const(c) => format!("const {c:#x}"),
                    InstKind::Input(d) => format!("input {d}"),
                    InstKind::Op(op) => {
                        let name = opcode::info(*op).map_or("?", |i| i.name);
                        format!("{} {}", name.to_lowercase(), args.join(", "))
                    }
                };
                writeln!(f, "    {lhs}{}", rhs.trim_end())?;
            }
            for s in sections {
                writeln!(f, "    charge {}", s.gas)?;
            }
            let exit: Vec<String> = block.exit.iter().map(|v| format!("v{}", v.0)).collect();
            writeln!(f, "    exit [{}]", exit.join(", "))?;
            let term = match &block.term {
                Terminator::Jump(t) => format!("jump {}", target(t)),
                Terminator::JumpI { cond, target: t, fallthrough } => {
                    format!("jumpi v{} {} else block{fallthrough}", cond.0, target(t))
                }
                Terminator::FallThrough(t) => format!("fallthrough block{t}"),
                Terminator::Stop => "stop".into(),
                Terminator::Exit => "exit".into(),
                Terminator::InvalidOpcode => "invalid".into(),
                Terminator::Suspend { resume } => format!("suspend resume block{resume}"),
                Terminator::Interpret { pc } => format!("interpret at {pc}"),
            };
            if block.prepaid > 0 {
                writeln!(f, "    {term} (prepaid {})", block.prepaid)?;
            } else {
                writeln!(f, "    {term}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use kiln_frontend::SpecId;

    #[test]
    fn prints_blocks_and_values() {
        let f = crate::build(&[0x60, 0x04, 0x60, 0x05, 0x01, 0x5f, 0x52, 0x00], SpecId::Osaka);
        let text = f.to_string();
        assert!(text.contains("block0 @0x0"), "{text}");
        assert!(text.contains("const 0x9"), "{text}");
        assert!(text.contains("mstore"), "{text}");
        assert!(text.contains("stop"), "{text}");
    }
}
